/**
 * Site → the concrete objects it stands for: every link with the namespace it ends up in, the name it is created
 * under on the host, its master, MTU and addresses; default routes; FDB entries; and the undeclared host links
 * it relies on (Parent=, Dev=). Each link kind derives its own links (kinds/: `ownMtu`, `derive`); what is
 * common is here. MTUs are derived in three passes:
 *   - a kind with `ownMtu` (vxlan/geneve: the underlay's MTU — Dev, else the routed device, else 1500 — minus 50
 *     over IPv4 / 70 over IPv6) gets that;
 *   - a bridge takes its MTU=, else the minimum of its ports' known MTUs (tunnels and ports with MTU=), else 1500;
 *   - taps, veths and namespace ends on a bridge take the bridge's MTU unless they set their own.
 * Links without MTU= that are on no bridge keep whatever MTU the kernel gives them (not managed).
 */
import type { IpAddress, Prefix } from '../net/ip.js';
import { CREATE_STAGES, optional, type CreateStage, type DeriveContext, type DerivedLink, type DesiredFdb, type DesiredMeshFollow, type MtuContext } from './kinds/kind.js';
import { linkKind, type CreateSpec, type LinkDecl, type LinkKindName } from './kinds/index.js';
import { veth, vethPair } from './kinds/veth.js';
import type { Site } from './model.js';
import { ETHERNET_DEFAULT_MTU } from './mtu.js';
import { NAMESPACE_IFNAME, moveTempName, vethHostName } from './names.js';
import type { SystemState } from './state.js';

/** The namespace's own loopback, set up inside every declared namespace: not a link kind of the site file. */
export const LOOPBACK = 'loopback';
export type DesiredKind = LinkKindName | typeof LOOPBACK;

export interface DesiredLink extends DerivedLink<CreateSpec> {
  kind: DesiredKind;
  /** Where it comes from, for messages: "[Namespace] c1 (line 12)". */
  origin: string;
}

export interface DesiredRoute {
  netns?: string;
  dst: Prefix;
  gateway: IpAddress;
  dev: string;
}

export interface HostDependency {
  name: string;
  /** "Parent of vlan v10 (line 30)". */
  usedBy: string;
}

export interface DesiredSite {
  namespaces: string[];
  /** Creation order (CREATE_STAGES): bridges, vxlan/geneve/tap, veth pairs, links on a parent; then loopbacks. */
  links: DesiredLink[];
  routes: DesiredRoute[];
  fdb: DesiredFdb[];
  /** `Remote = mesh` vxlans, handed to their tunnel's daemon after everything else. */
  meshFollows: DesiredMeshFollow[];
  hostDependencies: HostDependency[];
}

const DEFAULT_ROUTE_V4: Prefix = { family: 4, bytes: new Uint8Array(4), bits: 0 };
const DEFAULT_ROUTE_V6: Prefix = { family: 6, bytes: new Uint8Array(16), bits: 0 };

function originOf(l: LinkDecl): string {
  return `[${linkKind(l.kind).label}] ${l.name} (line ${l.line})`;
}

function hostNameFor(netns: string | undefined, name: string): string {
  return netns === undefined ? name : moveTempName(netns, name);
}

/** MTUs of the links whose kind derives one (`ownMtu`), by declaration. */
function ownMtus(site: Site, state: SystemState): Map<LinkDecl, number> {
  const ctx: MtuContext = {
    state,
    declaredHostMtu: (name) => site.links.find((x) => x.name === name && !x.namespace)?.mtu,
  };
  const out = new Map<LinkDecl, number>();
  for (const l of site.links) {
    const mtu = linkKind(l.kind).ownMtu?.(l, ctx);
    if (mtu !== undefined) out.set(l, mtu);
  }
  return out;
}

