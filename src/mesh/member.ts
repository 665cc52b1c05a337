/**
 * The member record: what one node announces in etcd, and where.
 *
 * Key layout (identity is the key, the name is only inside the record):
 *
 *     ${prefix}members/${base64url(publicKey)}        e.g. /tunvpn/members/hPq3…Qw   (43 characters, no padding)
 *
 * Value: one JSON object, UTF-8, at most MAX_MEMBER_VALUE_BYTES:
 *
 *     {"version":1,"name":"site-a","publicKey":"<base64, 44 chars>","endpoint":"10.40.0.11:51820",
 *      "allowedIPs":["10.50.0.11/32","10.60.1.0/24"],"vtep":"10.50.0.11","registeredAt":1767225600}
 *
 * - `version` (required) is the schema version; a reader rejects any version it does not know. Version 1 is
 *   strict: unknown fields are rejected too, so an incompatible change must bump the version.
 * - `publicKey` (required) must equal the key's; `endpoint` (optional) is an IP literal and port ("[v6]:port"),
 *   never a host name (no member makes another resolve names it chose); `allowedIPs` (required, may be empty) are
 *   networks with host bits clear, no duplicates; `vtep` (optional) is the member's VXLAN tunnel endpoint address;
 *   `registeredAt` (optional) is the member's own wall clock (Unix seconds) when its lease was granted, shown as
 *   the lease age.
 *
 * Anything read from etcd is hostile until decodeMember says otherwise; it returns a reason and never throws.
 */
import { decodeKey, encodeKey, isZeroKey, KEY_BYTES, KeyFormatError } from '../crypto/keys.js';
import { formatIp, formatPrefix, networkOf, parseIp, parsePrefix, type IpAddress, type Prefix } from '../net/ip.js';
import { parseEndpoint } from '../net/endpoint.js';
import { isMeshName } from '../config/mesh.js';

export const MEMBER_SCHEMA_VERSION = 1;
/** Largest member value accepted, in bytes: far above a real record (256 IPv6 prefixes ≈ 12 KiB). */
export const MAX_MEMBER_VALUE_BYTES = 16 * 1024;
/** Most AllowedIPs one member may announce. */
export const MAX_MEMBER_ALLOWED_IPS = 256;
/** Path element under the prefix that holds member keys. */
export const MEMBERS_DIR = 'members/';
/** Latest registeredAt accepted: 2^40 Unix seconds is some 34,000 years away; anything past it is garbage. */
const MAX_REGISTERED_AT_S = 2 ** 40;
/** Characters of a 32-byte key in base64url without padding: ceil(256 / 6). */
const KEY_BASE64URL_LENGTH = 43;
const BASE64URL_KEY = /^[A-Za-z0-9_-]{43}$/;
const FIELDS: ReadonlySet<string> = new Set(['version', 'name', 'publicKey', 'endpoint', 'allowedIPs', 'vtep', 'registeredAt']);

/** A UDP endpoint as an address literal and a port. */
export interface MemberEndpoint {
  address: IpAddress;
  /** 1..65535. */
  port: number;
}

