/**
 * Parsers and formatters for UAPI values. Parsers never throw: they return undefined and the caller phrases the
 * error. Accepted forms follow wireguard-go: keys are exactly 64 hex digits (either case), numbers are plain
 * decimal, endpoints are "a.b.c.d:port" or "[v6]:port" (no zone ids, no host names), allowed IPs need "/bits".
 */
import { formatIp, networkOf, parseIPv4, parseIPv6, parsePrefix, type Prefix } from '../util/ip.js';
import { KEY_LEN, type Endpoint } from './control.js';

const HEX_DIGITS = '0123456789abcdef';
const KEY_HEX_RE = /^[0-9a-fA-F]{64}$/;
/** Longest decimal we bother converting: more digits than any accepted value needs. */
const MAX_DECIMAL_DIGITS = 20;
const DECIMAL_RE = /^[0-9]+$/;
export const MAX_PORT = 0xffff;
export const MAX_FWMARK = 0xffffffff;
export const MAX_KEEPALIVE_SEC = 0xffff;

/** 32 bytes from exactly 64 hex digits, or undefined. */
export function parseHexKey(text: string): Uint8Array | undefined {
  if (!KEY_HEX_RE.test(text)) return undefined;
  const out = new Uint8Array(KEY_LEN);
  for (let i = 0; i < KEY_LEN; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Lowercase hex, two digits per byte. */
export function formatHexKey(key: Uint8Array): string {
  let s = '';
  for (let i = 0; i < key.length; i++) s += HEX_DIGITS[key[i]! >> 4]! + HEX_DIGITS[key[i]! & 0xf]!;
  return s;
}

export function isZeroKey(key: Uint8Array | undefined): boolean {
  return key === undefined || key.every((b) => b === 0);
}

/** A private key clamped as X25519 requires (RFC 7748); a copy. */
export function clampPrivateKey(key: Uint8Array): Uint8Array {
  const k = new Uint8Array(key);
  k[0]! &= 248;
  k[31]! &= 127;
  k[31]! |= 64;
  return k;
}

/** A plain decimal integer in [0, max], or undefined. */
export function parseDecimal(text: string, max: number): number | undefined {
  if (text.length > MAX_DECIMAL_DIGITS || !DECIMAL_RE.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

/** "1.2.3.4:51820" or "[fd00::1]:51820" (port 0..65535), or undefined. */
export function parseEndpoint(text: string): Endpoint | undefined {
  let hostText: string;
  let portText: string;
  let family: 4 | 6;
  let address: Uint8Array | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return undefined;
    hostText = text.slice(1, close);
    portText = text.slice(close + 2);
    family = 6;
    address = parseIPv6(hostText);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return undefined;
    hostText = text.slice(0, colon);
    portText = text.slice(colon + 1);
    family = 4;
    address = parseIPv4(hostText);
  }
  const port = portText.length <= 5 ? parseDecimal(portText, MAX_PORT) : undefined;
  if (!address || port === undefined) return undefined;
  return { family, address, port, text: formatEndpoint(address, port) };
}

export function formatEndpoint(address: Uint8Array, port: number): string {
  return address.length === 16 ? `[${formatIp(address)}]:${port}` : `${formatIp(address)}:${port}`;
}

/** "10.0.0.0/24" (the slash is required), masked to its network; or undefined. */
export function parseAllowedIp(text: string): Prefix | undefined {
  if (!text.includes('/')) return undefined;
  const p = parsePrefix(text);
  return p && networkOf(p);
}
