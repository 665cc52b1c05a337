/** [Bridge]: a Linux bridge on the host; the other kinds' Bridge= names one. Its MTU defaults to its ports' minimum. */
import { addressList, nameEnd, type CommonFields, type LinkDeclBase, type LinkKind } from './kind.js';

export interface BridgeDecl extends LinkDeclBase {
  kind: 'bridge';
}

export interface BridgeCreate {
  kind: 'bridge';
}

export const bridge: LinkKind<BridgeDecl, BridgeCreate> = {
  kind: 'bridge',
  label: 'Bridge',
  keys: ['name', 'address', 'mtu'],
  kernelKind: 'bridge',
  stage: 'masters',
  isBridge: true,
  parse: (_r, common: CommonFields) => ({ kind: 'bridge', ...common }),
  ends: nameEnd,
  derive: (l, ctx) => [{ addresses: addressList(l.address), name: l.name, hostName: l.name, spec: { kind: 'bridge' }, mtu: ctx.bridgeMtu(l.name)!, details: {} }],
  describe: (name) => `bridge ${name}`,
  toNetlink: (name) => ({ kind: 'bridge', name }),
};
