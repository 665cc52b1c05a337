/** [Vlan]: an 802.1Q VLAN on Parent= with Id=, optionally moved into a namespace. */
import type { SectionReader } from '../section.js';
import { nameEnd, optional, type CommonFields, type LinkKind, type ParseContext } from './kind.js';
import { deriveStacked, parseParent, validateStacked, type StackedDecl } from './stacked.js';

/** 802.1Q VLAN ids 0 and 4095 are reserved. */
export const VLAN_ID_MIN = 1;
export const VLAN_ID_MAX = 4094;

export interface VlanDecl extends StackedDecl {
  kind: 'vlan';
  id: number;
}

export interface VlanCreate {
  kind: 'vlan';
  parent: string;
  id: number;
}

export const vlan: LinkKind<VlanDecl, VlanCreate> = {
  kind: 'vlan',
  label: 'Vlan',
  keys: ['name', 'parent', 'id', 'namespace', 'address', 'mtu'],
  kernelKind: 'vlan',
  stage: 'stacked',

  parse(r: SectionReader, common: CommonFields, ctx: ParseContext) {
    const parent = parseParent(r, common.line);
    const id = r.int('id', 'Id', VLAN_ID_MIN, VLAN_ID_MAX);
    if (id === undefined) r.fail(common.line, `[${r.section.name}] is missing Id`);
    return { kind: 'vlan', ...common, parent, id, ...optional('namespace', ctx.namespace('namespace')) };
  },
  ends: nameEnd,
  validate: validateStacked,
  derive: (l, ctx) => deriveStacked(l, ctx, { kind: 'vlan', parent: l.parent, id: l.id }, { id: l.id, parent: l.parent }),

  describe: (name, spec) => `vlan ${name} link ${spec.parent} id ${spec.id}`,
  lowerDevice: (spec) => spec.parent,
  reportedDetails: (s) => ({ id: s.id, parent: s.parent }),
  toNetlink: (name, spec) => ({ kind: 'vlan', name, parent: spec.parent, id: spec.id }),
};
