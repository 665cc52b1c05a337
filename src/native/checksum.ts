/** The Internet checksum (RFC 1071) over many ranges in one call (native/src/checksum.cc): TUN offload's helper. */
import { loadAddon } from './load.js';

export interface NativeChecksum {
  /**
   * For each i < count: sums[i] (a partial sum, 0..2^31-1, e.g. of a pseudo-header) becomes the 16-bit ones'
   * complement sum (folded, not complemented) of the big-endian words of buf[offsets[i], +lengths[i]) plus sums[i].
   * Every range is checked first (RangeError). Returns count.
   */
  checksumBatch(buf: Uint8Array, offsets: Int32Array, lengths: Int32Array, sums: Int32Array, count: number): number;
}

/** The addon's checksum; loads the addon on first use (throws when it is not built). */
export function nativeChecksum(): NativeChecksum {
  return loadAddon() as NativeChecksum;
}
