/**
 * Per-peer timer deadlines, polled rather than armed: event hooks (named after the event, as in wireguard-go's
 * timers.go) move deadlines; Peer.tick(now) fires the expired ones (handlers named after what expired live in
 * peer.ts). Times are monotonic milliseconds; NEVER means the timer is not pending.
 */
import { randomBelow, type Rng } from '../crypto/random.js';
import {
  KEEPALIVE_TIMEOUT_MS, REKEY_TIMEOUT_JITTER_MAX_MS, REKEY_TIMEOUT_MS, ZERO_KEY_MATERIAL_AFTER_MS,
} from './constants.js';

export const NEVER = Number.POSITIVE_INFINITY;

export class PeerTimers {
  retransmitHandshakeAt = NEVER;
  sendKeepaliveAt = NEVER;
  newHandshakeAt = NEVER;
  zeroKeyMaterialAt = NEVER;
  persistentKeepaliveAt = NEVER;
  handshakeAttempts = 0;
  needAnotherKeepalive = false;
  /** 0 disables persistent keepalive. */
  persistentKeepaliveIntervalMs = 0;
  /** Monotonic ms of the last completed handshake (for `show`), or null. */
  lastHandshakeAt: number | null = null;

  constructor(private readonly rng: Rng) {}

  jitter(): number {
    return randomBelow(this.rng, REKEY_TIMEOUT_JITTER_MAX_MS);
  }

  /** A data packet (not a keepalive) was sent: expect to hear back, or start a new handshake. */
  timersDataSent(now: number): void {
    if (this.newHandshakeAt === NEVER) this.newHandshakeAt = now + KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS + this.jitter();
  }

  /** A data packet (not a keepalive) was received: answer with a keepalive unless we send something first. */
  timersDataReceived(now: number): void {
    if (this.sendKeepaliveAt === NEVER) this.sendKeepaliveAt = now + KEEPALIVE_TIMEOUT_MS;
    else this.needAnotherKeepalive = true;
  }

  /** Any authenticated packet (data, keepalive or handshake) was sent. */
  timersAnyAuthenticatedPacketSent(): void {
    this.sendKeepaliveAt = NEVER;
  }

  /** Any authenticated packet was received. */
  timersAnyAuthenticatedPacketReceived(): void {
    this.newHandshakeAt = NEVER;
  }

  /** Any authenticated packet went either way. */
  timersAnyAuthenticatedPacketTraversal(now: number): void {
    if (this.persistentKeepaliveIntervalMs > 0) this.persistentKeepaliveAt = now + this.persistentKeepaliveIntervalMs;
  }

  /** We sent a handshake initiation. */
  timersHandshakeInitiated(now: number): void {
    this.retransmitHandshakeAt = now + REKEY_TIMEOUT_MS + this.jitter();
  }

  /** A handshake completed (initiator got a response, or responder got the first data on the new session). */
  timersHandshakeComplete(now: number): void {
    this.retransmitHandshakeAt = NEVER;
    this.handshakeAttempts = 0;
    this.lastHandshakeAt = now;
  }

  /** New transport keys were derived: they must be wiped if nothing newer arrives. */
  timersSessionDerived(now: number): void {
    this.zeroKeyMaterialAt = now + ZERO_KEY_MATERIAL_AFTER_MS;
  }

  /** Earliest pending deadline, for the device to schedule its next tick(). */
  nextDeadline(): number {
    return Math.min(this.retransmitHandshakeAt, this.sendKeepaliveAt, this.newHandshakeAt, this.zeroKeyMaterialAt,
      this.persistentKeepaliveAt);
  }

  stopAll(): void {
    this.retransmitHandshakeAt = NEVER;
    this.sendKeepaliveAt = NEVER;
    this.newHandshakeAt = NEVER;
    this.zeroKeyMaterialAt = NEVER;
    this.persistentKeepaliveAt = NEVER;
  }
}
