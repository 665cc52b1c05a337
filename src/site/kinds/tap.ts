/** [Tap]: a persistent TAP device on the host, optionally a port of a bridge (it then takes the bridge's MTU). */
import { addressList, nameEnd, optional, type LinkDeclBase, type LinkKind } from './kind.js';

export interface TapDecl extends LinkDeclBase {
  kind: 'tap';
  bridge?: string;
}

export interface TapCreate {
  kind: 'tap';
}

export const tap: LinkKind<TapDecl, TapCreate> = {
  kind: 'tap',
  label: 'Tap',
  keys: ['name', 'bridge', 'address', 'mtu'],
  // A TAP is a tun device in IFLA_INFO_KIND.
  kernelKind: 'tun',
  stage: 'devices',
  parse: (r, common) => ({ kind: 'tap', ...common, ...optional('bridge', r.ifname('bridge')) }),
  ends: nameEnd,
  validate: (l, ctx) => ctx.checkBridge(l, l.bridge),
  derive: (l, ctx) => [
    {
      addresses: addressList(l.address),
      name: l.name,
      hostName: l.name,
      spec: { kind: 'tap' },
      ...optional('mtu', ctx.portMtu(l.mtu, l.bridge)),
      details: {},
      ...(l.bridge && { master: l.bridge }),
    },
  ],
  describe: (name) => `tap ${name}`,
  toNetlink: (name) => ({ kind: 'tap', name }),
};
