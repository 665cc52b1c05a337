/**
 * [Vxlan]: a VXLAN tunnel endpoint on the host (RFC 7348). Unicast head-end replication: one all-zero FDB entry
 * per Remote; or `Remote = mesh`, where the daemon of the tunvpn interface `Dev` keeps those entries as mesh
 * members come and go (docs/mesh.md). Its MTU is its underlay's (Dev, else the routed device, else 1500) minus
 * the encapsulation (mtu.ts).
 */
import type { SectionReader } from '../section.js';
import { MAX_PORT } from '../../net/endpoint.js';
import { formatIp, type IpAddress } from '../../net/ip.js';
import { ETHERNET_DEFAULT_MTU, encapMtu } from '../mtu.js';
import { findLink } from '../state.js';
import { addressList, nameEnd, optional, VNI_MAX, type CommonFields, type LinkDeclBase, type LinkKind } from './kind.js';

/** IANA's VXLAN port (the kernel's own default is 8472). */
export const VXLAN_DEFAULT_PORT = 4789;
/** The all-zero MAC: on a vxlan FDB entry it means "flood BUM traffic to this dst" (head-end replication). */
export const ZERO_LLADDR = '00:00:00:00:00:00';

export interface VxlanDecl extends LinkDeclBase {
  kind: 'vxlan';
  id: number;
  local?: IpAddress;
  /** Unicast head-end replication: one all-zero FDB entry per remote. Empty with `mesh`. */
  remotes: IpAddress[];
  /**
   * `Remote = mesh`: the remotes are the VTEPs of the mesh of `dev` (a tunvpn interface with a [Mesh] section),
   * whose daemon keeps the FDB entries as members come and go; `local` is this node's VTEP. See docs/mesh.md.
   */
  mesh?: boolean;
  dstPort: number;
  bridge?: string;
  /** Underlying device (the tunnel interface); must exist on the host at apply time. */
  dev?: string;
}

export interface VxlanCreate {
  kind: 'vxlan';
  id: number;
  port: number;
  local?: IpAddress;
  dev?: string;
}

