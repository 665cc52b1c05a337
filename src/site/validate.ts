/**
 * Cross-reference checks over a parsed site: unique names per namespace (including derived veth names), bridges
 * and namespaces that are referenced must be declared, and a few combinations the kernel would reject. Where a
 * kind's interfaces are (`ends`) and its own checks (`validate`) come from its descriptor (kinds/).
 */
import { SiteConfigError } from './errors.js';
import { linkKind, type LinkDecl } from './kinds/index.js';
import type { LinkDeclBase, ValidateContext } from './kinds/kind.js';
import type { NamespaceDecl, Site } from './model.js';
import { NAMESPACE_IFNAME, vethHostName } from './names.js';

type AnyDecl = LinkDecl | NamespaceDecl;
/** Line of `key` in the declaration's section, or of its header when the key is absent. */
export type LineOf = (decl: AnyDecl, key: string) => number;

interface Placement {
  netns: string | undefined;
  name: string;
  decl: AnyDecl;
  key: string;
  derived: boolean;
}

function placements(site: Site): Placement[] {
  const out: Placement[] = [];
  for (const l of site.links) {
    for (const end of linkKind(l.kind).ends(l)) out.push({ ...end, decl: l, derived: false });
  }
  for (const ns of site.namespaces) {
    if (!ns.bridge) continue;
    out.push({ netns: undefined, name: vethHostName(ns.name), decl: ns, key: 'name', derived: true });
    out.push({ netns: ns.name, name: NAMESPACE_IFNAME, decl: ns, key: 'name', derived: true });
  }
  return out;
}

/** Throws SiteConfigError at the first problem, pointing at the line `lineOf` gives for the offending key. */
export function validateSite(site: Site, lineOf: LineOf): void {
  const fail = (decl: AnyDecl, key: string, message: string): never => {
    throw new SiteConfigError(site.file, lineOf(decl, key), message);
  };

  const nsByName = new Map<string, NamespaceDecl>();
  for (const ns of site.namespaces) {
    const first = nsByName.get(ns.name);
    if (first) fail(ns, 'name', `duplicate namespace name "${ns.name}" (first at line ${lineOf(first, 'name')})`);
    nsByName.set(ns.name, ns);
  }
  const bridges = new Set(site.links.filter((l) => linkKind(l.kind).isBridge).map((l) => l.name));

  // Unique names per namespace. Sorted by line so the error lands on the later declaration.
  const seen = new Map<string, Placement>();
  const all = placements(site).sort((a, b) => lineOf(a.decl, a.key) - lineOf(b.decl, b.key));
  for (const p of all) {
    const id = `${p.netns ?? ''}\u0000${p.name}`;
    const first = seen.get(id);
    if (first) {
      const where = p.netns ? `namespace ${p.netns}` : 'the host';
      const how = (q: Placement) => (q.derived ? ` (derived from [Namespace] ${q.decl.name})` : '');
      fail(p.decl, p.key, `duplicate interface name "${p.name}"${how(p)} in ${where} (first at line ${lineOf(first.decl, first.key)}${how(first)})`);
    }
    seen.set(id, p);
  }

  const checkBridge = (decl: AnyDecl, bridge: string | undefined) => {
    if (bridge !== undefined && !bridges.has(bridge)) fail(decl, 'bridge', `Bridge "${bridge}" is not declared in a [Bridge] section`);
  };
  const claims = new Map<string, LinkDeclBase>();
  const ctx: ValidateContext = {
    fail: (decl, key, message) => fail(decl as LinkDecl, key, message),
    checkBridge: (decl, bridge) => checkBridge(decl as LinkDecl, bridge),
    checkNamespace: (decl, key, ns) => {
      if (ns !== undefined && !nsByName.has(ns)) fail(decl as LinkDecl, key, `namespace "${ns}" is not declared in a [Namespace] section`);
    },
    claim: (id, decl, key, message) => {
      const first = claims.get(id);
      if (first) fail(decl as LinkDecl, key, message(first));
      claims.set(id, decl);
    },
  };
  for (const l of site.links) linkKind(l.kind).validate?.(l, ctx);
  for (const ns of site.namespaces) checkBridge(ns, ns.bridge);
}
