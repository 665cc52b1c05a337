/**
 * Turns the protocol core's events (protocol/events.ts) into counters and log lines, so an admin can see why a peer
 * does or does not connect:
 *
 *   - every event is counted in DeviceStats.handshakes (always, whatever the log level);
 *   - at debug: initiations, responses and cookies sent and received, sessions established (and rekeys),
 *     keepalives, roaming, and every rejected handshake message with its reason in words;
 *   - at info: a peer's first session (or its first after going silent) and a peer going silent (the handshake
 *     gave up after REKEY_ATTEMPT_TIME);
 *   - each line names the peer by its abbreviated public key (never a private or preshared key) and its endpoint.
 *
 * A flood must not fill a disk: each kind of line has its own token bucket (LOG_LINES_PER_S sustained, LOG_BURST
 * back to back). Lines over the limit are counted, and the next line of that kind that gets through is preceded by
 * "suppressed N ... lines"; close() reports what is still pending.
 */
import { encodeKey } from '../crypto/keys.js';
import { shortKey, type Logger } from '../log.js';
import type { Endpoint } from '../net/endpoint.js';
import {
  HANDSHAKE_INITIATION_RATE_MS, REKEY_ATTEMPT_TIME_MS, TokenBucket, type ErrorKind, type HandshakeMessage,
  type Peer, type PeerEvent,
} from '../protocol/index.js';
import type { HandshakeStats } from './stats.js';
import { MS_PER_S } from '../protocol/constants.js';

/** Log lines of one kind per second, sustained. */
export const LOG_LINES_PER_S = 2;
/** Log lines of one kind back to back before the rate applies. */
export const LOG_BURST = 20;


type Line = 'debug' | 'info';
/** What a bucket limits: one per event kind and level, failures one per reason. */
type LineKind = string;

const MESSAGE_NAMES: Readonly<Record<HandshakeMessage, string>> = {
  initiation: 'handshake initiation',
  response: 'handshake response',
  cookieReply: 'cookie reply',
};

/** Why a handshake message was rejected, in words an admin can act on. */
export function failureText(message: HandshakeMessage, reason: ErrorKind): string {
  switch (reason) {
    case 'invalidMac1':
      return 'MAC1 is wrong (the sender does not have our public key, or the datagram is not WireGuard)';
    case 'decryptFailed':
      return message === 'response'
        ? 'decryption failed (PresharedKey mismatch, or the peer holds another public key for us)'
        : 'decryption failed (the sender does not have our public key)';
    case 'unknownPeer':
      return 'unknown peer: the initiator\'s public key is not configured here';
    case 'replayedTimestamp':
      return 'replayed timestamp (an old initiation sent again, or the peer\'s clock went backwards)';
    case 'initiationFlood':
      return `rate-limited: more than one initiation per ${HANDSHAKE_INITIATION_RATE_MS} ms from this peer`;
    case 'rateLimited':
      return 'rate-limited: under load, this source sent more handshakes than its share';
    case 'unknownIndex':
      return 'not an answer to any handshake in progress (unknown receiver index; a late or duplicate reply)';
    case 'invalidCookieReply':
      return 'the cookie reply did not decrypt (not an answer to our latest message)';
    case 'badPublicKey':
      return 'a low-order public key (the handshake can never succeed)';
    case 'invalidState':
      return 'unexpected in the handshake\'s current state';
    case 'noPrivateKey':
      return 'this device has no private key yet';
    default:
      return reason;
  }
}

export class HandshakeLog {
  private readonly buckets = new Map<LineKind, TokenBucket>();
  private readonly suppressed = new Map<LineKind, number>();
  private readonly names = new WeakMap<Peer<Endpoint>, string>();

  constructor(
    private readonly log: Logger,
    private readonly stats: HandshakeStats,
    private readonly limits: { perSecond: number; burst: number } = { perSecond: LOG_LINES_PER_S, burst: LOG_BURST },
  ) {}

  /** Counts and logs a drained batch of events; `now` is the device's monotonic ms. */
  record(events: readonly PeerEvent<Endpoint>[], now: number): void {
    const debug = this.log.isLevelEnabled('debug');
    for (const e of events) {
      this.count(e);
      this.describe(e, now, debug);
    }
  }

  /** Reports lines still suppressed (at close). */
  close(): void {
    for (const [kind, n] of this.suppressed) if (n > 0) this.log.info({ kind, suppressed: n }, `suppressed ${n} "${kind}" log lines`);
    this.suppressed.clear();
  }

  private count(e: PeerEvent<Endpoint>): void {
    const s = this.stats;
    switch (e.kind) {
      case 'initiationSent':
        if (e.endpoint !== undefined) s.initiationsSent++;
        return;
      case 'initiationReceived': s.initiationsReceived++; return;
      case 'responseSent': s.responsesSent++; return;
      case 'responseReceived': s.responsesReceived++; return;
      case 'cookieSent': s.cookiesSent++; return;
      case 'cookieReceived': s.cookiesReceived++; return;
      case 'sessionEstablished': s.completed++; return;
      case 'keepaliveSent': s.keepalivesSent++; return;
      case 'handshakeGaveUp': s.gaveUp++; return;
      case 'handshakeFailed': s.failed[e.reason] = (s.failed[e.reason] ?? 0) + 1; return;
      case 'endpointChanged': return;
    }
  }

