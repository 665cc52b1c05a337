/**
 * Per-peer state machine: the handshake, the three sessions of the whitepaper (current, previous, next), the cookie
 * generator, packets staged while no session exists, the endpoint, and the timers. Event hooks live in timers.ts;
 * the handlers for expired timers are here, named after what expired. Everything runs on one loop, with `now` in
 * monotonic ms passed in. Network output goes to the context's outbound queue.
 */
import type { Rng } from '../crypto/random.js';
import type { TransportAead } from '../crypto/transport-aead.js';
import { wipe } from '../crypto/wipe.js';
import {
  INITIATION_BYTES, KEEPALIVE_TIMEOUT_MS, MAX_STAGED_PACKETS, MAX_TIMER_HANDSHAKES, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME_MS,
  REKEY_ON_RECEIVE_AFTER_MS, REKEY_TIMEOUT_MS, RESPONSE_BYTES,
} from './constants.js';
import { CookieGenerator } from './cookie.js';
import type { EventQueue, InitiationReason, ProtocolEvent } from './events.js';
import type { IndexTable } from './index-table.js';
import { INIT_OFF_MAC1, RESP_OFF_MAC1 } from './messages.js';
import { Handshake, type LocalStatic, type NoiseError } from './noise.js';
import { ENCRYPT_COUNTER_EXHAUSTED, Session, transportMessageLength } from './session.js';
import { NEVER, PeerTimers } from './timers.js';

const REKEY_AFTER_MESSAGES_NUM = Number(REKEY_AFTER_MESSAGES);

/** What an index names: a peer's in-progress handshake (session null) or one of its sessions. */
export interface IndexEntry<E> {
  peer: Peer<E>;
  session: Session | null;
}

/** A datagram to send. `peer` is null for cookie replies to unauthenticated sources. */
export interface Outbound<E> {
  peer: Peer<E> | null;
  endpoint: E;
  data: Uint8Array;
}

/** An event about this kind of peer (see events.ts). */
export type PeerEvent<E> = ProtocolEvent<Peer<E>, E>;

/** What a peer needs from the device core it belongs to. */
export interface PeerContext<E> {
  readonly local: LocalStatic;
  readonly rng: Rng;
  readonly indices: IndexTable<IndexEntry<E>>;
  /** Queues a datagram for the device core's outbound queue (see DeviceCore.takeOutbound). */
  enqueue(datagram: Outbound<E>): void;
  /** The transport cipher every session of the device uses (it may batch; see crypto/transport-aead.ts). */
  readonly aead: TransportAead;
  /** Unix wall-clock ms at monotonic `now`, for TAI64N timestamps. */
  wallClock(now: number): number;
  /** Where handshake and session events are recorded (see DeviceCore.takeEvents). */
  readonly events: EventQueue<Peer<E>, E>;
}

export class Peer<E> {
  /** Its slot and key in the device core's timer heap (deadline-heap.ts); -1 / Infinity when not in it. */
  heapIndex = -1;
  heapKey = Infinity;
  readonly publicKey: Uint8Array;
  readonly handshake: Handshake;
  readonly cookies: CookieGenerator;
  readonly timers: PeerTimers;
  endpoint: E | undefined;
  current: Session | null = null;
  previous: Session | null = null;
  next: Session | null = null;
  /** Plaintext packets (copies) waiting for a session, oldest first. */
  readonly staged: Uint8Array[] = [];
  private lastSentHandshakeAt = -Infinity;
  private sentLastMinuteHandshake = false;
  /** Set when the handshake gave up (no response for REKEY_ATTEMPT_TIME); the next session is reported as `first`. */
  private silent = false;
  /** Statistics, bytes on the wire. */
  rxBytes = 0;
  txBytes = 0;

  constructor(private readonly ctx: PeerContext<E>, publicKey: Uint8Array, presharedKey?: Uint8Array) {
    this.handshake = new Handshake(ctx.local, publicKey, presharedKey);
    this.publicKey = this.handshake.remoteStatic;
    this.cookies = new CookieGenerator(this.publicKey, ctx.local.crypto);
    this.timers = new PeerTimers(ctx.rng);
  }

  /* ---------------- sending ---------------- */

  /** The session to send with, if any is usable now. */
  sendableSession(now: number): Session | null {
    const s = this.current;
    return s !== null && s.canSend(now) ? s : null;
  }

