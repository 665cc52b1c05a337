/**
 * Injectable randomness. Production uses the OS CSPRNG; tests pass a seeded generator so handshakes, indices and
 * jitter are reproducible. An Rng fills `buf` completely.
 */
import { randomFillSync } from 'node:crypto';

export type Rng = (buf: Uint8Array) => void;

/** Bytes fetched from the OS at a time for small requests. */
const POOL_BYTES = 4096;
/** Requests of at least this many bytes go straight to the OS. */
const DIRECT_BYTES = 256;
const pool = new Uint8Array(POOL_BYTES);
let poolUsed = POOL_BYTES;

/**
 * The OS CSPRNG (node:crypto randomFillSync). Small requests (timer jitter, indices, nonces: a few bytes, many
 * times a second) are served from a pool refilled 4 KiB at a time, since each randomFillSync call costs far more
 * than the bytes it returns; served bytes are wiped from the pool.
 */
export const systemRng: Rng = (buf) => {
  const n = buf.length;
  if (n >= DIRECT_BYTES) {
    randomFillSync(buf);
    return;
  }
  if (poolUsed + n > POOL_BYTES) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  for (let i = 0; i < n; i++) {
    buf[i] = pool[poolUsed + i]!;
    pool[poolUsed + i] = 0;
  }
  poolUsed += n;
};

/**
 * Deterministic, NOT cryptographically secure generator (xorshift128+ style on 32-bit words) for tests only.
 */
export function seededRng(seed: number): Rng {
  let a = (seed ^ 0x9e3779b9) >>> 0 || 1;
  let b = (seed * 0x85ebca6b) >>> 0 || 2;
  let c = 0xc2b2ae35;
  let d = 0x27d4eb2f;
  return (buf) => {
    for (let i = 0; i < buf.length; i++) {
      const t = a ^ (a << 11);
      a = b;
      b = c;
      c = d;
      d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
      buf[i] = d & 0xff;
    }
  };
}

const u32Scratch = new Uint8Array(4);
/** A uniformly distributed 32-bit unsigned integer from `rng`. */
export function randomU32(rng: Rng): number {
  rng(u32Scratch);
  return (u32Scratch[0]! | (u32Scratch[1]! << 8) | (u32Scratch[2]! << 16) | (u32Scratch[3]! << 24)) >>> 0;
}

/** An integer in [0, bound) (bound ≤ 2^32); slight modulo bias is acceptable for jitter. */
export function randomBelow(rng: Rng, bound: number): number {
  return randomU32(rng) % bound;
}
