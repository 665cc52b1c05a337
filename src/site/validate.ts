/**
 * Cross-reference checks over a parsed site: unique names per namespace (including derived veth names), bridges
 * and namespaces that are referenced must be declared, and a few combinations the kernel would reject.
 */
import { SiteConfigError } from './errors.js';
import type { LinkDecl, NamespaceDecl, Site } from './model.js';
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
    switch (l.kind) {
      case 'bridge':
      case 'vxlan':
      case 'geneve':
      case 'tap':
        out.push({ netns: undefined, name: l.name, decl: l, key: 'name', derived: false });
        break;
      case 'veth':
        out.push({ netns: l.namespace, name: l.name, decl: l, key: 'name', derived: false });
        out.push({ netns: l.peerNamespace, name: l.peer, decl: l, key: 'peer', derived: false });
        break;
      default:
        out.push({ netns: l.namespace, name: l.name, decl: l, key: 'name', derived: false });
    }
  }
  for (const ns of site.namespaces) {
    if (!ns.bridge) continue;
    out.push({ netns: undefined, name: vethHostName(ns.name), decl: ns, key: 'name', derived: true });
    out.push({ netns: ns.name, name: NAMESPACE_IFNAME, decl: ns, key: 'name', derived: true });
  }
  return out;
}

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
  const bridges = new Set(site.links.filter((l) => l.kind === 'bridge').map((l) => l.name));

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
  const checkNs = (decl: AnyDecl, key: string, ns: string | undefined) => {
    if (ns !== undefined && !nsByName.has(ns)) fail(decl, key, `namespace "${ns}" is not declared in a [Namespace] section`);
  };

  const vnis = new Map<string, LinkDecl>();
  for (const l of site.links) {
    switch (l.kind) {
      case 'bridge':
        break;
      case 'vxlan':
      case 'geneve': {
        checkBridge(l, l.bridge);
        if (l.kind === 'vxlan' && l.dev === l.name) fail(l, 'dev', `Dev cannot be the vxlan itself`);
        const id = `${l.kind}/${l.id}/${l.dstPort}`;
        const first = vnis.get(id);
        if (first) fail(l, 'id', `${l.kind} Id ${l.id} on port ${l.dstPort} is already used by ${first.name} (line ${first.line})`);
        vnis.set(id, l);
        break;
      }
      case 'tap':
        checkBridge(l, l.bridge);
        break;
      case 'veth':
        checkNs(l, 'namespace', l.namespace);
        checkNs(l, 'peernamespace', l.peerNamespace);
        checkBridge(l, l.bridge);
        if (l.bridge !== undefined && l.namespace !== undefined) fail(l, 'bridge', 'Bridge needs the Name end on the host (no Namespace)');
        break;
      default:
        checkNs(l, 'namespace', l.namespace);
        if (l.parent === l.name && l.namespace === undefined) fail(l, 'parent', `${l.name} cannot be its own Parent`);
    }
  }
  for (const ns of site.namespaces) checkBridge(ns, ns.bridge);
}
