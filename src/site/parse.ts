/**
 * Site file → validated `Site`. Section and key names are case-insensitive; every error names the line it is
 * about (`FILE:LINE: message`). Cross-references are checked here: a Bridge= must name a declared [Bridge], a
 * Namespace= a declared [Namespace]; a Parent= or Dev= may name a declared host link or, when undeclared, a link
 * that must exist on the host when the site is applied (checked then, with a clear error).
 */
import { parseIp, parsePrefix, prefixMatches, type IpAddress, type Prefix } from '../net/ip.js';
import { SiteConfigError } from './errors.js';
import { tokenizeIni, type IniEntry, type IniSection } from './ini.js';
import {
  GENEVE_DEFAULT_PORT,
  IPVLAN_MODES,
  MACVLAN_MODES,
  MTU_MAX,
  MTU_MIN,
  VLAN_ID_MAX,
  VLAN_ID_MIN,
  VNI_MAX,
  VXLAN_DEFAULT_PORT,
  type IpvlanMode,
  type LinkDecl,
  type MacvlanMode,
  type NamespaceDecl,
  type Site,
} from './model.js';
import { ifnameProblem, netnsNameProblem } from './names.js';
import { validateSite } from './validate.js';
import { MAX_PORT } from '../net/endpoint.js';


/** Allowed keys per section (lower case). `Remote` in [Vxlan] may repeat; no other key may. */
const SECTION_KEYS: Record<string, readonly string[]> = {
  bridge: ['name', 'address', 'mtu'],
  vxlan: ['name', 'id', 'local', 'remote', 'dstport', 'bridge', 'dev', 'address', 'mtu'],
  geneve: ['name', 'id', 'remote', 'dstport', 'bridge', 'address', 'mtu'],
  tap: ['name', 'bridge', 'address', 'mtu'],
  namespace: ['name', 'bridge', 'address', 'gateway', 'mtu'],
  veth: ['name', 'peer', 'namespace', 'peernamespace', 'address', 'peeraddress', 'bridge', 'mtu'],
  macvlan: ['name', 'parent', 'mode', 'namespace', 'address', 'mtu'],
  ipvlan: ['name', 'parent', 'mode', 'namespace', 'address', 'mtu'],
  vlan: ['name', 'parent', 'id', 'namespace', 'address', 'mtu'],
};
const REPEATABLE = new Set(['vxlan.remote']);

export interface ParseSiteOptions {
  /**
   * Prepended to every namespace name (declarations and references), e.g. a per-run tag in tests, so one site
   * file can be brought up several times side by side.
   */
  namespacePrefix?: string;
}

/** Typed access to one section's entries, each error pointing at the offending line. */
class SectionReader {
  private readonly byKey = new Map<string, IniEntry[]>();

  constructor(
    readonly file: string,
    readonly section: IniSection,
    readonly kind: string,
  ) {
    const allowed = SECTION_KEYS[kind]!;
    for (const e of section.entries) {
      const key = e.key.toLowerCase();
      if (!allowed.includes(key)) this.fail(e.line, `unknown key "${e.key}" in [${section.name}]`);
      const list = this.byKey.get(key) ?? [];
      if (list.length > 0 && !REPEATABLE.has(`${kind}.${key}`)) {
        this.fail(e.line, `duplicate key "${e.key}" in [${section.name}] (first at line ${list[0]!.line})`);
      }
      list.push(e);
      this.byKey.set(key, list);
    }
  }

  fail(line: number, message: string): never {
    throw new SiteConfigError(this.file, line, message);
  }

  entry(key: string): IniEntry | undefined {
    return this.byKey.get(key)?.[0];
  }

  all(key: string): IniEntry[] {
    return this.byKey.get(key) ?? [];
  }

  lineOf(key: string): number {
    return this.entry(key)?.line ?? this.section.line;
  }

  name(): string {
    const e = this.entry('name');
    if (!e) this.fail(this.section.line, `[${this.section.name}] is missing Name`);
    const problem = ifnameProblem(e.value);
    if (problem) this.fail(e.line, problem);
    return e.value;
  }

  ifname(key: string): string | undefined {
    const e = this.entry(key);
    if (!e) return undefined;
    const problem = ifnameProblem(e.value);
    if (problem) this.fail(e.line, problem);
    return e.value;
  }

  required(key: string, label: string): IniEntry {
    const e = this.entry(key);
    if (!e) this.fail(this.section.line, `[${this.section.name}] is missing ${label}`);
    return e;
  }

