/**
 * What the kinds stacked on a parent link share (macvlan, ipvlan, vlan): Parent= (a declared host link or one
 * that must exist on the host), an optional Namespace= it is moved into, and the checks and derivation of both.
 */
import type { SectionReader } from '../section.js';
import type { LinkDetails } from '../state.js';
import { addressList, optional, type CreateSpecBase, type DeriveContext, type DerivedLink, type LinkDeclBase, type ValidateContext } from './kind.js';

/** A declaration stacked on `parent`. */
export interface StackedDecl extends LinkDeclBase {
  parent: string;
  namespace?: string;
}

/** `Parent`, required, an interface name. */
export function parseParent(r: SectionReader, line: number): string {
  const parent = r.ifname('parent');
  if (parent === undefined) r.fail(line, `[${r.section.name}] is missing Parent`);
  return parent;
}

/** `Mode`, lower-cased, one of `modes`; `fallback` when absent. */
export function parseMode<M extends string>(r: SectionReader, modes: readonly M[], fallback: M): M {
  const modeEntry = r.entry('mode');
  const mode = modeEntry ? modeEntry.value.toLowerCase() : fallback;
  if (modeEntry && !(modes as readonly string[]).includes(mode)) r.fail(modeEntry.line, `Mode must be one of ${modes.join(', ')}: "${modeEntry.value}"`);
  return mode as M;
}

/** Namespace= is declared; on the host a link cannot be its own parent. */
export function validateStacked(l: StackedDecl, ctx: ValidateContext): void {
  ctx.checkNamespace(l, 'namespace', l.namespace);
  if (l.parent === l.name && l.namespace === undefined) ctx.fail(l, 'parent', `${l.name} cannot be its own Parent`);
}

/** The one link, created on the host (under a temporary name when it moves), needing its parent there. */
export function deriveStacked<S extends CreateSpecBase>(l: StackedDecl, ctx: DeriveContext, spec: S, details: LinkDetails): DerivedLink<S>[] {
  ctx.needOnHost(l.parent, `Parent of ${ctx.origin}`);
  return [{ addresses: addressList(l.address), ...optional('netns', l.namespace), name: l.name, hostName: ctx.hostNameFor(l.namespace, l.name), spec, ...optional('mtu', l.mtu), details }];
}
