/**
 * Parsers for single wg-quick values. Each takes the text after '=' (trimmed, comment removed) and returns the
 * typed value or throws BadValue with a message meant to follow "FILE:LINE: ". Messages may quote the text the
 * user wrote, shortened, except for key values (those callers use keyValue, which never quotes).
 */
import { MAX_PORT, splitHostPort, zoneProblem } from '../net/endpoint.js';
import { MAX_PERSISTENT_KEEPALIVE_S, MAX_TUNNEL_MTU_BYTES } from '../protocol/constants.js';
import { decodeKey, KeyFormatError } from '../crypto/keys.js';
import { networkOf, parseIPv4, parseIPv6, parseIp, parsePrefix, formatPrefix, type IpAddress, type Prefix } from '../net/ip.js';

export class BadValue extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadValue';
  }
}

/** Smallest MTU we accept at all (bytes); the IPv4 minimum datagram every host must accept. */
export const MIN_MTU = 576;
/** Smallest MTU on a link that carries IPv6 (bytes, RFC 8200 §5). */
export const MIN_MTU_IPV6 = 1280;
/** Largest MTU: what the data path carries (protocol/constants.ts). */
export const MAX_MTU = MAX_TUNNEL_MTU_BYTES;
export const MAX_U32 = 0xffff_ffff;
/** Routing tables known by name to iproute2 on every system (/etc/iproute2/rt_tables). */
export const NAMED_TABLES: Readonly<Record<string, number>> = { default: 253, main: 254, local: 255 };

const MAX_QUOTED = 48;
const DECIMAL = /^[0-9]+$/;
/** wg reads a value as hex only after a lowercase "0x" (config.c, parse_fwmark); "0X1234" is no number to it. */
const HEXADECIMAL = /^0x[0-9a-fA-F]+$/;
const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const MAX_HOSTNAME = 253;

/** The user's text in quotes, cut short if long, so messages stay one readable line. */
export function quote(text: string): string {
  const short = text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
  return JSON.stringify(short);
}

/** A base64 key; the message never contains the text (it may be a secret). */
export function keyValue(name: string, text: string): Uint8Array {
  try {
    return decodeKey(text);
  } catch (e) {
    if (e instanceof KeyFormatError) throw new BadValue(`${name} is not a valid key: ${e.reason}`);
    throw e;
  }
}