export const vxlan: LinkKind<VxlanDecl, VxlanCreate> = {
  kind: 'vxlan',
  label: 'Vxlan',
  keys: ['name', 'id', 'local', 'remote', 'dstport', 'bridge', 'dev', 'address', 'mtu'],
  repeatable: ['remote'],
  kernelKind: 'vxlan',
  stage: 'devices',
  vtep: true,

  parse(r: SectionReader, common: CommonFields) {
    const line = common.line;
    const id = r.int('id', 'Id', 0, VNI_MAX);
    if (id === undefined) r.fail(line, `[${r.section.name}] is missing Id`);
    const local = r.ip(r.entry('local'));
    const remotes: IpAddress[] = [];
    const meshEntry = r.all('remote').find((e) => e.value.trim().toLowerCase() === 'mesh');
    if (meshEntry) {
      const other = r.all('remote').find((e) => e !== meshEntry);
      if (other) r.fail(other.line, `Remote = mesh (line ${meshEntry.line}) takes no other Remote: the mesh's members are the remotes`);
      const dev = r.ifname('dev');
      if (dev === undefined) r.fail(meshEntry.line, 'Remote = mesh needs Dev = the tunvpn interface whose mesh it follows');
      if (!local) r.fail(meshEntry.line, "Remote = mesh needs Local = this node's VTEP address (a tunnel address it announces in the mesh)");
      return {
        kind: 'vxlan',
        ...common,
        id,
        remotes,
        mesh: true,
        dstPort: r.int('dstport', 'DstPort', 1, MAX_PORT) ?? VXLAN_DEFAULT_PORT,
        local,
        ...optional('bridge', r.ifname('bridge')),
        dev,
      };
    }
    for (const e of r.all('remote')) {
      for (const part of e.value.split(',')) {
        const text = part.trim();
        if (text === '') r.fail(e.line, 'empty address in Remote list');
        const remote = r.ip(e, text)!;
        if (local && remote.family !== local.family) r.fail(e.line, `Remote ${text} and Local are of different IP families`);
        if (remotes[0] && remote.family !== remotes[0].family) r.fail(e.line, 'Remote addresses of mixed IP families');
        if (remotes.some((x) => x.bytes.every((b, i) => b === remote.bytes[i]) && x.family === remote.family)) {
          r.fail(e.line, `duplicate Remote ${text}`);
        }
        remotes.push(remote);
      }
    }
    return {
      kind: 'vxlan',
      ...common,
      id,
      remotes,
      dstPort: r.int('dstport', 'DstPort', 1, MAX_PORT) ?? VXLAN_DEFAULT_PORT,
      ...optional('local', local),
      ...optional('bridge', r.ifname('bridge')),
      ...optional('dev', r.ifname('dev')),
    };
  },
  ends: nameEnd,
  validate(l, ctx) {
    ctx.checkBridge(l, l.bridge);
    if (l.dev === l.name) ctx.fail(l, 'dev', `Dev cannot be the vxlan itself`);
    ctx.claim(`vxlan/${l.id}/${l.dstPort}`, l, 'id', (first) => `vxlan Id ${l.id} on port ${l.dstPort} is already used by ${first.name} (line ${first.line})`);
  },
  ownMtu(l, ctx) {
    if (l.mtu !== undefined) return l.mtu;
    const remote = l.remotes[0];
    const family = l.local?.family ?? remote?.family ?? 4;
    let underlay: number | undefined;
    if (l.dev !== undefined) underlay = ctx.declaredHostMtu(l.dev) ?? findLink(ctx.state, undefined, l.dev)?.mtu;
    else if (remote) underlay = ctx.state.underlayMtu?.get(formatIp(remote));
    return encapMtu(underlay ?? ETHERNET_DEFAULT_MTU, family);
  },
  derive(l, ctx) {
    const spec: VxlanCreate = { kind: 'vxlan', id: l.id, port: l.dstPort, ...(l.local && { local: l.local }), ...(l.dev && { dev: l.dev }) };
    const details = { id: l.id, port: l.dstPort, ...(l.local && { local: formatIp(l.local) }), ...(l.dev && { parent: l.dev }) };
    for (const dst of l.remotes) ctx.addFdb({ dev: l.name, lladdr: ZERO_LLADDR, dst });
    if (l.mesh && l.dev && l.local) ctx.addMeshFollow({ tunnel: l.dev, dev: l.name, vtep: l.local, origin: ctx.origin });
    if (l.dev) ctx.needOnHost(l.dev, `Dev of ${ctx.origin}`);
    return [{ addresses: addressList(l.address), name: l.name, hostName: l.name, spec, mtu: ctx.ownMtu!, details, ...(l.bridge && { master: l.bridge }) }];
  },
  underlayProbes: (l) => (l.dev === undefined && l.remotes[0] ? [l.remotes[0]] : []),
  meshTunnel: (l) => (l.mesh && l.dev ? l.dev : undefined),

  describe(name, spec) {
    const parts = [`vxlan ${name} id ${spec.id}`];
    if (spec.local) parts.push(`local ${formatIp(spec.local)}`);
    parts.push(`dstport ${spec.port}`);
    if (spec.dev) parts.push(`dev ${spec.dev}`);
    return parts.join(' ');
  },
  lowerDevice: (spec) => spec.dev,
  reportedDetails: (s) => ({ id: s.id, port: s.port, ...(s.dev && { parent: s.dev }) }),
  toNetlink: (name, spec) => ({
    kind: 'vxlan',
    name,
    id: spec.id,
    dstPort: spec.port,
    ...(spec.local && { local: formatIp(spec.local) }),
    ...(spec.dev !== undefined && { dev: spec.dev }),
  }),
  fromKernel(info, nameOf) {
    const v = info.vxlan;
    if (!v) return undefined;
    const parent = v.dev === undefined ? undefined : nameOf(v.dev);
    return {
      ...(v.id !== undefined && { id: v.id }),
      ...(v.dstPort !== undefined && { port: v.dstPort }),
      ...(v.local !== undefined && { local: v.local }),
      ...(parent !== undefined && { parent }),
    };
  },
};