  /**
   * Encrypts one packet into dst (see DeviceCore.encapsulate). Returns the message length, or 0 when the packet was
   * staged (a handshake is started if needed; flushed packets go to the outbound queue).
   */
  send(src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number, now: number): number {
    const s = this.sendableSession(now);
    if (s === null || this.staged.length > 0) {
      this.stage(src.slice(srcOff, srcOff + len));
      this.sendStagedPackets(now);
      return 0;
    }
    const n = s.encrypt(src, srcOff, len, dst, dstOff);
    if (n === ENCRYPT_COUNTER_EXHAUSTED) {
      this.stage(src.slice(srcOff, srcOff + len));
      this.sendHandshakeInitiation(now, false, 'rekey');
      return 0;
    }
    this.afterSent(s, len, n, now);
    return n;
  }

  private afterSent(s: Session, plainLen: number, wireLen: number, now: number): void {
    this.txBytes += wireLen;
    this.timers.timersAnyAuthenticatedPacketTraversal(now);
    this.timers.timersAnyAuthenticatedPacketSent();
    if (plainLen > 0) this.timers.timersDataSent(now);
    this.keepKeyFreshSending(s, now);
  }

  private stage(packet: Uint8Array): void {
    if (this.staged.length >= MAX_STAGED_PACKETS) this.staged.shift();
    this.staged.push(packet);
  }

  /** Sends every staged packet if a session is usable, otherwise starts a handshake. */
  sendStagedPackets(now: number, persistentKeepalive = false): void {
    if (this.staged.length === 0) return;
    const s = this.sendableSession(now);
    if (s === null) {
      this.sendHandshakeInitiation(now, false, 'staged');
      return;
    }
    const endpoint = this.endpoint;
    if (endpoint === undefined) return; // nowhere to send yet: keep them staged
    while (this.staged.length > 0) {
      const p = this.staged[0]!;
      const out = new Uint8Array(transportMessageLength(p.length));
      const n = s.encrypt(p, 0, p.length, out, 0);
      if (n === ENCRYPT_COUNTER_EXHAUSTED) {
        this.sendHandshakeInitiation(now, false, 'rekey');
        return;
      }
      this.staged.shift();
      this.ctx.enqueue({ peer: this, endpoint, data: out });
      if (p.length === 0 && this.ctx.events.hasRoom) {
        this.ctx.events.push({ kind: 'keepaliveSent', peer: this, endpoint, persistent: persistentKeepalive });
      }
      this.afterSent(s, p.length, n, now);
    }
  }

  /** Queues a keepalive (an empty packet) unless something is already waiting to go. */
  sendKeepalive(now: number, persistent = false): void {
    if (this.staged.length === 0) this.staged.push(new Uint8Array(0));
    this.sendStagedPackets(now, persistent);
  }

  private keepKeyFreshSending(s: Session, now: number): void {
    if (s.isInitiator && (s.sendCounter > REKEY_AFTER_MESSAGES_NUM || now - s.createdAt > REKEY_AFTER_TIME_MS)) {
      this.sendHandshakeInitiation(now, false, 'rekey');
    }
  }

  /**
   * Creates and queues a handshake initiation; at most one per REKEY_TIMEOUT. A retry keeps the attempt count;
   * a fresh start resets it. `reason` is only reported (events.ts). An initiation that could not be created (no
   * usable private key yet, a low-order peer key) does not count against REKEY_TIMEOUT, so the handshake starts
   * as soon as it can (e.g. when the key arrives).
   */
  sendHandshakeInitiation(now: number, isRetry: boolean, reason: InitiationReason = isRetry ? 'retry' : 'staged'): NoiseError | null {
    if (!isRetry) this.timers.handshakeAttempts = 0;
    if (now - this.lastSentHandshakeAt < REKEY_TIMEOUT_MS) return null;
    this.releaseHandshakeIndex();
    const index = this.ctx.indices.allocate({ peer: this, session: null });
    const msg = this.handshake.createInitiation(this.ctx.local, index, this.ctx.wallClock(now), this.ctx.rng);
    if (typeof msg === 'string') {
      this.ctx.indices.free(index);
      return msg;
    }
    this.lastSentHandshakeAt = now;
    this.cookies.addMacs(msg, INIT_OFF_MAC1, now);
    this.timers.timersAnyAuthenticatedPacketTraversal(now);
    this.timers.timersAnyAuthenticatedPacketSent();
    if (this.endpoint !== undefined) {
      this.ctx.enqueue({ peer: this, endpoint: this.endpoint, data: msg });
      this.txBytes += INITIATION_BYTES;
    }
    if (this.ctx.events.hasRoom) {
      this.ctx.events.push({
        kind: 'initiationSent', peer: this, endpoint: this.endpoint, reason, attempt: this.timers.handshakeAttempts + 1,
      });
    }
    this.timers.timersHandshakeInitiated(now);
    return null;
  }

