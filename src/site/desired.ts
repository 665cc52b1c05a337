/**
 * Site → the concrete objects it stands for: every link with the namespace it ends up in, the name it is created
 * under on the host, its master, MTU and addresses; default routes; FDB entries; and the undeclared host links
 * it relies on (Parent=, Dev=). MTUs are derived here:
 *   - a vxlan/geneve gets the MTU of its underlay (Dev, else the routed device, else 1500) minus 50 (IPv4) / 70;
 *   - a bridge takes its MTU=, else the minimum of its ports' known MTUs (tunnels and ports with MTU=), else 1500;
 *   - taps, veths and namespace ends on a bridge take the bridge's MTU unless they set their own.
 * Links without MTU= that are on no bridge keep whatever MTU the kernel gives them (not managed).
 */
import { formatIp, type IpAddress, type Prefix } from '../net/ip.js';
import { ZERO_LLADDR, type CreateSpec } from './actions.js';
import type { LinkDecl, Site, VxlanDecl, GeneveDecl } from './model.js';
import { ETHERNET_DEFAULT_MTU, encapMtu } from './mtu.js';
import { NAMESPACE_IFNAME, moveTempName, vethHostName } from './names.js';
import type { LinkDetails, SystemState } from './state.js';
import { findLink } from './state.js';

export type DesiredKind = LinkDecl['kind'] | 'loopback';

export interface DesiredLink {
  /** Final namespace; undefined = host. */
  netns?: string;
  name: string;
  kind: DesiredKind;
  /** The name it has on the host before being moved into `netns` (equals `name` for host links). */
  hostName: string;
  /** How to create it; absent for a veth's second end (created with its pair) and for loopback. */
  spec?: CreateSpec;
  master?: string;
  mtu?: number;
  addresses: Prefix[];
  /** What identifies it (compared against the state; a mismatch is a conflict). */
  details: LinkDetails;
  /** Where it comes from, for messages: "[Namespace] c1 (line 12)". */
  origin: string;
}

export interface DesiredRoute {
  netns?: string;
  dst: Prefix;
  gateway: IpAddress;
  dev: string;
}

export interface DesiredFdb {
  dev: string;
  lladdr: string;
  dst: IpAddress;
}

/** A vxlan whose FDB the daemon of tunvpn interface `tunnel` keeps (`Remote = mesh`). */
export interface DesiredMeshFollow {
  tunnel: string;
  dev: string;
  vtep: IpAddress;
  origin: string;
}

export interface HostDependency {
  name: string;
  /** "Parent of vlan v10 (line 30)". */
  usedBy: string;
}

export interface DesiredSite {
  namespaces: string[];
  /** Creation order: bridges, vxlan/geneve/tap, veth pairs, links on a parent, loopbacks. */
  links: DesiredLink[];
  routes: DesiredRoute[];
  fdb: DesiredFdb[];
  /** `Remote = mesh` vxlans, handed to their tunnel's daemon after everything else. */
  meshFollows: DesiredMeshFollow[];
  hostDependencies: HostDependency[];
}

const KIND_LABEL: Record<LinkDecl['kind'], string> = {
  bridge: 'Bridge',
  vxlan: 'Vxlan',
  geneve: 'Geneve',
  tap: 'Tap',
  veth: 'Veth',
  macvlan: 'Macvlan',
  ipvlan: 'Ipvlan',
  vlan: 'Vlan',
};

const DEFAULT_ROUTE_V4: Prefix = { family: 4, bytes: new Uint8Array(4), bits: 0 };
const DEFAULT_ROUTE_V6: Prefix = { family: 6, bytes: new Uint8Array(16), bits: 0 };

function originOf(l: LinkDecl): string {
  return `[${KIND_LABEL[l.kind]}] ${l.name} (line ${l.line})`;
}

function hostNameFor(netns: string | undefined, name: string): string {
  return netns === undefined ? name : moveTempName(netns, name);
}

