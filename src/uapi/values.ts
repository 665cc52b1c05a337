/**
 * Parsers and formatters for UAPI values. Parsers never throw: they return undefined and the caller phrases the
 * error. Accepted forms follow wireguard-go: keys are exactly 64 hex digits (either case), numbers are plain
 * decimal, endpoints are "a.b.c.d:port" or "[v6]:port" (numeric zone ids only, no host names; port 0..65535),
 * allowed IPs need "/bits".
 */
import { Endpoint, parseEndpoint } from '../net/endpoint.js';
import { networkOf, parsePrefix, type Prefix } from '../net/ip.js';

/** Longest decimal we bother converting: more digits than any accepted value needs. */
const MAX_DECIMAL_DIGITS = 20;
const DECIMAL_RE = /^[0-9]+$/;
export const MAX_FWMARK = 0xffffffff;

/** A UDP endpoint as the UAPI writes it (port 0 allowed, as wireguard-go accepts it), or undefined. */
export function parseUapiEndpoint(text: string): Endpoint | undefined {
  return parseEndpoint(text, { minPort: 0 });
}

/** A plain decimal integer in [0, max], or undefined. */
export function parseDecimal(text: string, max: number): number | undefined {
  if (text.length > MAX_DECIMAL_DIGITS || !DECIMAL_RE.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

/** "10.0.0.0/24" (the slash is required), masked to its network; or undefined. */
export function parseAllowedIp(text: string): Prefix | undefined {
  if (!text.includes('/')) return undefined;
  const p = parsePrefix(text);
  return p && networkOf(p);
}