  /** Records an authenticated packet's source as the endpoint (roaming), reporting a change. */
  private learnEndpoint(source: E): void {
    if (this.endpoint === source) return;
    if (this.ctx.events.hasRoom) this.ctx.events.push({ kind: 'endpointChanged', peer: this, from: this.endpoint, to: source });
    this.endpoint = source;
  }

  /** Reports a session ready to carry data (see events.ts for `first` and `rekey`). */
  private established(initiator: boolean, replaced: Session | null, now: number): void {
    const first = this.timers.lastHandshakeAt === null || this.silent;
    this.silent = false;
    if (this.ctx.events.hasRoom) {
      this.ctx.events.push({
        kind: 'sessionEstablished', peer: this, endpoint: this.endpoint, initiator, first,
        rekey: replaced !== null && replaced.canSend(now),
      });
    }
  }

  private releaseHandshakeIndex(): void {
    const idx = this.handshake.localIndex;
    if (idx !== 0 && this.ctx.indices.get(idx)?.session === null) this.ctx.indices.free(idx);
  }

  /* ---------------- handshake results ---------------- */

  /**
   * Responder: after consumeInitiation() succeeded for this peer, creates the response, installs the new session as
   * `next`, and queues the response to `source`.
   */
  respondToInitiation(source: E, now: number): NoiseError | null {
    this.learnEndpoint(source);
    this.timers.timersAnyAuthenticatedPacketTraversal(now);
    this.timers.timersAnyAuthenticatedPacketReceived();
    this.releaseHandshakeIndex();
    const index = this.ctx.indices.allocate({ peer: this, session: null });
    const msg = this.handshake.createResponse(index, this.ctx.rng);
    if (typeof msg === 'string') {
      this.ctx.indices.free(index);
      return msg;
    }
    this.cookies.addMacs(msg, RESP_OFF_MAC1, now);
    const keys = this.handshake.deriveKeys();
    if (typeof keys === 'string') {
      this.ctx.indices.free(index);
      return keys;
    }
    const session = new Session(keys, now, this.ctx.aead);
    this.ctx.indices.replace(index, { peer: this, session });
    // Responder: the new session waits in `next` until the initiator proves it has it (first data received).
    this.dropSession(this.next);
    this.dropSession(this.previous);
    this.previous = null;
    this.next = session;
    this.timers.timersSessionDerived(now);
    this.timers.timersAnyAuthenticatedPacketTraversal(now);
    this.timers.timersAnyAuthenticatedPacketSent();
    this.ctx.enqueue({ peer: this, endpoint: source, data: msg });
    this.txBytes += RESPONSE_BYTES;
    if (this.ctx.events.hasRoom) this.ctx.events.push({ kind: 'responseSent', peer: this, endpoint: source });
    return null;
  }

  /** Initiator: after consumeResponse() succeeded, installs the session as current and sends what was staged. */
  completeAsInitiator(source: E, now: number): NoiseError | null {
    this.learnEndpoint(source);
    this.timers.timersAnyAuthenticatedPacketTraversal(now);
    this.timers.timersAnyAuthenticatedPacketReceived();
    const keys = this.handshake.deriveKeys();
    if (typeof keys === 'string') return keys;
    const session = new Session(keys, now, this.ctx.aead);
    this.ctx.indices.replace(session.localIndex, { peer: this, session });
    const replaced = this.current;
    if (this.next !== null) {
      this.dropSession(this.previous);
      this.previous = this.next;
      this.next = null;
      this.dropSession(this.current);
    } else {
      this.dropSession(this.previous);
      this.previous = this.current;
    }
    this.current = session;
    this.sentLastMinuteHandshake = false;
    this.established(true, replaced, now);
    this.timers.timersSessionDerived(now);
    this.timers.timersHandshakeComplete(now);
    this.sendKeepalive(now);
    return null;
  }

  /* ---------------- receiving ---------------- */

  /**
   * Bookkeeping after a transport message authenticated on `session` (DeviceCore.decapsulate calls this).
   * `plainLen` 0 means keepalive.
   */
  receivedTransport(session: Session, source: E, wireLen: number, plainLen: number, now: number): void {
    this.rxBytes += wireLen;
    this.learnEndpoint(source);
    this.timers.timersAnyAuthenticatedPacketTraversal(now);
    this.timers.timersAnyAuthenticatedPacketReceived();
    if (session === this.next) {
      // The initiator used the new session: rotate it in.
      const replaced = this.current;
      this.dropSession(this.previous);
      this.previous = this.current;
      this.current = session;
      this.next = null;
      this.established(false, replaced, now);
      this.timers.timersHandshakeComplete(now);
      this.sendStagedPackets(now);
    }
    this.keepKeyFreshReceiving(now);
    if (plainLen > 0) this.timers.timersDataReceived(now);
  }