function tunnelMtu(l: VxlanDecl | GeneveDecl, site: Site, state: SystemState): number {
  if (l.mtu !== undefined) return l.mtu;
  const remote = l.kind === 'vxlan' ? l.remotes[0] : l.remote;
  const family = (l.kind === 'vxlan' ? l.local?.family : undefined) ?? remote?.family ?? 4;
  let underlay: number | undefined;
  if (l.kind === 'vxlan' && l.dev !== undefined) {
    const declared = site.links.find((x) => x.name === l.dev && !('namespace' in x && x.namespace));
    underlay = declared?.mtu ?? findLink(state, undefined, l.dev)?.mtu;
  } else if (remote) {
    underlay = state.underlayMtu?.get(formatIp(remote));
  }
  return encapMtu(underlay ?? ETHERNET_DEFAULT_MTU, family);
}

function bridgeMtus(site: Site, tunnelMtus: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const b of site.links) {
    if (b.kind !== 'bridge') continue;
    if (b.mtu !== undefined) {
      out.set(b.name, b.mtu);
      continue;
    }
    const portMtus: number[] = [];
    for (const l of site.links) {
      if (!('bridge' in l) || l.bridge !== b.name) continue;
      const m = tunnelMtus.get(l.name) ?? l.mtu;
      if (m !== undefined) portMtus.push(m);
    }
    for (const ns of site.namespaces) if (ns.bridge === b.name && ns.mtu !== undefined) portMtus.push(ns.mtu);
    out.set(b.name, portMtus.length > 0 ? Math.min(...portMtus) : ETHERNET_DEFAULT_MTU);
  }
  return out;
}

