/**
 * TAI64N timestamps (12 bytes, big-endian): 8 bytes of seconds since 1970 plus 2^62 (the TAI64 label; leap seconds
 * ignored, as WireGuard does), then 4 bytes of nanoseconds. Only ordering matters to the protocol.
 */
import { TIMESTAMP_BYTES } from './constants.js';

const TAI64_BASE_HI = 0x4000_0000; // 2^62 in the high 32 bits of the 64-bit seconds field
/**
 * Nanoseconds are rounded down to this granularity so the timestamp does not leak precise clock values
 * (wireguard-go whitens to ~2^24 ns; we use 16 ms, which still orders initiations sent 50 per second apart).
 */
const WHITENER_MS = 16;

/** Encode wall-clock milliseconds since the Unix epoch into a new 12-byte TAI64N timestamp. */
export function tai64n(wallClockMs: number): Uint8Array {
  const out = new Uint8Array(TIMESTAMP_BYTES);
  const ms = Math.floor(wallClockMs / WHITENER_MS) * WHITENER_MS;
  const secs = Math.floor(ms / 1000);
  const nanos = (ms - secs * 1000) * 1_000_000;
  const view = new DataView(out.buffer);
  view.setUint32(0, TAI64_BASE_HI + Math.floor(secs / 0x1_0000_0000), false);
  view.setUint32(4, secs >>> 0, false);
  view.setUint32(8, nanos, false);
  return out;
}

/** Lexicographic (= chronological) comparison: negative if a < b, 0 if equal, positive if a > b. */
export function compareTai64n(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < TIMESTAMP_BYTES; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