  private keepKeyFreshReceiving(now: number): void {
    const s = this.current;
    if (s !== null && s.isInitiator && !this.sentLastMinuteHandshake && now - s.createdAt > REKEY_ON_RECEIVE_AFTER_MS) {
      this.sentLastMinuteHandshake = true;
      this.sendHandshakeInitiation(now, false, 'rekey');
    }
  }

  /** Whether `session` is one of this peer's live sessions. */
  owns(session: Session): boolean {
    return session === this.current || session === this.previous || session === this.next;
  }

  /* ---------------- timers ---------------- */

  /** Fires every expired timer. Call at or after timers.nextDeadline(); extra calls are harmless. */
  tick(now: number): void {
    const t = this.timers;
    if (t.retransmitHandshakeAt <= now) {
      t.retransmitHandshakeAt = NEVER;
      this.expiredRetransmitHandshake(now);
    }
    if (t.sendKeepaliveAt <= now) {
      t.sendKeepaliveAt = NEVER;
      this.expiredSendKeepalive(now);
    }
    if (t.newHandshakeAt <= now) {
      t.newHandshakeAt = NEVER;
      this.expiredNewHandshake(now);
    }
    if (t.zeroKeyMaterialAt <= now) {
      t.zeroKeyMaterialAt = NEVER;
      this.expiredZeroKeyMaterial();
    }
    if (t.persistentKeepaliveAt <= now) {
      t.persistentKeepaliveAt = NEVER;
      this.expiredPersistentKeepalive(now);
    }
  }

  /** No response to our initiation: retry, or give up after MAX_TIMER_HANDSHAKES retries (drop staged packets). */
  expiredRetransmitHandshake(now: number): void {
    const t = this.timers;
    if (t.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
      t.sendKeepaliveAt = NEVER;
      this.staged.length = 0;
      if (!this.silent && this.ctx.events.hasRoom) {
        this.ctx.events.push({ kind: 'handshakeGaveUp', peer: this, attempts: t.handshakeAttempts });
      }
      this.silent = true;
      if (t.zeroKeyMaterialAt === NEVER) t.timersSessionDerived(now);
      return;
    }
    t.handshakeAttempts++;
    this.sendHandshakeInitiation(now, true);
  }

  /** We received data and sent nothing back for KEEPALIVE_TIMEOUT. */
  expiredSendKeepalive(now: number): void {
    this.sendKeepalive(now);
    if (this.timers.needAnotherKeepalive) {
      this.timers.needAnotherKeepalive = false;
      this.timers.sendKeepaliveAt = now + KEEPALIVE_TIMEOUT_MS;
    }
  }

  /** We sent data and heard nothing back for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT. */
  expiredNewHandshake(now: number): void {
    this.sendHandshakeInitiation(now, false, 'noReply');
  }

  /** No new session for 3 × REJECT_AFTER_TIME: wipe every key and staged packet. */
  expiredZeroKeyMaterial(): void {
    this.zeroAndFlushAll();
  }

  expiredPersistentKeepalive(now: number): void {
    if (this.timers.persistentKeepaliveIntervalMs > 0) this.sendKeepalive(now, true);
  }

  /** Sets the persistent keepalive interval (0 disables) and, if enabled, sends one now. */
  setPersistentKeepalive(intervalMs: number, now: number): void {
    this.timers.persistentKeepaliveIntervalMs = intervalMs;
    if (intervalMs > 0) this.sendKeepalive(now, true);
    else this.timers.persistentKeepaliveAt = NEVER;
  }

  /* ---------------- teardown ---------------- */

  private dropSession(s: Session | null): void {
    if (s === null) return;
    if (this.ctx.indices.get(s.localIndex)?.session === s) this.ctx.indices.free(s.localIndex);
    s.destroy();
  }

  /** Wipes all sessions, the handshake and staged packets (peer identity and PSK stay). */
  zeroAndFlushAll(): void {
    this.dropSession(this.current);
    this.dropSession(this.previous);
    this.dropSession(this.next);
    this.current = this.previous = this.next = null;
    this.releaseHandshakeIndex();
    this.handshake.clear();
    for (const p of this.staged) wipe(p);
    this.staged.length = 0;
  }

  /** Removes the peer for good: keys wiped, timers stopped. */
  destroy(): void {
    this.zeroAndFlushAll();
    this.timers.stopAll();
    wipe(this.handshake.presharedKey);
    this.handshake.forgetStatic();
  }
}