/** `state` is consulted only for underlay MTUs (Dev= devices, routed devices). */
export function deriveSite(site: Site, state: SystemState): DesiredSite {
  const tunnelMtus = new Map<string, number>();
  for (const l of site.links) if (l.kind === 'vxlan' || l.kind === 'geneve') tunnelMtus.set(l.name, tunnelMtu(l, site, state));
  const bridgeMtu = bridgeMtus(site, tunnelMtus);
  const portMtu = (own: number | undefined, bridge: string | undefined) => own ?? (bridge ? bridgeMtu.get(bridge) : undefined);
  const addrs = (p: Prefix | undefined) => (p ? [p] : []);

  const out: DesiredSite = { namespaces: site.namespaces.map((n) => n.name), links: [], routes: [], fdb: [], meshFollows: [], hostDependencies: [] };
  const declaredHostLinks = new Set<string>();
  for (const l of site.links) {
    if (l.kind === 'veth') {
      if (!l.namespace) declaredHostLinks.add(l.name);
      if (!l.peerNamespace) declaredHostLinks.add(l.peer);
    } else if (!('namespace' in l) || !l.namespace) declaredHostLinks.add(l.name);
  }
  const needOnHost = (name: string, usedBy: string) => {
    if (!declaredHostLinks.has(name)) out.hostDependencies.push({ name, usedBy });
  };

  const tunnels: DesiredLink[] = [];
  const veths: DesiredLink[] = [];
  const onParent: DesiredLink[] = [];
  for (const l of site.links) {
    const origin = originOf(l);
    const base = { addresses: addrs(l.address), origin };
    switch (l.kind) {
      case 'bridge':
        out.links.push({ ...base, name: l.name, kind: 'bridge', hostName: l.name, spec: { kind: 'bridge' }, mtu: bridgeMtu.get(l.name)!, details: {} });
        break;
      case 'vxlan': {
        const spec: CreateSpec = { kind: 'vxlan', id: l.id, port: l.dstPort, ...(l.local && { local: l.local }), ...(l.dev && { dev: l.dev }) };
        const details: LinkDetails = { id: l.id, port: l.dstPort, ...(l.local && { local: formatIp(l.local) }), ...(l.dev && { parent: l.dev }) };
        tunnels.push({ ...base, name: l.name, kind: 'vxlan', hostName: l.name, spec, mtu: tunnelMtus.get(l.name)!, details, ...(l.bridge && { master: l.bridge }) });
        for (const dst of l.remotes) out.fdb.push({ dev: l.name, lladdr: ZERO_LLADDR, dst });
        if (l.mesh && l.dev && l.local) out.meshFollows.push({ tunnel: l.dev, dev: l.name, vtep: l.local, origin });
        if (l.dev) needOnHost(l.dev, `Dev of ${origin}`);
        break;
      }
      case 'geneve': {
        const spec: CreateSpec = { kind: 'geneve', id: l.id, port: l.dstPort, remote: l.remote };
        const details: LinkDetails = { id: l.id, port: l.dstPort, remote: formatIp(l.remote) };
        tunnels.push({ ...base, name: l.name, kind: 'geneve', hostName: l.name, spec, mtu: tunnelMtus.get(l.name)!, details, ...(l.bridge && { master: l.bridge }) });
        break;
      }
      case 'tap':
        tunnels.push({ ...base, name: l.name, kind: 'tap', hostName: l.name, spec: { kind: 'tap' }, ...opt('mtu', portMtu(l.mtu, l.bridge)), details: {}, ...(l.bridge && { master: l.bridge }) });
        break;
      case 'veth': {
        const mtu = opt('mtu', portMtu(l.mtu, l.bridge));
        const aHost = hostNameFor(l.namespace, l.name);
        const bHost = hostNameFor(l.peerNamespace, l.peer);
        veths.push({ ...base, ...opt('netns', l.namespace), name: l.name, kind: 'veth', hostName: aHost, spec: { kind: 'veth', peer: bHost }, ...mtu, details: {}, ...(l.bridge && { master: l.bridge }) });
        veths.push({ addresses: addrs(l.peerAddress), origin, ...opt('netns', l.peerNamespace), name: l.peer, kind: 'veth', hostName: bHost, ...mtu, details: {} });
        break;
      }
      case 'macvlan':
      case 'ipvlan':
      case 'vlan': {
        const spec: CreateSpec = l.kind === 'vlan' ? { kind: 'vlan', parent: l.parent, id: l.id } : l.kind === 'macvlan' ? { kind: 'macvlan', parent: l.parent, mode: l.mode } : { kind: 'ipvlan', parent: l.parent, mode: l.mode };
        const details: LinkDetails = l.kind === 'vlan' ? { id: l.id, parent: l.parent } : { mode: l.mode, parent: l.parent };
        onParent.push({ ...base, ...opt('netns', l.namespace), name: l.name, kind: l.kind, hostName: hostNameFor(l.namespace, l.name), spec, ...opt('mtu', l.mtu), details });
        needOnHost(l.parent, `Parent of ${origin}`);
        break;
      }
    }
  }
  for (const ns of site.namespaces) {
    if (!ns.bridge) continue;
    const origin = `[Namespace] ${ns.name} (line ${ns.line})`;
    const mtu = opt('mtu', portMtu(ns.mtu, ns.bridge));
    const hostEnd = vethHostName(ns.name);
    const inside = moveTempName(ns.name, NAMESPACE_IFNAME);
    veths.push({ addresses: [], origin, name: hostEnd, kind: 'veth', hostName: hostEnd, spec: { kind: 'veth', peer: inside }, ...mtu, details: {}, master: ns.bridge });
    veths.push({ addresses: addrs(ns.address), origin, netns: ns.name, name: NAMESPACE_IFNAME, kind: 'veth', hostName: inside, ...mtu, details: {} });
    if (ns.gateway) {
      const dst = ns.gateway.family === 4 ? DEFAULT_ROUTE_V4 : DEFAULT_ROUTE_V6;
      out.routes.push({ netns: ns.name, dst, gateway: ns.gateway, dev: NAMESPACE_IFNAME });
    }
  }
  out.links.push(...tunnels, ...veths, ...onParent);
  for (const ns of site.namespaces) {
    out.links.push({ netns: ns.name, name: 'lo', kind: 'loopback', hostName: 'lo', addresses: [], details: {}, origin: `[Namespace] ${ns.name} (line ${ns.line})` });
  }
  return out;
}

/** The tunvpn interfaces whose mesh a vxlan of the site follows (`Remote = mesh`): their daemons are asked. */
export function meshTunnels(site: Site): string[] {
  return [...new Set(site.links.flatMap((l) => (l.kind === 'vxlan' && l.mesh && l.dev ? [l.dev] : [])))];
}

/** Remotes of tunnels without Dev=: their routed device's MTU is the underlay MTU (see deriveSite). */
export function underlayProbes(site: Site): IpAddress[] {
  const out: IpAddress[] = [];
  for (const l of site.links) {
    if (l.kind === 'vxlan' && l.dev === undefined && l.remotes[0]) out.push(l.remotes[0]);
    if (l.kind === 'geneve') out.push(l.remote);
  }
  return out;
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
