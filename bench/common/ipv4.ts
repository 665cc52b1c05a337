/** IPv4 address arithmetic for the benchmarks' many peers and flood sources. */
import { formatIp, parseIp } from '../../src/net/ip.js';

/** Highest usable host number in a /24 (.255 is the broadcast address). */
const LAST_HOST_IN_24 = 254;

/** IPv4 address `first` plus `n`, as text; throws when `first` is not IPv4 or the sum leaves the address space. */
export function addIpv4(first: string, n: number): string {
  const ip = parseIp(first);
  if (!ip || ip.family !== 4) throw new Error(`not an IPv4 address: "${first}"`);
  const v = ((ip.bytes[0]! << 24) | (ip.bytes[1]! << 16) | (ip.bytes[2]! << 8) | ip.bytes[3]!) >>> 0;
  const sum = v + n;
  if (sum > 0xffffffff) throw new RangeError(`${first} + ${n} leaves the IPv4 address space`);
  return formatIp(Uint8Array.of(sum >>> 24, (sum >>> 16) & 0xff, (sum >>> 8) & 0xff, sum & 0xff));
}

/**
 * `count` consecutive IPv4 addresses from `first`, all inside first's /24 (a LAN's sources). Throws when one would
 * leave the /24 or reach its broadcast address .255, or on an address that is not IPv4.
 */
export function sourceAddresses(first: string, count: number): string[] {
  const ip = parseIp(first);
  if (!ip || ip.family !== 4) throw new Error(`source must be an IPv4 address, got "${first}"`);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`source count must be a positive integer, got ${count}`);
  if (ip.bytes[3]! + count - 1 > LAST_HOST_IN_24) throw new RangeError(`${count} sources from ${first} leave its /24 (last usable host .254)`);
  return Array.from({ length: count }, (_, i) => addIpv4(first, i));
}
