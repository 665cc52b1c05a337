/** Argument checks shared by the request encoders: each names the operation in its error. */
import { parseIp, parsePrefix, type IpAddress, type Prefix } from '../net/ip.js';
import { NetlinkArgumentError } from './errors.js';
import { IFNAMSIZ, ifnameProblem } from '../net/ifname.js';
import { ETH_ALEN } from './if-link.js';

/** Interface names: 1..15 bytes, no '/', ':', whitespace, and not '.' or '..' (the kernel's dev_valid_name). */
export function checkIfName(op: string, name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || ifnameProblem(name) !== undefined) {
    throw new NetlinkArgumentError(`${op}: invalid interface ${field} ${JSON.stringify(name)} (1..${IFNAMSIZ - 1} bytes, no '/', ':' or spaces)`);
  }
  return name;
}

export function checkInt(op: string, field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new NetlinkArgumentError(`${op}: ${field} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

export const U32_MAX = 0xffffffff;

export function checkIp(op: string, field: string, text: unknown, family?: 4 | 6): IpAddress {
  const a = typeof text === 'string' ? parseIp(text) : undefined;
  if (!a) throw new NetlinkArgumentError(`${op}: invalid ${field} address ${JSON.stringify(text)}`);
  if (family && a.family !== family) throw new NetlinkArgumentError(`${op}: ${field} ${String(text)} is not IPv${family}`);
  return a;
}

export function checkPrefix(op: string, field: string, text: unknown): Prefix {
  const p = typeof text === 'string' ? parsePrefix(text) : undefined;
  if (!p) throw new NetlinkArgumentError(`${op}: invalid ${field} prefix ${JSON.stringify(text)}`);
  return p;
}

/** "aa:bb:cc:dd:ee:ff" → 6 bytes. */
export function checkMac(op: string, text: unknown): Uint8Array {
  if (typeof text !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) {
    throw new NetlinkArgumentError(`${op}: invalid MAC address ${JSON.stringify(text)}`);
  }
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function formatMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

export function isMacLength(b: Uint8Array): boolean {
  return b.length === ETH_ALEN;
}
