/**
 * RFC 6479 anti-replay sliding window for transport counters, behaving exactly like wireguard-go's on 64-bit hosts:
 * a ring of 8192 bits; counters more than COUNTER_WINDOW_SIZE (8128) behind the highest accepted are rejected, as are
 * counters ≥ REJECT_AFTER_MESSAGES.
 *
 * 64-bit counters are passed as (hi, lo) unsigned 32-bit halves so the hot path needs no BigInt. The ring is kept
 * in 32-bit words (256 of them): ring and window sizes, not the word size, determine behaviour.
 * Call validate() only after the packet authenticated, as the spec requires.
 */
import { COUNTER_BITS_TOTAL, COUNTER_WINDOW_SIZE } from './constants.js';

const WORD_BITS = 32;
const WORD_SHIFT = 5;
const RING_WORDS = COUNTER_BITS_TOTAL / WORD_BITS; // 256
const RING_MASK = RING_WORDS - 1;
const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_27 = 1 << 27; // 2^32 / WORD_BITS: word-index units per step of hi

/** REJECT_AFTER_MESSAGES = 2^64 - 2^13 - 1 as (hi, lo). */
export const REJECT_HI = 0xffff_ffff;
export const REJECT_LO = 0xffff_dfff;

/** True when (hi, lo) ≥ REJECT_AFTER_MESSAGES. */
export function counterAtOrAboveReject(hi: number, lo: number): boolean {
  return hi === REJECT_HI && lo >= REJECT_LO;
}

export class ReplayWindow {
  private lastHi = 0;
  private lastLo = 0;
  private readonly ring = new Uint32Array(RING_WORDS);

  reset(): void {
    this.lastHi = 0;
    this.lastLo = 0;
    this.ring.fill(0);
  }

  /**
   * Records counter (hi, lo) and returns true if it was fresh; false if it is a replay, too old, or at/above the
   * reject limit. Allocates nothing.
   */
  validate(hi: number, lo: number): boolean {
    if (counterAtOrAboveReject(hi, lo)) return false;
    // counter - last, exact whenever it is small; when large its sign and magnitude are still right.
    const dHi = hi - this.lastHi;
    const diff = dHi * TWO_POW_32 + (lo - this.lastLo);
    if (diff > 0) {
      // Advance: clear the words between the old and the new highest counter (at most the whole ring).
      const wordDiff = dHi * TWO_POW_27 + ((lo >>> WORD_SHIFT) - (this.lastLo >>> WORD_SHIFT));
      const steps = wordDiff > RING_WORDS ? RING_WORDS : wordDiff;
      const current = this.lastLo >>> WORD_SHIFT; // only the low bits matter for the ring position
      for (let i = 1; i <= steps; i++) this.ring[(current + i) & RING_MASK] = 0;
      this.lastHi = hi;
      this.lastLo = lo;
    } else if (-diff > COUNTER_WINDOW_SIZE) {
      return false;
    }
    const word = (lo >>> WORD_SHIFT) & RING_MASK;
    const bit = 1 << (lo & (WORD_BITS - 1));
    const old = this.ring[word]!;
    if ((old & bit) !== 0) return false;
    this.ring[word] = old | bit;
    return true;
  }
}
