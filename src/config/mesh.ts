/**
 * The [Mesh] section of a wg-quick file (tunvpn's own; wg-quick and `wg` never see it): its model and its parser.
 * parse.ts splits the file into sections and hands this parser the section's entries; it gets back either the
 * settings or every problem, each with the line it concerns, printed as FILE:LINE. The mesh itself (src/mesh/)
 * reads the settings and never the text.
 *
 * ```
 * [Mesh]
 * Etcd = http://10.40.0.1:2379, http://10.40.0.2:2379   # required; repeatable; all http or all https
 * Name = site-a                        # default: the host name (see mesh/self.ts)
 * Endpoint = 10.40.0.11:51820          # default: source address towards etcd, ListenPort (mesh/self.ts)
 * AllowedIPs = 10.50.0.11/32           # repeatable; default: the interface's Address entries as host routes
 * Prefix = /tunvpn/                    # default /tunvpn/
 * TTL = 10                             # lease seconds, 2..3600, default 10
 * PersistentKeepalive = 25             # given to every mesh peer; 0/off (default) = none
 * EtcdCA = /etc/tunvpn/etcd-ca.pem     # TLS: absolute paths; EtcdCert and EtcdKey go together
 * EtcdUser = tunvpn                    # etcd password auth: EtcdUser and EtcdPasswordFile go together
 * EtcdPasswordFile = /etc/tunvpn/etcd.pass
 * ```
 *
 * Keys are case-insensitive (as in wg-quick). Values are parsed here and only here: consumers never re-read text.
 */
import { MAX_PORT } from '../net/endpoint.js';
import { formatPrefix, parseIp, type Prefix } from '../net/ip.js';
import {
  allowedIpValue,
  BadValue,
  endpointValue,
  integerValue,
  isHostname,
  listItems,
  persistentKeepaliveValue,
  quote,
} from './values.js';
import { nearest } from './suggest.js';

/** The default key prefix under which members register. */
export const DEFAULT_MESH_PREFIX = '/tunvpn/';
/** Default lease TTL in seconds. */
export const DEFAULT_MESH_TTL_S = 10;
/**
 * Smallest lease TTL accepted, in seconds. etcd raises any shorter TTL to its minimum lease TTL, which with the
 * default election timeout (1000 ms, 10 ticks of 100 ms) is ceil(1.5 × 1000 ms) = 2 s (etcd server: lessor
 * minLeaseTTL = 3/2 × election ticks × heartbeat interval).
 */
export const MIN_MESH_TTL_S = 2;
/** Largest lease TTL accepted, in seconds: a crashed member lingers this long, so an hour is plenty. */
export const MAX_MESH_TTL_S = 3600;
/** Longest Prefix accepted, in characters. */
export const MAX_MESH_PREFIX_LENGTH = 256;
/** Longest Name accepted (a DNS name's limit, RFC 1035 §2.3.4). */
export const MAX_MESH_NAME_LENGTH = 253;

export interface MeshEntry {
  key: string;
  value: string;
  /** 1-based line of the entry in its file. */
  line: number;
}

export interface MeshProblem {
  line: number;
  message: string;
}

/** One etcd client URL, normalised to `scheme://host:port` (IPv6 hosts in brackets). */
export interface EtcdEndpoint {
  scheme: 'http' | 'https';
  /** IPv4/IPv6 literal (no brackets) or host name. */
  host: string;
  port: number;
  /** `scheme://host:port`, the form the etcd client takes. */
  url: string;
}

export interface MeshSettings {
  /** At least one; all the same scheme; no duplicates. */
  etcd: EtcdEndpoint[];
  /** This member's name; absent → the host name (mesh/self.ts). DNS-name-like: labels of [A-Za-z0-9-], ≤ 253 chars. */
  name?: string;
  /** How the others reach us; absent → source address towards etcd and ListenPort (mesh/self.ts). Host as written. */
  endpoint?: { host: string; port: number };
  /** What we route into the mesh, host bits cleared, without duplicates; absent → Address entries as /32, /128. */
  allowedIPs?: Prefix[];
  /** Key prefix: starts and ends with '/'. Members live under `${prefix}members/` (mesh/member.ts). */
  prefix: string;
  /** Lease TTL, seconds, MIN_MESH_TTL_S..MAX_MESH_TTL_S. */
  ttl: number;
  /** Seconds, 1..65535, given to every mesh peer; absent = off. */
  persistentKeepalive?: number;
  /** TLS towards etcd: absolute file paths (PEM). Present only when one of the keys was given. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** etcd password authentication; the password is read from `passwordFile` when connecting. */
  auth?: { user: string; passwordFile: string };
}

