/**
 * Per-source token buckets for handshake messages under load (the role of wireguard-go's ratelimiter/ and the
 * kernel's ratelimiter.c; same numbers, our own code).
 *
 *   - Each source gets HANDSHAKES_PER_SOURCE_PER_S with a burst of HANDSHAKE_BURST_PER_SOURCE. A bucket holds
 *     "credit" in milliseconds: every message costs 1000 / rate ms of credit, credit refills one ms per ms of
 *     elapsed time, and it is capped at cost × burst. A new source starts with a full bucket.
 *   - Sources are keyed by address, not port: IPv4 by the whole /32, IPv6 by its /64 (one subscriber usually holds
 *     a whole /64, so its addresses share one bucket). IPv4-mapped IPv6 addresses count as IPv4.
 *   - Idle entries (no message for RATELIMIT_IDLE_MS) are swept at most once per RATELIMIT_GC_INTERVAL_MS, driven by
 *     the caller's `now` (allow() and collect() both sweep when due). There is no clock and no timer here.
 *   - The table is bounded: a new source at maxEntries evicts the entry created longest ago (Map insertion order,
 *     O(1)), so memory never grows with the number of sources. The evicted source starts over with a full bucket
 *     if it comes back: a trade the kernel makes the other way (it refuses new sources when full), but refusing
 *     would let whoever fills the table lock every new legitimate peer out.
 *
 * Contract: single-threaded; `now` is monotonic milliseconds (a step backwards counts as no time elapsed).
 */

import {
  HANDSHAKE_BURST_PER_SOURCE, HANDSHAKES_PER_SOURCE_PER_S, RATELIMIT_GC_INTERVAL_MS, RATELIMIT_IDLE_MS, RATELIMIT_MAX_ENTRIES, MS_PER_S,
} from './constants.js';

const IPV4_BYTES = 4;
const IPV6_BYTES = 16;
/** Bytes of an IPv6 address that form the key: the /64 prefix. */
const IPV6_KEY_BYTES = 8;

/** A bucket's state. Credit is in milliseconds; see the header comment. */
export interface BucketState {
  credit: number;
  last: number;
}

/** Refills `b` for the time since b.last (capped at maxMs) and takes costMs if available. */
export function takeToken(b: BucketState, now: number, costMs: number, maxMs: number): boolean {
  const elapsed = now > b.last ? now - b.last : 0;
  b.last = now;
  const credit = Math.min(maxMs, b.credit + elapsed);
  if (credit >= costMs) {
    b.credit = credit - costMs;
    return true;
  }
  b.credit = credit;
  return false;
}

/** One token bucket: `perSecond` events sustained, `burst` back to back; starts full. */
export class TokenBucket {
  private readonly costMs: number;
  private readonly maxMs: number;
  private readonly state: BucketState;

  /** `now` defaults to "long ago", which is the same as full at any first allow(). */
  constructor(perSecond: number, burst: number, now = -Infinity) {
    checkRate(perSecond, burst);
    this.costMs = MS_PER_S / perSecond;
    this.maxMs = this.costMs * burst;
    this.state = { credit: this.maxMs, last: now };
  }

  /** Takes one token at `now`; false when the bucket is empty. */
  allow(now: number): boolean {
    return takeToken(this.state, now, this.costMs, this.maxMs);
  }
}

export interface RateLimiterOptions {
  /** Default HANDSHAKES_PER_SOURCE_PER_S. */
  perSecond?: number;
  /** Default HANDSHAKE_BURST_PER_SOURCE. */
  burst?: number;
  /** Default RATELIMIT_MAX_ENTRIES. */
  maxEntries?: number;
}

/** Map key for a source: a number for IPv4, a short string for an IPv6 /64 or any other byte string. */
export type SourceKey = number | string;

export class RateLimiter {
  private readonly costMs: number;
  private readonly maxMs: number;
  private readonly maxEntries: number;
  private readonly table = new Map<SourceKey, BucketState>();
  private lastSweep = -Infinity;

  constructor(opts: RateLimiterOptions = {}) {
    const perSecond = opts.perSecond ?? HANDSHAKES_PER_SOURCE_PER_S;
    const burst = opts.burst ?? HANDSHAKE_BURST_PER_SOURCE;
    checkRate(perSecond, burst);
    const maxEntries = opts.maxEntries ?? RATELIMIT_MAX_ENTRIES;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be ≥ 1, got ${maxEntries}`);
    this.costMs = MS_PER_S / perSecond;
    this.maxMs = this.costMs * burst;
    this.maxEntries = maxEntries;
  }

  /** Sources currently tracked. */
  get size(): number {
    return this.table.size;
  }

  /**
   * Whether one more message from the source address `addr` (4 bytes IPv4, 16 bytes IPv6; any other length is keyed
   * as a whole) is allowed at `now`. Counts the message either way.
   */
  allow(addr: Uint8Array, now: number): boolean {
    this.collect(now);
    const key = sourceKey(addr);
    const entry = this.table.get(key);
    if (entry !== undefined) return takeToken(entry, now, this.costMs, this.maxMs);
    if (this.table.size >= this.maxEntries) this.evictOldest();
    // A new source starts with a full bucket and pays for this message.
    this.table.set(key, { credit: this.maxMs - this.costMs, last: now });
    return true;
  }

  /** Forgets sources idle for more than RATELIMIT_IDLE_MS; does nothing if the last sweep was < the interval ago. */
  collect(now: number): void {
    if (now - this.lastSweep < RATELIMIT_GC_INTERVAL_MS) return;
    this.lastSweep = now;
    for (const [key, entry] of this.table) {
      if (now - entry.last > RATELIMIT_IDLE_MS) this.table.delete(key);
    }
  }

  /** At capacity (idle entries were already swept when due): drop the entry created longest ago. O(1). */
  private evictOldest(): void {
    const oldest = this.table.keys().next();
    if (oldest.done !== true) this.table.delete(oldest.value);
  }
}

function checkRate(perSecond: number, burst: number): void {
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new RangeError(`rate must be > 0 per second, got ${perSecond}`);
  if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`burst must be an integer ≥ 1, got ${burst}`);
}

function isV4Mapped(a: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

function u32(a: Uint8Array, at: number): number {
  return ((a[at]! << 24) | (a[at + 1]! << 16) | (a[at + 2]! << 8) | a[at + 3]!) >>> 0;
}

/**
 * The source a per-source limit groups an address under, as a Map key: IPv4 (and IPv4-mapped IPv6, 16 bytes) by
 * the 32-bit address, a number; IPv6 (16 bytes) by its /64, "6" + 4 UTF-16 units; any other byte string as a whole,
 * "*" + bytes. The one grouping of the rate limiter here and the device's handshake queue.
 */
export function sourceKey(a: Uint8Array): SourceKey {
  if (a.length === IPV4_BYTES) return u32(a, 0);
  if (a.length === IPV6_BYTES) {
    if (isV4Mapped(a)) return u32(a, 12);
    let s = '6';
    for (let i = 0; i < IPV6_KEY_BYTES; i += 2) s += String.fromCharCode((a[i]! << 8) | a[i + 1]!);
    return s;
  }
  let s = '*';
  for (let i = 0; i < a.length; i++) s += String.fromCharCode(a[i]!);
  return s;
}