  int(key: string, label: string, min: number, max: number): number | undefined {
    const e = this.entry(key);
    if (!e) return undefined;
    if (!/^[0-9]{1,10}$/.test(e.value)) this.fail(e.line, `${label} must be a decimal integer, got "${e.value}"`);
    const n = Number(e.value);
    if (n < min || n > max) this.fail(e.line, `${label} ${n} out of range (${min}..${max})`);
    return n;
  }

  prefix(key: string, label: string): Prefix | undefined {
    const e = this.entry(key);
    if (!e) return undefined;
    if (!e.value.includes('/')) this.fail(e.line, `${label} needs a prefix length, e.g. 192.168.50.1/24: "${e.value}"`);
    const p = parsePrefix(e.value);
    if (!p) this.fail(e.line, `bad address "${e.value}"`);
    return p;
  }

  ip(entry: IniEntry | undefined, text = entry?.value): IpAddress | undefined {
    if (!entry || text === undefined) return undefined;
    const a = parseIp(text);
    if (!a) this.fail(entry.line, `bad address "${text}"`);
    return a;
  }

  mtu(): number | undefined {
    return this.int('mtu', 'MTU', MTU_MIN, MTU_MAX);
  }
}

function parseNamespace(r: SectionReader, prefix: string): NamespaceDecl {
  const nameEntry = r.entry('name');
  if (!nameEntry) r.fail(r.section.line, `[${r.section.name}] is missing Name`);
  const name = prefix + nameEntry.value;
  const problem = netnsNameProblem(name);
  if (problem) r.fail(nameEntry.line, problem);
  const decl: NamespaceDecl = { kind: 'namespace', name, line: r.section.line };
  const bridge = r.ifname('bridge');
  if (bridge !== undefined) decl.bridge = bridge;
  const address = r.prefix('address', 'Address');
  if (address) decl.address = address;
  const gateway = r.ip(r.entry('gateway'));
  if (gateway) decl.gateway = gateway;
  const mtu = r.mtu();
  if (mtu !== undefined) decl.mtu = mtu;
  if (decl.address && !decl.bridge) r.fail(r.lineOf('address'), 'Address needs Bridge (the namespace has no interface otherwise)');
  if (decl.mtu !== undefined && !decl.bridge) r.fail(r.lineOf('mtu'), 'MTU needs Bridge (the namespace has no interface otherwise)');
  if (decl.gateway) {
    const gwLine = r.lineOf('gateway');
    if (!decl.address) r.fail(gwLine, 'Gateway needs Address');
    if (decl.gateway.family !== decl.address.family) r.fail(gwLine, 'Gateway and Address are of different IP families');
    if (!prefixMatches(decl.address, decl.gateway.bytes)) r.fail(gwLine, 'Gateway is not inside the Address prefix');
  }
  return decl;
}

function namespaceRef(r: SectionReader, key: string, prefix: string): string | undefined {
  const e = r.entry(key);
  return e ? prefix + e.value : undefined;
}