export type MeshSettingsResult =
  | { ok: true; settings: MeshSettings; warnings: MeshProblem[] }
  | { ok: false; errors: MeshProblem[]; warnings: MeshProblem[] };

/** Canonical spelling of every [Mesh] key. */
export const MESH_KEYS = [
  'Etcd',
  'Name',
  'Endpoint',
  'AllowedIPs',
  'Prefix',
  'TTL',
  'PersistentKeepalive',
  'EtcdCA',
  'EtcdCert',
  'EtcdKey',
  'EtcdUser',
  'EtcdPasswordFile',
] as const;
type MeshKey = (typeof MESH_KEYS)[number];

/** Keys whose repetitions accumulate (as wg-quick's AllowedIPs); every other key may appear once. */
const REPEATABLE: ReadonlySet<MeshKey> = new Set<MeshKey>(['Etcd', 'AllowedIPs']);

const DECIMAL_PORT = /^[0-9]+$/;
const PREFIX_CHARS = /^[A-Za-z0-9._\-/]+$/;
const USER_CHARS = /^[\x21-\x7e]+$/;

/**
 * Parses the entries of one [Mesh] section. Never throws on bad input: every problem is returned with its line.
 * `sectionLine` is the line of the "[Mesh]" header, used for problems of the section as a whole (missing Etcd,
 * keys that must come in pairs).
 */
