/**
 * Handshake load: how the protocol decides it is "under load". More than `perSecond` handshake messages with a
 * valid MAC1 (initiations and responses: the ones that would cost a Diffie-Hellman) within one second put it under
 * load for HOLD_MS after the last busy
 * second; under load, handshakes must carry a valid MAC2 (a cookie proving the source address) and each source is
 * rate-limited (ratelimiter.ts). Pure: `now` (monotonic ms) comes from the caller.
 */

import { UNDER_LOAD_HANDSHAKES_PER_S, UNDER_LOAD_HOLD_MS } from './constants.js';

const WINDOW_MS = 1000;

export class HandshakeLoad {
  private windowStart = -Infinity;
  private inWindow = 0;
  private busyUntil = -Infinity;

  constructor(private readonly perSecond = UNDER_LOAD_HANDSHAKES_PER_S) {
    if (!Number.isInteger(perSecond) || perSecond < 1) throw new RangeError(`handshakes per second must be ≥ 1, got ${perSecond}`);
  }

  /** Counts one handshake message arriving at `now`. */
  count(now: number): void {
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (++this.inWindow > this.perSecond) this.busyUntil = now + UNDER_LOAD_HOLD_MS;
  }

  busy(now: number): boolean {
    return now < this.busyUntil;
  }

  /** Monotonic ms until which it stays busy (-Infinity: never was). */
  get until(): number {
    return this.busyUntil;
  }
}
