/** [Macvlan]: a macvlan on Parent= (its own MAC on the parent's segment), optionally moved into a namespace. */
import { nameEnd, optional, type LinkKind } from './kind.js';
import { deriveStacked, parseMode, parseParent, validateStacked, type StackedDecl } from './stacked.js';

/** The kernel's macvlan modes (linux/if_link.h MACVLAN_MODE_*), as `ip link` spells them. */
export const MACVLAN_MODES = ['private', 'vepa', 'bridge', 'passthru', 'source'] as const;
export type MacvlanMode = (typeof MACVLAN_MODES)[number];

export interface MacvlanDecl extends StackedDecl {
  kind: 'macvlan';
  mode: MacvlanMode;
}

export interface MacvlanCreate {
  kind: 'macvlan';
  parent: string;
  mode: MacvlanMode;
}

export const macvlan: LinkKind<MacvlanDecl, MacvlanCreate> = {
  kind: 'macvlan',
  label: 'Macvlan',
  keys: ['name', 'parent', 'mode', 'namespace', 'address', 'mtu'],
  kernelKind: 'macvlan',
  stage: 'stacked',

  parse(r, common, ctx) {
    const parent = parseParent(r, common.line);
    const mode = parseMode(r, MACVLAN_MODES, 'bridge');
    return { kind: 'macvlan', ...common, parent, mode, ...optional('namespace', ctx.namespace('namespace')) };
  },
  ends: nameEnd,
  validate: validateStacked,
  derive: (l, ctx) => deriveStacked(l, ctx, { kind: 'macvlan', parent: l.parent, mode: l.mode }, { mode: l.mode, parent: l.parent }),

  describe: (name, spec) => `macvlan ${name} link ${spec.parent} mode ${spec.mode}`,
  lowerDevice: (spec) => spec.parent,
  reportedDetails: (s) => ({ mode: s.mode, parent: s.parent }),
  toNetlink: (name, spec) => ({ kind: 'macvlan', name, parent: spec.parent, mode: spec.mode }),
};