export function parseMeshSection(entries: readonly MeshEntry[], sectionLine = 0): MeshSettingsResult {
  const errors: MeshProblem[] = [];
  const warnings: MeshProblem[] = [];
  const seen = new Map<string, number>();
  const lineOf = new Map<MeshKey, number>();
  const etcd: EtcdEndpoint[] = [];
  const allowedIPs: Prefix[] = [];
  const allowedLines: number[] = [];
  let sawAllowedIPs = false;
  const out: Partial<MeshSettings> = {};
  const tls: { ca?: string; cert?: string; key?: string } = {};
  let user: string | undefined;
  let passwordFile: string | undefined;

  const attempt = <T>(line: number, parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (e) {
      if (e instanceof BadValue) {
        errors.push({ line, message: e.message });
        return undefined;
      }
      throw e;
    }
  };

  for (const entry of entries) {
    const { line } = entry;
    const value = entry.value.trim();
    const key = MESH_KEYS.find((k) => k.toLowerCase() === entry.key.trim().toLowerCase());
    if (!key) {
      const near = nearest(entry.key.trim(), MESH_KEYS);
      errors.push({ line, message: `unknown key ${JSON.stringify(entry.key)} in [Mesh]${near ? `; did you mean ${near}?` : ''}` });
      continue;
    }
    const first = seen.get(key);
    if (first !== undefined && !REPEATABLE.has(key)) {
      errors.push({ line, message: `${key} is set twice in [Mesh] (first at line ${first})` });
      continue;
    }
    if (first === undefined) seen.set(key, line);
    lineOf.set(key, line);
    if (value === '') {
      errors.push({ line, message: `${key} has no value` });
      continue;
    }
    switch (key) {
      case 'Etcd':
        for (const item of listItems(value)) {
          const ep = attempt(line, () => etcdUrlValue(item));
          if (!ep) continue;
          if (etcd.some((e) => e.url === ep.url)) {
            warnings.push({ line, message: `Etcd ${ep.url} is listed twice` });
            continue;
          }
          etcd.push(ep);
        }
        break;
      case 'Name': {
        const name = attempt(line, () => meshNameValue(value));
        if (name !== undefined) out.name = name;
        break;
      }
      case 'Endpoint': {
        const ep = attempt(line, () => endpointValue(value));
        if (ep) out.endpoint = ep;
        break;
      }
      case 'AllowedIPs':
        sawAllowedIPs = true;
        for (const item of listItems(value)) {
          const value = attempt(line, () => allowedIpValue(item));
          if (!value) continue;
          const { prefix, masked } = value;
          const text = formatPrefix(prefix);
          if (prefix.bits === 0) {
            errors.push({ line, message: `AllowedIPs ${text}: a mesh member may not claim a default route (the others refuse it)` });
            continue;
          }
          if (masked) warnings.push({ line, message: `AllowedIPs ${item} has host bits set; using ${text}` });
          const dup = allowedIPs.findIndex((p) => formatPrefix(p) === text);
          if (dup >= 0) {
            warnings.push({ line, message: `AllowedIPs ${text} is listed twice (also at line ${allowedLines[dup]})` });
            continue;
          }
          allowedIPs.push(prefix);
          allowedLines.push(line);
        }
        break;
      case 'Prefix': {
        const prefix = attempt(line, () => keyPrefixValue(value));
        if (prefix !== undefined) out.prefix = prefix;
        break;
      }
      case 'TTL': {
        const ttl = attempt(line, () => integerValue('TTL', value, MIN_MESH_TTL_S, MAX_MESH_TTL_S, `${MIN_MESH_TTL_S}..${MAX_MESH_TTL_S} seconds`));
        if (ttl !== undefined) out.ttl = ttl;
        break;
      }
      case 'PersistentKeepalive': {
        const seconds = attempt(line, () => persistentKeepaliveValue(value));
        if (seconds !== undefined) out.persistentKeepalive = seconds;
        break;
      }
      case 'EtcdCA':
      case 'EtcdCert':
      case 'EtcdKey': {
        const path = attempt(line, () => absolutePathValue(key, value));
        if (path === undefined) break;
        if (key === 'EtcdCA') tls.ca = path;
        else if (key === 'EtcdCert') tls.cert = path;
        else tls.key = path;
        break;
      }
      case 'EtcdUser':
        if (!USER_CHARS.test(value)) errors.push({ line, message: 'EtcdUser must be printable characters without spaces' });
        else user = value;
        break;
      case 'EtcdPasswordFile': {
        const path = attempt(line, () => absolutePathValue(key, value));
        if (path !== undefined) passwordFile = path;
        break;
      }
    }
  }

  // Checks across keys.
  if (!seen.has('Etcd')) errors.push({ line: sectionLine, message: '[Mesh] has no Etcd (the etcd client URLs are required)' });
  const schemes = new Set(etcd.map((e) => e.scheme));
  if (schemes.size > 1) {
    errors.push({ line: lineOf.get('Etcd') ?? sectionLine, message: 'Etcd URLs mix http:// and https://; use one scheme for every member' });
  }
  const wantsTls = tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined;
  if (wantsTls && schemes.has('http')) {
    const first = (['EtcdCA', 'EtcdCert', 'EtcdKey'] as const).find((k) => lineOf.has(k))!;
    errors.push({ line: lineOf.get(first)!, message: `${first} needs https:// Etcd URLs` });
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    const given = tls.cert !== undefined ? 'EtcdCert' : 'EtcdKey';
    const missing = given === 'EtcdCert' ? 'EtcdKey' : 'EtcdCert';
    errors.push({ line: lineOf.get(given)!, message: `${given} needs ${missing} too (a client certificate and its key)` });
  }
  const hadUser = seen.has('EtcdUser');
  const hadPassword = seen.has('EtcdPasswordFile');
  if (hadUser !== hadPassword) {
    const given = hadUser ? 'EtcdUser' : 'EtcdPasswordFile';
    const missing = hadUser ? 'EtcdPasswordFile' : 'EtcdUser';
    errors.push({ line: lineOf.get(given)!, message: `${given} needs ${missing} too (etcd password authentication)` });
  }
  if (sawAllowedIPs && allowedIPs.length === 0 && !errors.some((e) => e.line === lineOf.get('AllowedIPs'))) {
    errors.push({ line: lineOf.get('AllowedIPs')!, message: 'AllowedIPs lists no prefix' });
  }

  if (errors.length > 0) return { ok: false, errors: sortProblems(errors), warnings: sortProblems(warnings) };
  const settings: MeshSettings = {
    etcd,
    prefix: out.prefix ?? DEFAULT_MESH_PREFIX,
    ttl: out.ttl ?? DEFAULT_MESH_TTL_S,
  };
  if (out.name !== undefined) settings.name = out.name;
  if (out.endpoint) settings.endpoint = out.endpoint;
  if (allowedIPs.length > 0) settings.allowedIPs = allowedIPs;
  if (out.persistentKeepalive !== undefined) settings.persistentKeepalive = out.persistentKeepalive;
  if (wantsTls) settings.tls = tls;
  if (user !== undefined && passwordFile !== undefined) settings.auth = { user, passwordFile };
  return { ok: true, settings, warnings: sortProblems(warnings) };
}

function sortProblems(list: MeshProblem[]): MeshProblem[] {
  return [...list].sort((a, b) => a.line - b.line);
}