/** An unsigned decimal integer in [min, max]; `what` describes the range for the message. */
export function integerValue(name: string, text: string, min: number, max: number, what = `${min}..${max}`): number {
  if (!DECIMAL.test(text)) throw new BadValue(`${name} must be a number ${what}, got ${quote(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new BadValue(`${name} must be ${what}, got ${text.length > 12 ? quote(text) : n}`);
  return n;
}

/** ListenPort: 0..65535, where 0 means "random" and is returned as undefined. */
export function listenPortValue(text: string): number | undefined {
  const n = integerValue('ListenPort', text, 0, MAX_PORT, `0..${MAX_PORT} (0 picks a random port)`);
  return n === 0 ? undefined : n;
}

export function mtuValue(text: string): number {
  return integerValue('MTU', text, MIN_MTU, MAX_MTU, `${MIN_MTU}..${MAX_MTU} (tunvpn carries packets of up to ${MAX_MTU} bytes)`);
}

export function tableValue(text: string): 'auto' | 'off' | number {
  const lower = text.toLowerCase();
  if (lower === 'auto' || lower === 'off') return lower;
  const named = NAMED_TABLES[lower];
  if (named !== undefined) return named;
  if (!DECIMAL.test(text)) {
    throw new BadValue(`Table must be auto, off, main, local, default or a number 1..${MAX_U32}, got ${quote(text)}`);
  }
  return integerValue('Table', text, 1, MAX_U32);
}

/**
 * FwMark: a 32-bit unsigned value, decimal or hex after a lowercase 0x (as wg's config.c reads it), or 'off'; 0 and
 * 'off' both mean "no mark" (undefined).
 */
export function fwMarkValue(text: string): number | undefined {
  if (text.toLowerCase() === 'off') return undefined;
  let n: number;
  if (DECIMAL.test(text)) n = Number(text);
  else if (HEXADECIMAL.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^0X/.test(text)) throw new BadValue(`FwMark ${quote(text)}: write hex with a lowercase 0x, as wg reads it`);
  else throw new BadValue(`FwMark must be off, a decimal number or 0x-prefixed hex, got ${quote(text)}`);
  if (!(n <= MAX_U32)) throw new BadValue(`FwMark must fit in 32 bits (at most ${MAX_U32}), got ${quote(text)}`);
  return n === 0 ? undefined : n;
}

export function persistentKeepaliveValue(text: string): number | undefined {
  if (text.toLowerCase() === 'off') return undefined;
  const n = integerValue('PersistentKeepalive', text, 0, MAX_PERSISTENT_KEEPALIVE_S, `0..${MAX_PERSISTENT_KEEPALIVE_S} seconds or off`);
  return n === 0 ? undefined : n;
}

export function booleanValue(name: string, text: string): boolean {
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new BadValue(`${name} must be true or false, got ${quote(text)}`);
}

/** Comma-separated items, trimmed; empty items (a trailing comma) are skipped. */
export function listItems(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** One prefix "ADDR[/BITS]" with host bits kept; the message explains which half is wrong. */
export function prefixValue(name: string, text: string): Prefix {
  const p = parsePrefix(text);
  if (p) return p;
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseIp(addrText);
  if (!addr) throw new BadValue(`${name} ${quote(text)}: ${quote(addrText)} is not an IPv4 or IPv6 address`);
  const max = addr.family === 4 ? 32 : 128;
  throw new BadValue(`${name} ${quote(text)}: prefix length must be 0..${max}`);
}

/**
 * An AllowedIPs prefix as the kernel stores it: host bits cleared. `masked` reports when that changed the text's
 * meaning, so the caller can warn (as `wg` silently normalises it).
 */
export function allowedIpValue(text: string): { prefix: Prefix; masked: boolean } {
  const given = prefixValue('AllowedIPs', text);
  const prefix = networkOf(given);
  return { prefix, masked: formatPrefix(prefix) !== formatPrefix(given) };
}

/** Whether `text` is a syntactically valid DNS hostname (letters, digits, '-', dots; labels 1..63). */
export function isHostname(text: string): boolean {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name === '' || name.length > MAX_HOSTNAME) return false;
  const labels = name.split('.');
  if (labels.every((l) => DECIMAL.test(l))) return false; // all-numeric: a (bad) IPv4 address, not a name
  return labels.every((l) => HOST_LABEL.test(l));
}

export type DnsEntry = { kind: 'server'; address: IpAddress } | { kind: 'search'; domain: string };

/** One DNS = item: an IP address is a resolver, anything name-shaped is a search domain. */
export function dnsEntryValue(text: string): DnsEntry {
  const address = parseIp(text);
  if (address) return { kind: 'server', address };
  if (isHostname(text)) return { kind: 'search', domain: text };
  throw new BadValue(`DNS ${quote(text)} is neither an IP address nor a search domain`);
}

/**
 * Endpoint: "host:port", "[v6]:port" or "[v6%zone]:port" (net/endpoint.ts syntax); host is an IPv4 literal or a
 * hostname, port 1..65535. A zone is what getaddrinfo takes, as wg resolves it: a scope id (0..2^32-1), or the name
 * of an interface on a link-local (fe80::/10) address, looked up when the configuration is applied (resolve.ts).
 */
export function endpointValue(text: string): { host: string; port: number; zone?: string } {
  const hp = splitHostPort(text);
  if (typeof hp === 'string') throw new BadValue(`Endpoint ${quote(text)}${hp.startsWith(':') ? '' : ' '}${hp}`);
  const { host, zone } = hp;
  if (hp.bracketed) {
    const v6 = parseIPv6(host);
    if (!v6) throw new BadValue(`Endpoint ${quote(text)}: ${quote(host)} is not an IPv6 address`);
    const bad = zone === undefined ? undefined : zoneProblem(zone, v6);
    if (bad) throw new BadValue(`Endpoint ${quote(text)}: ${bad}`);
  } else {
    if (/^[0-9.]+$/.test(host) && !parseIPv4(host)) {
      throw new BadValue(`Endpoint ${quote(text)}: ${quote(host)} is not an IPv4 address`);
    }
    if (!parseIPv4(host) && !isHostname(host)) {
      throw new BadValue(`Endpoint ${quote(text)}: ${quote(host)} is not an IP address or hostname`);
    }
  }
  const port = integerValue('Endpoint port', hp.portText, 1, MAX_PORT);
  return zone === undefined ? { host, port } : { host, port, zone };
}