function bridgeMtus(site: Site, own: Map<LinkDecl, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const b of site.links) {
    if (!linkKind(b.kind).isBridge) continue;
    if (b.mtu !== undefined) {
      out.set(b.name, b.mtu);
      continue;
    }
    const portMtus: number[] = [];
    for (const l of site.links) {
      if (l.bridge !== b.name) continue;
      const m = own.get(l) ?? l.mtu;
      if (m !== undefined) portMtus.push(m);
    }
    for (const ns of site.namespaces) if (ns.bridge === b.name && ns.mtu !== undefined) portMtus.push(ns.mtu);
    out.set(b.name, portMtus.length > 0 ? Math.min(...portMtus) : ETHERNET_DEFAULT_MTU);
  }
  return out;
}

/** `state` is consulted only for underlay MTUs (Dev= devices, routed devices). */
export function deriveSite(site: Site, state: SystemState): DesiredSite {
  const own = ownMtus(site, state);
  const bridgeMtu = bridgeMtus(site, own);
  const portMtu = (mtu: number | undefined, bridge: string | undefined) => mtu ?? (bridge ? bridgeMtu.get(bridge) : undefined);

  const out: DesiredSite = { namespaces: site.namespaces.map((n) => n.name), links: [], routes: [], fdb: [], meshFollows: [], hostDependencies: [] };
  const declaredHostLinks = new Set<string>();
  for (const l of site.links) {
    for (const end of linkKind(l.kind).ends(l)) if (!end.netns) declaredHostLinks.add(end.name);
  }

  const stages = new Map<CreateStage, DesiredLink[]>(CREATE_STAGES.map((s) => [s, []]));
  for (const l of site.links) {
    const kind = linkKind(l.kind);
    const origin = originOf(l);
    const ctx: DeriveContext = {
      origin,
      ownMtu: own.get(l),
      bridgeMtu: (name) => bridgeMtu.get(name),
      portMtu,
      hostNameFor,
      needOnHost: (name, usedBy) => {
        if (!declaredHostLinks.has(name)) out.hostDependencies.push({ name, usedBy });
      },
      addFdb: (entry) => out.fdb.push(entry),
      addMeshFollow: (follow) => out.meshFollows.push(follow),
    };
    for (const d of kind.derive(l, ctx)) stages.get(kind.stage)!.push({ ...d, kind: kind.kind, origin });
  }
  for (const ns of site.namespaces) {
    if (!ns.bridge) continue;
    const origin = `[Namespace] ${ns.name} (line ${ns.line})`;
    const mtu = optional('mtu', portMtu(ns.mtu, ns.bridge));
    const hostEnd = vethHostName(ns.name);
    const inside = moveTempName(ns.name, NAMESPACE_IFNAME);
    const pairs = stages.get(veth.stage)!;
    pairs.push({ addresses: [], origin, name: hostEnd, kind: veth.kind, hostName: hostEnd, spec: vethPair(inside), ...mtu, details: {}, master: ns.bridge });
    pairs.push({ addresses: ns.address ? [ns.address] : [], origin, netns: ns.name, name: NAMESPACE_IFNAME, kind: veth.kind, hostName: inside, ...mtu, details: {} });
    if (ns.gateway) {
      const dst = ns.gateway.family === 4 ? DEFAULT_ROUTE_V4 : DEFAULT_ROUTE_V6;
      out.routes.push({ netns: ns.name, dst, gateway: ns.gateway, dev: NAMESPACE_IFNAME });
    }
  }
  for (const stage of CREATE_STAGES) out.links.push(...stages.get(stage)!);
  for (const ns of site.namespaces) {
    out.links.push({ netns: ns.name, name: 'lo', kind: LOOPBACK, hostName: 'lo', addresses: [], details: {}, origin: `[Namespace] ${ns.name} (line ${ns.line})` });
  }
  return out;
}

/** The tunvpn interfaces whose mesh a vxlan of the site follows (`Remote = mesh`): their daemons are asked. */
export function meshTunnels(site: Site): string[] {
  return [...new Set(site.links.flatMap((l) => linkKind(l.kind).meshTunnel?.(l) ?? []))];
}

/** Remotes of tunnels without Dev=: their routed device's MTU is the underlay MTU (see deriveSite). */
export function underlayProbes(site: Site): IpAddress[] {
  return site.links.flatMap((l) => linkKind(l.kind).underlayProbes?.(l) ?? []);
}
