/**
 * Parsers and formatters for UAPI values. Parsers never throw: they return undefined and the caller phrases the
 * error. Accepted forms follow wireguard-go: keys are exactly 64 hex digits (either case), numbers are plain
 * decimal, endpoints are "a.b.c.d:port" or "[v6]:port" with an optional zone "[v6%zone]:port" (no host names; port
 * 0..65535), allowed IPs need "/bits". wg(8) writes a link-local endpoint's zone as the interface's name
 * ("[fe80::1%eth0]:51820", getnameinfo's form), wireguard-go answers with names too.
 */
import { Endpoint, MAX_PORT, parseEndpoint, splitHostPort, zoneProblem, type Zones } from '../net/endpoint.js';
import { formatIp, networkOf, parseIPv4, parseIPv6, parsePrefix, type Prefix } from '../net/ip.js';

/** Longest decimal we bother converting: more digits than any accepted value needs. */
const MAX_DECIMAL_DIGITS = 20;
const DECIMAL_RE = /^[0-9]+$/;
export const MAX_FWMARK = 0xffffffff;
/**
 * A UDP endpoint as the UAPI writes it (port 0 allowed, as wireguard-go accepts it), or undefined. A zone name is
 * turned into its interface index by `zones` (the daemon's namespace); without `zones`, or when no interface has
 * that name, only numeric zones are accepted.
 */
export function parseUapiEndpoint(text: string, zones?: Pick<Zones, 'indexOf'>): Endpoint | undefined {
  return parseEndpoint(text, { minPort: 0, zones });
}

/**
 * An endpoint from a get reply, checked and in canonical form ("[fe80::1%eth0]:51820"), or undefined. The zone is
 * kept as written: the reply may come from a daemon in another network namespace, whose interface names mean
 * nothing here.
 */
export function uapiEndpointText(text: string): string | undefined {
  const hp = splitHostPort(text);
  if (typeof hp === 'string' || !(hp.port >= 0 && hp.port <= MAX_PORT)) return undefined;
  if (!hp.bracketed) {
    const v4 = parseIPv4(hp.host);
    return v4 && `${formatIp(v4)}:${hp.port}`;
  }
  const v6 = parseIPv6(hp.host);
  if (!v6) return undefined;
  if (hp.zone === undefined) return `[${formatIp(v6)}]:${hp.port}`;
  if (zoneProblem(hp.zone, v6) !== undefined) return undefined;
  return `[${formatIp(v6)}%${hp.zone}]:${hp.port}`;
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
