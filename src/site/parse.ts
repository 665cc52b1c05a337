/**
 * Site file → validated `Site`. Section and key names are case-insensitive; every error names the line it is
 * about (`FILE:LINE: message`). A link section is read by its kind's descriptor (kinds/), which the section name
 * picks from the registry; [Namespace] is read here. Cross-references are checked here: a Bridge= must name a
 * declared [Bridge], a Namespace= a declared [Namespace]; a Parent= or Dev= may name a declared host link or, when
 * undeclared, a link that must exist on the host when the site is applied (checked then, with a clear error).
 */
import { prefixMatches } from '../net/ip.js';
import { SiteConfigError } from './errors.js';
import { tokenizeIni } from './ini.js';
import { kindOfSection, type LinkDecl } from './kinds/index.js';
import { optional, type CommonFields } from './kinds/kind.js';
import type { NamespaceDecl, Site } from './model.js';
import { netnsNameProblem } from './names.js';
import { SectionReader } from './section.js';
import { validateSite } from './validate.js';

/** The [Namespace] section's keys (lower case); link sections take theirs from their kind. */
const NAMESPACE_SECTION = 'namespace';
const NAMESPACE_KEYS = ['name', 'bridge', 'address', 'gateway', 'mtu'];

export interface ParseSiteOptions {
  /**
   * Prepended to every namespace name (declarations and references), e.g. a per-run tag in tests, so one site
   * file can be brought up several times side by side.
   */
  namespacePrefix?: string;
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

/** A link section: Name, Address and MTU first (their errors win), then the kind's own keys. */
function parseLink(r: SectionReader, kind: NonNullable<ReturnType<typeof kindOfSection>>, prefix: string): LinkDecl {
  const common: CommonFields = {
    name: r.name(),
    line: r.section.line,
    ...optional('address', r.prefix('address', 'Address')),
    ...optional('mtu', r.mtu()),
  };
  return kind.parse(r, common, {
    namespace: (key) => {
      const e = r.entry(key);
      return e ? prefix + e.value : undefined;
    },
  });
}

/** Parses and validates a site file; throws SiteConfigError (`FILE:LINE: message`) at the first problem. */
export function parseSite(text: string, file: string, options: ParseSiteOptions = {}): Site {
  const prefix = options.namespacePrefix ?? '';
  const site: Site = { file, namespaces: [], links: [] };
  const lineOfKey = new Map<object, (key: string) => number>();
  for (const section of tokenizeIni(text, file)) {
    const sectionName = section.name.toLowerCase();
    if (sectionName === NAMESPACE_SECTION) {
      const r = new SectionReader(file, section, NAMESPACE_KEYS);
      const decl = parseNamespace(r, prefix);
      lineOfKey.set(decl, (key) => r.lineOf(key));
      site.namespaces.push(decl);
      continue;
    }
    const kind = kindOfSection(sectionName);
    if (!kind) throw new SiteConfigError(file, section.line, `unknown section [${section.name}]`);
    const r = new SectionReader(file, section, kind.keys, kind.repeatable);
    const decl = parseLink(r, kind, prefix);
    lineOfKey.set(decl, (key) => r.lineOf(key));
    site.links.push(decl);
  }
  validateSite(site, (decl, key) => lineOfKey.get(decl)?.(key) ?? decl.line);
  return site;
}