  private describe(e: PeerEvent<Endpoint>, now: number, debug: boolean): void {
    switch (e.kind) {
      case 'initiationSent':
        if (!debug) return;
        if (e.endpoint === undefined) {
          this.emit('debug', e.kind, now, { peer: this.name(e.peer) }, `handshake initiation for peer ${this.name(e.peer)} not sent: it has no endpoint yet`);
        } else {
          this.emit('debug', e.kind, now, { peer: this.name(e.peer), endpoint: e.endpoint.toString(), reason: e.reason, attempt: e.attempt },
            `handshake initiation sent to peer ${this.who(e.peer, e.endpoint)} (${e.reason}${e.attempt > 1 ? `, attempt ${e.attempt}` : ''})`);
        }
        return;
      case 'initiationReceived':
        if (debug) this.emit('debug', e.kind, now, this.fields(e.peer, e.endpoint), `handshake initiation received from peer ${this.who(e.peer, e.endpoint)}`);
        return;
      case 'responseSent':
        if (debug) this.emit('debug', e.kind, now, this.fields(e.peer, e.endpoint), `handshake response sent to peer ${this.who(e.peer, e.endpoint)}`);
        return;
      case 'responseReceived':
        if (debug) this.emit('debug', e.kind, now, this.fields(e.peer, e.endpoint), `handshake response received from peer ${this.who(e.peer, e.endpoint)}`);
        return;
      case 'cookieSent':
        if (debug) {
          this.emit('debug', e.kind, now, { endpoint: e.endpoint.toString() },
            `under load: cookie reply sent to ${e.endpoint.toString()} instead of processing its ${MESSAGE_NAMES[e.message]}`);
        }
        return;
      case 'cookieReceived':
        if (debug) this.emit('debug', e.kind, now, { peer: this.name(e.peer) }, `cookie reply received from peer ${this.name(e.peer)}: it is under load; the next handshake carries the cookie`);
        return;
      case 'sessionEstablished': {
        const role = e.initiator ? 'initiator' : 'responder';
        if (e.first) {
          this.emit('info', 'firstSession', now, { ...this.fields(e.peer, e.endpoint), role },
            `peer ${this.who(e.peer, e.endpoint)}: handshake complete, session established (${role})`);
        } else if (debug) {
          this.emit('debug', e.kind, now, { ...this.fields(e.peer, e.endpoint), role, rekey: e.rekey },
            `session ${e.rekey ? 'rekeyed' : 'established'} with peer ${this.who(e.peer, e.endpoint)} (${role})`);
        }
        return;
      }
      case 'keepaliveSent':
        if (debug) {
          this.emit('debug', e.kind, now, this.fields(e.peer, e.endpoint),
            `${e.persistent ? 'persistent ' : ''}keepalive sent to peer ${this.who(e.peer, e.endpoint)}`);
        }
        return;
      case 'endpointChanged': {
        const to = e.to.toString();
        const from = e.from?.toString();
        if (debug && from !== to) {
          this.emit('debug', e.kind, now, { peer: this.name(e.peer), from: from ?? null, to },
            from === undefined ? `peer ${this.name(e.peer)} is at ${to}` : `peer ${this.name(e.peer)} roamed from ${from} to ${to}`);
        }
        return;
      }
      case 'handshakeFailed': {
        if (!debug) return;
        const what = MESSAGE_NAMES[e.message];
        const source = e.endpoint.toString();
        const who = e.peer !== null
          ? ` (peer ${this.name(e.peer)})`
          : e.unknownKey !== undefined ? ` (public key ${shortKey(encodeKey(e.unknownKey))})` : '';
        this.emit('debug', `failed:${e.reason}`, now, { endpoint: source, reason: e.reason, ...(e.peer && { peer: this.name(e.peer) }) },
          `${what} from ${source}${who} rejected: ${failureText(e.message, e.reason)}`);
        return;
      }
      case 'handshakeGaveUp': {
        const seconds = Math.round(REKEY_ATTEMPT_TIME_MS / MS_PER_S);
        this.emit('info', e.kind, now, { peer: this.name(e.peer), endpoint: e.peer.endpoint?.toString() ?? null, attempts: e.attempts },
          `peer ${this.who(e.peer, e.peer.endpoint)} is silent: no handshake response in ${seconds} s (${e.attempts} attempts); ` +
          'trying again when there is traffic for it');
        return;
      }
    }
  }

  /** Logs one line unless its kind's bucket is empty (then it is counted for the next summary). */
  private emit(level: Line, kind: LineKind, now: number, fields: Record<string, unknown>, message: string): void {
    if (!this.log.isLevelEnabled(level)) return;
    let bucket = this.buckets.get(kind);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.limits.perSecond, this.limits.burst);
      this.buckets.set(kind, bucket);
    }
    if (!bucket.allow(now)) {
      this.suppressed.set(kind, (this.suppressed.get(kind) ?? 0) + 1);
      return;
    }
    const skipped = this.suppressed.get(kind) ?? 0;
    if (skipped > 0) {
      this.suppressed.set(kind, 0);
      this.log[level]({ kind, suppressed: skipped }, `suppressed ${skipped} "${kind}" log lines (more than ${this.limits.perSecond} a second)`);
    }
    this.log[level](fields, message);
  }

  private name(peer: Peer<Endpoint>): string {
    let n = this.names.get(peer);
    if (n === undefined) {
      n = shortKey(encodeKey(peer.publicKey));
      this.names.set(peer, n);
    }
    return n;
  }

  private who(peer: Peer<Endpoint>, endpoint: Endpoint | undefined): string {
    return endpoint === undefined ? this.name(peer) : `${this.name(peer)} (${endpoint.toString()})`;
  }

  private fields(peer: Peer<Endpoint>, endpoint: Endpoint | undefined): Record<string, unknown> {
    return { peer: this.name(peer), endpoint: endpoint?.toString() ?? null };
  }
}