/**
 * One etcd client URL: `http://HOST:PORT` or `https://HOST:PORT`, HOST an IPv4 literal, `[IPv6]` or a host name,
 * PORT 1..65535 (required: etcd's client port is conventionally 2379, but we do not guess). A trailing '/' is
 * accepted; paths, queries, fragments and user info are not (etcd's gRPC endpoint has none). Throws BadValue.
 */
export function etcdUrlValue(text: string): EtcdEndpoint {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(text);
  if (!m) throw new BadValue(`Etcd ${quote(text)} is not a URL: expected http://host:port or https://host:port`);
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') {
    throw new BadValue(`Etcd ${quote(text)}: scheme must be http or https, got ${quote(m[1]!)}`);
  }
  let rest = m[2]!;
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (/[/?#@]/.test(rest)) {
    throw new BadValue(`Etcd ${quote(text)}: only scheme://host:port is accepted (no path, query or user info)`);
  }
  let host: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new BadValue(`Etcd ${quote(text)} has '[' without ']'`);
    host = rest.slice(1, close);
    const addr = parseIp(host);
    if (!addr || addr.family !== 6) throw new BadValue(`Etcd ${quote(text)}: ${quote(host)} is not an IPv6 address`);
    if (rest[close + 1] !== ':') throw new BadValue(`Etcd ${quote(text)} needs a port: ${scheme}://[address]:port`);
    portText = rest.slice(close + 2);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon < 0) throw new BadValue(`Etcd ${quote(text)} needs a port: ${scheme}://host:port`);
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (host.includes(':')) throw new BadValue(`Etcd ${quote(text)}: put an IPv6 address in brackets, as in ${scheme}://[fd00::1]:2379`);
    if (host === '') throw new BadValue(`Etcd ${quote(text)} has no host`);
    const addr = parseIp(host);
    if (/^[0-9.]+$/.test(host) && !addr) throw new BadValue(`Etcd ${quote(text)}: ${quote(host)} is not an IPv4 address`);
    if (!addr && !isHostname(host)) throw new BadValue(`Etcd ${quote(text)}: ${quote(host)} is not an IP address or host name`);
  }
  if (!DECIMAL_PORT.test(portText)) throw new BadValue(`Etcd ${quote(text)}: port must be a number 1..${MAX_PORT}`);
  const port = integerValue('Etcd port', portText, 1, MAX_PORT);
  const hostPart = host.includes(':') ? `[${host}]` : host.toLowerCase();
  return { scheme, host: host.includes(':') ? host : host.toLowerCase(), port, url: `${scheme}://${hostPart}:${port}` };
}

/** Whether `text` is a valid member Name: a DNS-name-like string (labels of letters, digits, '-'; ≤ 253). */
export function isMeshName(text: string): boolean {
  return text.length <= MAX_MESH_NAME_LENGTH && !text.endsWith('.') && isHostname(text);
}

/** Name: a DNS-name-like member name; throws BadValue. */
export function meshNameValue(text: string): string {
  if (!isMeshName(text)) {
    throw new BadValue(
      `Name ${quote(text)} must be a host-name-like word: letters, digits and '-' in dot-separated labels of 1..63, at most ${MAX_MESH_NAME_LENGTH} characters`,
    );
  }
  return text;
}

/**
 * Prefix: the etcd key prefix, starting and ending with '/', made of letters, digits, '.', '_', '-' and '/',
 * without empty path elements ('//') or '.'/'..' elements, at most 256 characters. Throws BadValue.
 */
export function keyPrefixValue(text: string): string {
  if (!text.startsWith('/') || !text.endsWith('/') || text.length < 2) {
    throw new BadValue(`Prefix ${quote(text)} must start and end with '/', as in ${DEFAULT_MESH_PREFIX}`);
  }
  if (text.length > MAX_MESH_PREFIX_LENGTH) throw new BadValue(`Prefix is longer than ${MAX_MESH_PREFIX_LENGTH} characters`);
  if (!PREFIX_CHARS.test(text)) throw new BadValue(`Prefix ${quote(text)} may only contain letters, digits, '.', '_', '-' and '/'`);
  const parts = text.slice(1, -1).split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new BadValue(`Prefix ${quote(text)} has an empty, '.' or '..' element`);
  }
  return text;
}

function absolutePathValue(name: string, text: string): string {
  if (!text.startsWith('/')) throw new BadValue(`${name} must be an absolute path, got ${quote(text)}`);
  if (text.includes('\0')) throw new BadValue(`${name} contains a NUL character`);
  return text;
}
