/**
 * TAI64N timestamps (12 bytes, big-endian), as the initiation's encrypted timestamp carries them (whitepaper §5.4.2):
 * 8 bytes of TAI64 seconds, then 4 bytes of nanoseconds. TAI64 labels the second at Unix time s as
 * 2^62 + 10 + s (cr.yp.to/libtai/tai64.html: 2^62 marks the epoch, and TAI was 10 s ahead of UTC in 1970), i.e.
 * 0x400000000000000a + s: what the kernel (noise.c, tai64n_now) and wireguard-go (tai64n.go) write. Leap seconds
 * since 1970 are ignored, as both do. Only ordering matters to the protocol: a responder refuses an initiation
 * whose timestamp is not greater than the last one it accepted from that peer, even after the peer's key has
 * moved from one implementation to another, so every implementation must count from the same base.
 */
import { TIMESTAMP_BYTES, NS_PER_MS } from './constants.js';

/** The high and low 32 bits of 0x400000000000000a, the TAI64 label of the Unix epoch. */
const TAI64_EPOCH_HI = 0x4000_0000;
const TAI64_EPOCH_LO = 0x0000_000a;
const TWO_POW_32 = 0x1_0000_0000;
/**
 * Nanoseconds are rounded down to a multiple of 2^24 ns (~16.8 ms) so the timestamp does not leak precise clock
 * values: the kernel rounds down to the power of two below 1 s / INITIATIONS_PER_SECOND (50), wireguard-go masks
 * the low 24 bits. Using the same grain keeps timestamps comparable when a key moves between implementations.
 */
const WHITENER_NS = 0x100_0000;

/** Encode wall-clock milliseconds since the Unix epoch (≥ 0) into a new 12-byte TAI64N timestamp. */
export function tai64n(wallClockMs: number): Uint8Array {
  const out = new Uint8Array(TIMESTAMP_BYTES);
  const secs = Math.floor(wallClockMs / 1000);
  const nanos = Math.floor((wallClockMs - secs * 1000) * NS_PER_MS);
  const whitened = nanos - (nanos % WHITENER_NS);
  // 64-bit seconds = epoch label + secs, added in two 32-bit halves (secs stays far below 2^53).
  const lo = TAI64_EPOCH_LO + (secs % TWO_POW_32);
  const hi = TAI64_EPOCH_HI + Math.floor(secs / TWO_POW_32) + Math.floor(lo / TWO_POW_32);
  const view = new DataView(out.buffer);
  view.setUint32(0, hi, false);
  view.setUint32(4, lo % TWO_POW_32, false);
  view.setUint32(8, whitened, false);
  return out;
}

/**
 * Lexicographic comparison, which for TAI64N is chronological: negative if a < b, 0 if equal, positive if a > b.
 * This is how the kernel (memcmp) and wireguard-go (bytes.Compare) decide that an initiation is newer.
 */
export function compareTai64n(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < TIMESTAMP_BYTES; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