export interface MemberRecord {
  name: string;
  /** 32 bytes; equals the key's. */
  publicKey: Uint8Array;
  endpoint?: MemberEndpoint;
  /** Networks (host bits clear), no duplicates, in the member's order. */
  allowedIPs: Prefix[];
  vtep?: IpAddress;
  /** Unix seconds, the member's clock, when it was granted its lease. */
  registeredAt?: number;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** `${prefix}members/`: the range every member key lives in. */
export function membersPrefix(prefix: string): string {
  return `${prefix}${MEMBERS_DIR}`;
}

/** `${prefix}members/<base64url public key>`. Throws RangeError for a key that is not 32 bytes. */
export function memberKey(prefix: string, publicKey: Uint8Array): string {
  if (publicKey.length !== KEY_BYTES) throw new RangeError(`a public key is ${KEY_BYTES} bytes, got ${publicKey.length}`);
  return `${membersPrefix(prefix)}${Buffer.from(publicKey).toString('base64url')}`;
}

/**
 * The public key a member key names. `key` must start with `${prefix}members/`; what follows must be exactly the
 * canonical base64url spelling of 32 bytes (one spelling per key: the two padding bits of the last character
 * must be zero) and not all zeros.
 */
export function publicKeyOfMemberKey(prefix: string, key: string): Decoded<Uint8Array> {
  const dir = membersPrefix(prefix);
  if (!key.startsWith(dir)) return { ok: false, reason: `key is not under ${dir}` };
  const text = key.slice(dir.length);
  if (text.length !== KEY_BASE64URL_LENGTH || !BASE64URL_KEY.test(text)) {
    return { ok: false, reason: `key does not end in a base64url public key (${KEY_BASE64URL_LENGTH} characters)` };
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  if (bytes.length !== KEY_BYTES || Buffer.from(bytes).toString('base64url') !== text) {
    return { ok: false, reason: 'key is not the canonical base64url spelling of a public key' };
  }
  if (isZeroKey(bytes)) return { ok: false, reason: 'public key is all zeros' };
  return { ok: true, value: bytes };
}

/** "1.2.3.4:51820" or "[fd00::1]:51820". */
export function formatMemberEndpoint(ep: MemberEndpoint): string {
  return ep.address.family === 6 ? `[${formatIp(ep.address)}]:${ep.port}` : `${formatIp(ep.address)}:${ep.port}`;
}

/**
 * Parses formatMemberEndpoint's output: an IP literal (IPv6 in brackets, no zone: a zone means nothing on another
 * host) and a port 1..65535 without leading zeros, through the project's one endpoint parser.
 */
export function parseMemberEndpoint(text: string): MemberEndpoint | undefined {
  const ep = parseEndpoint(text);
  if (ep === undefined || ep.scopeId !== 0 || !/:[1-9][0-9]*$/.test(text)) return undefined;
  return { address: ep.ip, port: ep.port };
}

/** The JSON value stored for `record` (see the file comment). Throws RangeError on a record decodeMember would refuse. */
export function encodeMember(record: MemberRecord): string {
  const doc: Record<string, unknown> = {
    version: MEMBER_SCHEMA_VERSION,
    name: record.name,
    publicKey: encodeKey(record.publicKey),
  };
  if (record.endpoint) doc.endpoint = formatMemberEndpoint(record.endpoint);
  doc.allowedIPs = record.allowedIPs.map((p) => formatPrefix(p));
  if (record.vtep) doc.vtep = formatIp(record.vtep);
  if (record.registeredAt !== undefined) doc.registeredAt = record.registeredAt;
  const text = JSON.stringify(doc);
  const check = decodeMember(record.publicKey, new TextEncoder().encode(text));
  if (!check.ok) throw new RangeError(`member record would be refused by its readers: ${check.reason}`);
  return text;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes and validates a member value read from etcd under the key of `keyPublicKey`. Returns the record or the
 * reason it is refused; never throws (whatever the bytes).
 */
export function decodeMember(keyPublicKey: Uint8Array, value: Uint8Array): Decoded<MemberRecord> {
  const fail = (reason: string): Decoded<MemberRecord> => ({ ok: false, reason });
  if (value.length > MAX_MEMBER_VALUE_BYTES) return fail(`value is ${value.length} bytes (at most ${MAX_MEMBER_VALUE_BYTES})`);
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return fail('value is not UTF-8');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return fail('value is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return fail('value is not a JSON object');
  const o = doc as Record<string, unknown>;
  const unknownField = Object.keys(o).find((k) => !FIELDS.has(k));
  if (o.version !== MEMBER_SCHEMA_VERSION) {
    return fail(
      typeof o.version === 'number' && Number.isInteger(o.version)
        ? `unsupported schema version ${o.version} (this node reads version ${MEMBER_SCHEMA_VERSION})`
        : 'version is missing or not an integer',
    );
  }
  if (unknownField !== undefined) return fail(`unknown field ${JSON.stringify(unknownField.slice(0, 32))}`);

  if (typeof o.name !== 'string' || !isMeshName(o.name)) return fail('name is missing or not a host-name-like word');
  if (typeof o.publicKey !== 'string') return fail('publicKey is missing');
  let publicKey: Uint8Array;
  try {
    publicKey = decodeKey(o.publicKey);
  } catch (e) {
    return fail(`publicKey is not a key: ${e instanceof KeyFormatError ? e.reason : 'invalid'}`);
  }
  if (!Buffer.from(publicKey).equals(Buffer.from(keyPublicKey))) return fail('publicKey differs from the key it is stored under');

  const record: MemberRecord = { name: o.name, publicKey, allowedIPs: [] };
  if (o.endpoint !== undefined) {
    const ep = typeof o.endpoint === 'string' ? parseMemberEndpoint(o.endpoint) : undefined;
    if (!ep) return fail('endpoint is not "address:port" or "[v6 address]:port" (port 1..65535)');
    record.endpoint = ep;
  }
  if (!Array.isArray(o.allowedIPs)) return fail('allowedIPs is missing or not a list');
  if (o.allowedIPs.length > MAX_MEMBER_ALLOWED_IPS) return fail(`allowedIPs has ${o.allowedIPs.length} entries (at most ${MAX_MEMBER_ALLOWED_IPS})`);
  const seen = new Set<string>();
  for (const item of o.allowedIPs as unknown[]) {
    const p = typeof item === 'string' && item.includes('/') ? parsePrefix(item) : undefined;
    if (!p) return fail('allowedIPs has an entry that is not "address/bits"');
    const text = formatPrefix(p);
    if (text !== item || formatPrefix(networkOf(p)) !== text) return fail(`allowedIPs ${text} is not a network in canonical form`);
    if (seen.has(text)) return fail(`allowedIPs lists ${text} twice`);
    seen.add(text);
    record.allowedIPs.push(p);
  }
  if (o.vtep !== undefined) {
    const vtep = typeof o.vtep === 'string' ? parseIp(o.vtep) : undefined;
    if (!vtep || formatIp(vtep) !== o.vtep) return fail('vtep is not an IP address in canonical form');
    record.vtep = vtep;
  }
  if (o.registeredAt !== undefined) {
    const t = o.registeredAt;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > MAX_REGISTERED_AT_S) return fail('registeredAt is not Unix seconds');
    record.registeredAt = t;
  }
  return { ok: true, value: record };
}
