/** [Ipvlan]: an ipvlan on Parent= (sharing the parent's MAC), optionally moved into a namespace. */
import { nameEnd, optional, type LinkKind } from './kind.js';
import { deriveStacked, parseMode, parseParent, validateStacked, type StackedDecl } from './stacked.js';

/** The kernel's ipvlan modes (linux/if_link.h IPVLAN_MODE_*), as `ip link` spells them. */
export const IPVLAN_MODES = ['l2', 'l3', 'l3s'] as const;
export type IpvlanMode = (typeof IPVLAN_MODES)[number];

export interface IpvlanDecl extends StackedDecl {
  kind: 'ipvlan';
  mode: IpvlanMode;
}

export interface IpvlanCreate {
  kind: 'ipvlan';
  parent: string;
  mode: IpvlanMode;
}

export const ipvlan: LinkKind<IpvlanDecl, IpvlanCreate> = {
  kind: 'ipvlan',
  label: 'Ipvlan',
  keys: ['name', 'parent', 'mode', 'namespace', 'address', 'mtu'],
  kernelKind: 'ipvlan',
  stage: 'stacked',

  parse(r, common, ctx) {
    const parent = parseParent(r, common.line);
    const mode = parseMode(r, IPVLAN_MODES, 'l2');
    return { kind: 'ipvlan', ...common, parent, mode, ...optional('namespace', ctx.namespace('namespace')) };
  },
  ends: nameEnd,
  validate: validateStacked,
  derive: (l, ctx) => deriveStacked(l, ctx, { kind: 'ipvlan', parent: l.parent, mode: l.mode }, { mode: l.mode, parent: l.parent }),

  describe: (name, spec) => `ipvlan ${name} link ${spec.parent} mode ${spec.mode}`,
  lowerDevice: (spec) => spec.parent,
  reportedDetails: (s) => ({ mode: s.mode, parent: s.parent }),
  toNetlink: (name, spec) => ({ kind: 'ipvlan', name, parent: spec.parent, mode: spec.mode }),
};