function parseLink(r: SectionReader, prefix: string): LinkDecl {
  const name = r.name();
  const line = r.section.line;
  const common = {
    name,
    line,
    ...optional('address', r.prefix('address', 'Address')),
    ...optional('mtu', r.mtu()),
  };
  switch (r.kind) {
    case 'bridge':
      return { kind: 'bridge', ...common };
    case 'tap':
      return { kind: 'tap', ...common, ...optional('bridge', r.ifname('bridge')) };
    case 'vxlan': {
      const id = r.int('id', 'Id', 0, VNI_MAX);
      if (id === undefined) r.fail(line, `[${r.section.name}] is missing Id`);
      const local = r.ip(r.entry('local'));
      const remotes: IpAddress[] = [];
      const meshEntry = r.all('remote').find((e) => e.value.trim().toLowerCase() === 'mesh');
      if (meshEntry) {
        const other = r.all('remote').find((e) => e !== meshEntry);
        if (other) r.fail(other.line, `Remote = mesh (line ${meshEntry.line}) takes no other Remote: the mesh's members are the remotes`);
        const dev = r.ifname('dev');
        if (dev === undefined) r.fail(meshEntry.line, 'Remote = mesh needs Dev = the tunvpn interface whose mesh it follows');
        if (!local) r.fail(meshEntry.line, "Remote = mesh needs Local = this node's VTEP address (a tunnel address it announces in the mesh)");
        return {
          kind: 'vxlan',
          ...common,
          id,
          remotes,
          mesh: true,
          dstPort: r.int('dstport', 'DstPort', 1, MAX_PORT) ?? VXLAN_DEFAULT_PORT,
          local,
          ...optional('bridge', r.ifname('bridge')),
          dev,
        };
      }
      for (const e of r.all('remote')) {
        for (const part of e.value.split(',')) {
          const text = part.trim();
          if (text === '') r.fail(e.line, 'empty address in Remote list');
          const remote = r.ip(e, text)!;
          if (local && remote.family !== local.family) r.fail(e.line, `Remote ${text} and Local are of different IP families`);
          if (remotes[0] && remote.family !== remotes[0].family) r.fail(e.line, 'Remote addresses of mixed IP families');
          if (remotes.some((x) => x.bytes.every((b, i) => b === remote.bytes[i]) && x.family === remote.family)) {
            r.fail(e.line, `duplicate Remote ${text}`);
          }
          remotes.push(remote);
        }
      }
      return {
        kind: 'vxlan',
        ...common,
        id,
        remotes,
        dstPort: r.int('dstport', 'DstPort', 1, MAX_PORT) ?? VXLAN_DEFAULT_PORT,
        ...optional('local', local),
        ...optional('bridge', r.ifname('bridge')),
        ...optional('dev', r.ifname('dev')),
      };
    }
    case 'geneve': {
      const id = r.int('id', 'Id', 0, VNI_MAX);
      if (id === undefined) r.fail(line, `[${r.section.name}] is missing Id`);
      const remote = r.ip(r.required('remote', 'Remote'))!;
      return {
        kind: 'geneve',
        ...common,
        id,
        remote,
        dstPort: r.int('dstport', 'DstPort', 1, MAX_PORT) ?? GENEVE_DEFAULT_PORT,
        ...optional('bridge', r.ifname('bridge')),
      };
    }
    case 'veth': {
      const peer = r.ifname('peer');
      if (peer === undefined) r.fail(line, `[${r.section.name}] is missing Peer`);
      return {
        kind: 'veth',
        ...common,
        peer,
        ...optional('namespace', namespaceRef(r, 'namespace', prefix)),
        ...optional('peerNamespace', namespaceRef(r, 'peernamespace', prefix)),
        ...optional('peerAddress', r.prefix('peeraddress', 'PeerAddress')),
        ...optional('bridge', r.ifname('bridge')),
      };
    }
    case 'macvlan':
    case 'ipvlan': {
      const parent = r.ifname('parent');
      if (parent === undefined) r.fail(line, `[${r.section.name}] is missing Parent`);
      const modes: readonly string[] = r.kind === 'macvlan' ? MACVLAN_MODES : IPVLAN_MODES;
      const modeEntry = r.entry('mode');
      const mode = modeEntry ? modeEntry.value.toLowerCase() : modes === MACVLAN_MODES ? 'bridge' : 'l2';
      if (modeEntry && !modes.includes(mode)) r.fail(modeEntry.line, `Mode must be one of ${modes.join(', ')}: "${modeEntry.value}"`);
      const ns = optional('namespace', namespaceRef(r, 'namespace', prefix));
      return r.kind === 'macvlan'
        ? { kind: 'macvlan', ...common, parent, mode: mode as MacvlanMode, ...ns }
        : { kind: 'ipvlan', ...common, parent, mode: mode as IpvlanMode, ...ns };
    }
    case 'vlan': {
      const parent = r.ifname('parent');
      if (parent === undefined) r.fail(line, `[${r.section.name}] is missing Parent`);
      const id = r.int('id', 'Id', VLAN_ID_MIN, VLAN_ID_MAX);
      if (id === undefined) r.fail(line, `[${r.section.name}] is missing Id`);
      return { kind: 'vlan', ...common, parent, id, ...optional('namespace', namespaceRef(r, 'namespace', prefix)) };
    }
  }
  throw new Error(`unreachable section kind ${r.kind}`);
}

/** `{ [key]: value }` when value is defined, `{}` otherwise: keeps optional fields absent rather than undefined. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

export function parseSite(text: string, file: string, options: ParseSiteOptions = {}): Site {
  const prefix = options.namespacePrefix ?? '';
  const site: Site = { file, namespaces: [], links: [] };
  const lineOfKey = new Map<object, (key: string) => number>();
  for (const section of tokenizeIni(text, file)) {
    const kind = section.name.toLowerCase();
    if (!(kind in SECTION_KEYS)) throw new SiteConfigError(file, section.line, `unknown section [${section.name}]`);
    const r = new SectionReader(file, section, kind);
    const decl = kind === 'namespace' ? parseNamespace(r, prefix) : parseLink(r, prefix);
    lineOfKey.set(decl, (key) => r.lineOf(key));
    if (decl.kind === 'namespace') site.namespaces.push(decl);
    else site.links.push(decl);
  }
  validateSite(site, (decl, key) => lineOfKey.get(decl)?.(key) ?? decl.line);
  return site;
}
