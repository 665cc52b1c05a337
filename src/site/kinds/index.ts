/**
 * The registry of site link kinds: the only list of them. parse, validate, desired, plan, actions, memory and
 * netlink-system look a kind up here and read its descriptor (kind.ts); none of them names a kind
 * (test/site/kinds.test.ts checks). Adding a kind: its descriptor file beside these, one entry in LINK_KINDS, and
 * its codec in src/netlink/link-kinds.ts when the kernel needs new attributes (docs/sites.md).
 */
import { bridge } from './bridge.js';
import { geneve } from './geneve.js';
import { ipvlan } from './ipvlan.js';
import type { CreateSpecBase, LinkDeclBase, LinkKind } from './kind.js';
import { macvlan } from './macvlan.js';
import { tap } from './tap.js';
import { veth } from './veth.js';
import { vlan } from './vlan.js';
import { vxlan } from './vxlan.js';

/** Every kind a site file can declare, in the order the documentation lists them. */
export const LINK_KINDS = [bridge, vxlan, geneve, tap, veth, macvlan, ipvlan, vlan] as const;

type Registered = (typeof LINK_KINDS)[number];
/** A parsed link declaration of any registered kind. */
export type LinkDecl = Registered extends infer K ? (K extends LinkKind<infer D, CreateSpecBase> ? D : never) : never;
/** A create spec of any registered kind. */
export type CreateSpec = Registered extends infer K ? (K extends LinkKind<LinkDeclBase, infer S> ? S : never) : never;
/** A registered kind's name ('bridge', 'vxlan', ...). */
export type LinkKindName = LinkDecl['kind'];
/** A descriptor with its declaration and spec types erased, as the generic stages hold it. */
export type AnyLinkKind = LinkKind<LinkDecl, CreateSpec>;

const byName = new Map<string, AnyLinkKind>(LINK_KINDS.map((k) => [k.kind, k as AnyLinkKind]));
const bySection = new Map<string, AnyLinkKind>(LINK_KINDS.map((k) => [k.label.toLowerCase(), k as AnyLinkKind]));
const byKernelKind = new Map<string, AnyLinkKind>(LINK_KINDS.map((k) => [k.kernelKind, k as AnyLinkKind]));

/** The descriptor of a registered kind; throws for a name the registry does not hold (a programming error). */
export function linkKind(kind: string): AnyLinkKind {
  const k = byName.get(kind);
  if (!k) throw new Error(`unknown link kind ${JSON.stringify(kind)}`);
  return k;
}

/** The kind a site-file section declares (its name lower-cased), or undefined: not a link section. */
export function kindOfSection(section: string): AnyLinkKind | undefined {
  return bySection.get(section);
}

/** The kind whose links the kernel reports with this IFLA_INFO_KIND ('tun' is a tap), or undefined. */
export function kindOfKernelKind(kernelKind: string | undefined): AnyLinkKind | undefined {
  return kernelKind === undefined ? undefined : byKernelKind.get(kernelKind);
}
