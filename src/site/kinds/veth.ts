/**
 * [Veth]: a veth pair, each end on the host or in a declared [Namespace], each with its own address. The `Name` end
 * may be a port of a bridge (then it must be on the host); both ends take the bridge's MTU unless MTU= is set.
 * A [Namespace] with Bridge= gets a pair of its own (desired.ts, through `vethPair`).
 */
import type { SectionReader } from '../section.js';
import { addressList, optional, type CommonFields, type LinkDeclBase, type LinkKind, type ParseContext } from './kind.js';

export interface VethDecl extends LinkDeclBase {
  kind: 'veth';
  peer: string;
  namespace?: string;
  peerNamespace?: string;
  peerAddress?: LinkDeclBase['address'];
  /** Enslave the `Name` end (which must then be on the host) to this bridge. */
  bridge?: string;
}

export interface VethCreate {
  kind: 'veth';
  /** The second end's name on the host. */
  peer: string;
}

/** The create spec of a veth pair whose second end is `peer` (on the host). */
export function vethPair(peer: string): VethCreate {
  return { kind: 'veth', peer };
}

export const veth: LinkKind<VethDecl, VethCreate> = {
  kind: 'veth',
  label: 'Veth',
  keys: ['name', 'peer', 'namespace', 'peernamespace', 'address', 'peeraddress', 'bridge', 'mtu'],
  kernelKind: 'veth',
  stage: 'pairs',

  parse(r: SectionReader, common: CommonFields, ctx: ParseContext) {
    const peer = r.ifname('peer');
    if (peer === undefined) r.fail(common.line, `[${r.section.name}] is missing Peer`);
    return {
      kind: 'veth',
      ...common,
      peer,
      ...optional('namespace', ctx.namespace('namespace')),
      ...optional('peerNamespace', ctx.namespace('peernamespace')),
      ...optional('peerAddress', r.prefix('peeraddress', 'PeerAddress')),
      ...optional('bridge', r.ifname('bridge')),
    };
  },
  ends: (l) => [
    { netns: l.namespace, name: l.name, key: 'name' },
    { netns: l.peerNamespace, name: l.peer, key: 'peer' },
  ],
  validate(l, ctx) {
    ctx.checkNamespace(l, 'namespace', l.namespace);
    ctx.checkNamespace(l, 'peernamespace', l.peerNamespace);
    ctx.checkBridge(l, l.bridge);
    if (l.bridge !== undefined && l.namespace !== undefined) ctx.fail(l, 'bridge', 'Bridge needs the Name end on the host (no Namespace)');
  },
  derive(l, ctx) {
    const mtu = optional('mtu', ctx.portMtu(l.mtu, l.bridge));
    const aHost = ctx.hostNameFor(l.namespace, l.name);
    const bHost = ctx.hostNameFor(l.peerNamespace, l.peer);
    return [
      { addresses: addressList(l.address), ...optional('netns', l.namespace), name: l.name, hostName: aHost, spec: vethPair(bHost), ...mtu, details: {}, ...(l.bridge && { master: l.bridge }) },
      { addresses: addressList(l.peerAddress), ...optional('netns', l.peerNamespace), name: l.peer, hostName: bHost, ...mtu, details: {} },
    ];
  },

  describe: (name, spec) => `veth ${name} peer ${spec.peer}`,
  pairedWith: (spec) => spec.peer,
  toNetlink: (name, spec) => ({ kind: 'veth', name, peerName: spec.peer }),
};
