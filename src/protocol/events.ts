/**
 * What happened to handshakes and sessions, as data: the protocol core records events in a bounded queue and the
 * device drains it (DeviceCore.takeEvents) to count and log them. The core itself never logs (it has no logger and
 * no clock); the device decides what reaches the log, at which level, and how often.
 *
 * Events are recorded for handshake and session life-cycle steps only (initiations, responses, cookies, sessions,
 * keepalives, roaming, failures of handshake messages), never for ordinary transport data, so the data path pays
 * nothing. A queue that is not drained stops growing at MAX_QUEUED_EVENTS; the overflow is only counted.
 *
 * Events carry public keys (through `peer`) and endpoints, never key material. `P` is the peer type (peer.ts's
 * P; a parameter here so this module stays below peer.ts), `E` the device's endpoint type.
 */
import type { ErrorKind } from './errors.js';

/** Why an initiation was sent (the caller that asked for it, named after the timer or rule that fired). */
export type InitiationReason =
  /** Something (data or a keepalive) waits to be sent and there is no session: the first handshake. */
  | 'staged'
  /** The current session is old (REKEY_AFTER_TIME) or has sent REKEY_AFTER_MESSAGES, or is about to expire. */
  | 'rekey'
  /** No response to the previous initiation within REKEY_TIMEOUT (plus jitter). */
  | 'retry'
  /** We sent data and heard nothing back for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT. */
  | 'noReply';

/** The handshake message a failure concerns. */
export type HandshakeMessage = 'initiation' | 'response' | 'cookieReply';

export type ProtocolEvent<P, E> =
  | { kind: 'initiationSent'; peer: P; endpoint: E | undefined; reason: InitiationReason; attempt: number }
  | { kind: 'initiationReceived'; peer: P; endpoint: E }
  | { kind: 'responseSent'; peer: P; endpoint: E }
  | { kind: 'responseReceived'; peer: P; endpoint: E }
  /** Under load: an initiation or response without a valid mac2 was answered with a cookie reply. */
  | { kind: 'cookieSent'; endpoint: E; message: 'initiation' | 'response' }
  | { kind: 'cookieReceived'; peer: P }
  /**
   * A session is ready to carry data. `first`: the peer never had a session before, or had been given up on
   * (handshakeGaveUp) since its last one. `rekey`: it replaces a session that was still usable.
   */
  | { kind: 'sessionEstablished'; peer: P; endpoint: E | undefined; initiator: boolean; first: boolean; rekey: boolean }
  /** An empty transport message went out: `persistent` when the PersistentKeepalive timer sent it. */
  | { kind: 'keepaliveSent'; peer: P; endpoint: E; persistent: boolean }
  /** An authenticated packet arrived from another address than the peer's endpoint (roaming). */
  | { kind: 'endpointChanged'; peer: P; from: E | undefined; to: E }
  /**
   * A handshake message was rejected. `peer` when the message could be tied to one (a response to one of our
   * initiations, an initiation whose sender decrypted to a configured peer); `unknownKey` is the public key of an
   * initiator that is not our peer (public, safe to show).
   */
  | {
    kind: 'handshakeFailed'; message: HandshakeMessage; reason: ErrorKind; peer: P | null; endpoint: E;
    unknownKey?: Uint8Array;
  }
  /** No response after MAX_TIMER_HANDSHAKES retries (REKEY_ATTEMPT_TIME): the peer is silent; staged packets dropped. */
  | { kind: 'handshakeGaveUp'; peer: P; attempts: number };

export type ProtocolEventKind = ProtocolEvent<unknown, unknown>['kind'];

/** Events kept between two drains; beyond this they are counted in `lost` and dropped. */
export const MAX_QUEUED_EVENTS = 1024;

/** The bounded queue DeviceCore and its peers record into. */
export class EventQueue<P, E> {
  private events: ProtocolEvent<P, E>[] = [];
  /** Events dropped because the queue was full (nobody drained it). */
  lost = 0;

  /** Whether another event fits; check before building one, so a full queue costs no allocation. */
  get hasRoom(): boolean {
    if (this.events.length < MAX_QUEUED_EVENTS) return true;
    this.lost++;
    return false;
  }

  push(event: ProtocolEvent<P, E>): void {
    if (this.events.length < MAX_QUEUED_EVENTS) this.events.push(event);
    else this.lost++;
  }

  /** Returns and clears the recorded events, oldest first. */
  take(): ProtocolEvent<P, E>[] {
    const out = this.events;
    this.events = [];
    return out;
  }
}
