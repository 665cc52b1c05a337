/**
 * [Geneve]: a Geneve tunnel endpoint on the host (RFC 8926) with one unicast Remote. Its MTU is the routed
 * device's toward Remote (else 1500) minus the encapsulation (mtu.ts; sites declare no Geneve options).
 */
import type { SectionReader } from '../section.js';
import { MAX_PORT } from '../../net/endpoint.js';
import { formatIp, type IpAddress } from '../../net/ip.js';
import { ETHERNET_DEFAULT_MTU, encapMtu } from '../mtu.js';
import { addressList, nameEnd, optional, VNI_MAX, type CommonFields, type LinkDeclBase, type LinkKind } from './kind.js';

/** IANA's Geneve port. */
export const GENEVE_DEFAULT_PORT = 6081;

export interface GeneveDecl extends LinkDeclBase {
  kind: 'geneve';
  id: number;
  remote: IpAddress;
  dstPort: number;
  bridge?: string;
}

export interface GeneveCreate {
  kind: 'geneve';
  id: number;
  port: number;
  remote: IpAddress;
}

export const geneve: LinkKind<GeneveDecl, GeneveCreate> = {
  kind: 'geneve',
  label: 'Geneve',
  keys: ['name', 'id', 'remote', 'dstport', 'bridge', 'address', 'mtu'],
  kernelKind: 'geneve',
  stage: 'devices',

  parse(r: SectionReader, common: CommonFields) {
    const id = r.int('id', 'Id', 0, VNI_MAX);
    if (id === undefined) r.fail(common.line, `[${r.section.name}] is missing Id`);
    const remote = r.ip(r.required('remote', 'Remote'))!;
    return {
      kind: 'geneve',
      ...common,
      id,
      remote,
      dstPort: r.int('dstport', 'DstPort', 1, MAX_PORT) ?? GENEVE_DEFAULT_PORT,
      ...optional('bridge', r.ifname('bridge')),
    };
  },
  ends: nameEnd,
  validate(l, ctx) {
    ctx.checkBridge(l, l.bridge);
    ctx.claim(`geneve/${l.id}/${l.dstPort}`, l, 'id', (first) => `geneve Id ${l.id} on port ${l.dstPort} is already used by ${first.name} (line ${first.line})`);
  },
  ownMtu(l, ctx) {
    if (l.mtu !== undefined) return l.mtu;
    const underlay = ctx.state.underlayMtu?.get(formatIp(l.remote));
    return encapMtu(underlay ?? ETHERNET_DEFAULT_MTU, l.remote.family);
  },
  derive(l, ctx) {
    const spec: GeneveCreate = { kind: 'geneve', id: l.id, port: l.dstPort, remote: l.remote };
    const details = { id: l.id, port: l.dstPort, remote: formatIp(l.remote) };
    return [{ addresses: addressList(l.address), name: l.name, hostName: l.name, spec, mtu: ctx.ownMtu!, details, ...(l.bridge && { master: l.bridge }) }];
  },
  underlayProbes: (l) => [l.remote],

  describe: (name, spec) => `geneve ${name} id ${spec.id} remote ${formatIp(spec.remote)} dstport ${spec.port}`,
  reportedDetails: (s) => ({ id: s.id, port: s.port }),
  toNetlink: (name, spec) => ({ kind: 'geneve', name, id: spec.id, remote: formatIp(spec.remote), dstPort: spec.port }),
};
