/**
 * The Internet checksum (RFC 1071): one's-complement sums of big-endian 16-bit words.
 *
 * Sums are kept unfolded (plain non-negative numbers, exact up to 2^53) so partial sums can be added; fold16 folds
 * to 16 bits at the end and the caller complements (`~fold16(s) & 0xffff`) where the field wants it.
 * This is the one per-byte cost of the offloads besides encryption, so checksumAdd is a tight loop: high and low
 * bytes are summed separately (each stays a small integer for any packet ≤ 64 KiB) and combined once.
 */

/** initial + the sum of the 16-bit words of buf[off, off+len) (an odd last byte is padded with zero). */
export function checksumAdd(buf: Uint8Array, off: number, len: number, initial: number): number {
  let hi = 0;
  let lo = 0;
  let i = off;
  const even = off + (len & ~1);
  const unrolled = off + (len & ~15);
  for (; i < unrolled; i += 16) {
    hi += buf[i]! + buf[i + 2]! + buf[i + 4]! + buf[i + 6]! + buf[i + 8]! + buf[i + 10]! + buf[i + 12]! + buf[i + 14]!;
    lo += buf[i + 1]! + buf[i + 3]! + buf[i + 5]! + buf[i + 7]! + buf[i + 9]! + buf[i + 11]! + buf[i + 13]! + buf[i + 15]!;
  }
  for (; i < even; i += 2) {
    hi += buf[i]!;
    lo += buf[i + 1]!;
  }
  if (len & 1) hi += buf[even]!;
  return initial + hi * 256 + lo;
}

/** Folds an unfolded sum to 16 bits (end-around carry), not complemented. */
export function fold16(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * The unfolded sum of the TCP/UDP pseudo-header: source and destination addresses (addrLen bytes each, starting at
 * buf[addrOff]), the protocol number and the transport length (IPv4: zero byte + protocol + 16-bit length; IPv6:
 * 32-bit length + 3 zero bytes + next header — the same sum for lengths < 64 KiB).
 */
export function pseudoHeaderSum(buf: Uint8Array, addrOff: number, addrLen: 4 | 16, protocol: number, length: number): number {
  return checksumAdd(buf, addrOff, 2 * addrLen, protocol + length);
}

/** The Internet checksum field value of buf[off, off+len), with `initial` (e.g. a pseudo-header sum) added in. */
export function internetChecksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  return ~fold16(checksumAdd(buf, off, len, initial)) & 0xffff;
}

/** Recomputes and stores the checksum of the IPv4 header at buf[off, off+ihl). */
export function setIpv4HeaderChecksum(buf: Uint8Array, off: number, ihl: number): void {
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  const c = internetChecksum(buf, off, ihl);
  buf[off + 10] = c >>> 8;
  buf[off + 11] = c & 0xff;
}
