/**
 * The device core: our static key, the peers (by public key), the receiver-index table, the allowed-IPs trie and
 * the cookie checker. Turns inputs into results and queued datagrams; does no I/O and reads no clock.
 *
 *   decapsulate(datagram from the network) → Result (tunnel packet written into the caller's buffer | done | error)
 *   encapsulate(packet from the TUN)        → bytes written into the caller's buffer (0: staged for a handshake)
 *   tick(now)                               → fires peer timers
 *   takeOutbound()                          → every other datagram to send (handshakes, keepalives, staged data,
 *                                             cookie replies); drain it after each call or batch.
 *   takeEvents()                            → what happened to handshakes and sessions (events.ts), for the
 *                                             device to count and log; bounded, so draining it is optional.
 *
 * `E` is the device's endpoint type (e.g. "address:port" or a sockaddr object); the core only stores and returns it.
 * Contract: single-threaded; a returned Result object may be reused by the next call (copy what you keep).
 */
import type { HandshakeCrypto } from '../crypto/handshake-crypto.js';
import type { Rng } from '../crypto/random.js';
import { constantTimeEqual } from '../crypto/keys.js';
import { AllowedIps, type Family } from './allowedips.js';
import { DeadlineHeap } from './deadline-heap.js';
import { CookieChecker } from './cookie.js';
import { IndexTable } from './index-table.js';
import { HandshakeLoad } from './load.js';
import {
  classify, INIT_OFF_MAC1, parseCookieReply, parseInitiation, parseResponse, readU32LE, RESP_OFF_MAC1,
  transportCounterHi, transportCounterLo, transportReceiver,
} from './messages.js';
import { consumeInitiation, LocalStatic } from './noise.js';
import type { ErrorKind } from './errors.js';
import { Peer, type IndexEntry, type Outbound, type PeerContext, type PeerEvent } from './peer.js';
import { EventQueue, type HandshakeMessage } from './events.js';
import { DECRYPT_AUTH_FAILED, DECRYPT_REPLAYED, type Session } from './session.js';
import { RateLimiter } from './ratelimiter.js';
import { COOKIE_REPLIES_PER_SOURCE_PER_S, COOKIE_REPLY_BURST_PER_SOURCE, TRANSPORT_HEADER_BYTES } from './constants.js';
import { TRANSPORT_TAG_LEN, type TransportAead } from '../crypto/transport-aead.js';
import {
  IPV4_DESTINATION_OFFSET, IPV4_MIN_HEADER_BYTES, IPV4_SOURCE_OFFSET, IPV6_DESTINATION_OFFSET, IPV6_HEADER_BYTES,
  IPV6_SOURCE_OFFSET, ipPacketLength,
} from '../packet/ip-header.js';

export type { ErrorKind } from './errors.js';

export type Result<E> =
  | { kind: 'done'; peer: Peer<E> | null } // consumed (handshake, cookie, keepalive); check takeOutbound()
  | { kind: 'error'; error: ErrorKind }
  | { kind: 'tunnel'; peer: Peer<E>; offset: number; length: number } // IP packet at dst[offset, offset+length)
  | { kind: 'pending' }; // a transport message queued in the receive batch: its result comes from finishReceive()

/** A transport message of the receive batch, between queueDecrypt and its result. */
interface PendingTransport<E> {
  peer: Peer<E>;
  session: Session;
  source: E;
  /** Wire length of the message. */
  len: number;
  hi: number;
  lo: number;
  dstOff: number;
  /** Index of its open job in the aead's batch. */
  job: number;
}

const PENDING = Object.freeze({ kind: 'pending' as const });

export interface DeviceCoreOptions<E> {
  privateKey: Uint8Array;
  rng: Rng;
  /**
   * The transport cipher (crypto/transport-aead.ts): the native backend in the device, the reference in tests. The
   * core alone drives its batches (beginSend … finishSend, beginReceive … finishReceive).
   */
  aead: TransportAead;
  /**
   * The handshake's primitives (crypto/handshake-crypto.ts): nativeHandshakeCrypto in the device,
   * referenceHandshakeCrypto in tests, so the core runs without the addon.
   */
  handshakeCrypto: HandshakeCrypto;
  /** Unix ms minus monotonic ms, so TAI64N timestamps are wall-clock based but never go backwards. */
  epochOffsetMs: number;
  /** Bytes identifying an endpoint (address || port) for cookies; only called for handshakes under load. */
  endpointBytes: (endpoint: E) => Uint8Array;
  /**
   * The endpoint's IP address (4 bytes IPv4, 16 bytes IPv6), the key of the per-source handshake rate limiter;
   * only called for handshakes under load. Absent: endpointBytes(endpoint) is the key (per address and port,
   * which a source with many ports could spread over).
   */
  endpointAddress?: (endpoint: E) => Uint8Array;
  /** Handshake messages per second that put the protocol under load (default UNDER_LOAD_HANDSHAKES_PER_S). */
  underLoadHandshakesPerSecond?: number;
}

export class DeviceCore<E> {
  readonly local: LocalStatic;
  readonly allowedIps = new AllowedIps<Peer<E>>();
  /**
   * Forces the under-load behaviour (tests, or a caller with a congestion signal of its own). Without it the
   * protocol goes under load by itself when handshake messages arrive faster than underLoadHandshakesPerSecond.
   */
  underLoad = false;
  private readonly handshakeLoad: HandshakeLoad;
  /** Per-source handshake limiter, applied under load after the mac2 check (see ratelimiter.ts). */
  readonly rateLimiter = new RateLimiter();
  /**
   * Per-source limit on cookie replies: a flood of initiations from one address (spoofed or not) gets a few
   * replies a second, not one each, so tunvpn never amplifies a flood towards the address it names.
   */
  readonly cookieLimiter = new RateLimiter({ perSecond: COOKIE_REPLIES_PER_SOURCE_PER_S, burst: COOKIE_REPLY_BURST_PER_SOURCE });
  private readonly peers = new Map<string, Peer<E>>();
  private readonly ctx: PeerContext<E>;
  private readonly checker: CookieChecker;
  private outbound: Outbound<E>[] = [];
  private readonly events = new EventQueue<Peer<E>, E>();
  private readonly tunnelResult = { kind: 'tunnel' as const, peer: null as unknown as Peer<E>, offset: 0, length: 0 };
  private readonly errors = new Map<ErrorKind, Result<E>>();
  /** Every peer with a timer pending, by its earliest deadline (deadline-heap.ts). */
  private readonly timerHeap = new DeadlineHeap<Peer<E>>();
  /** The receive batch (beginReceive … finishReceive): its plaintext buffer and its queued messages, in order. */
  private batchDst: Uint8Array | null = null;
  private readonly pending: PendingTransport<E>[] = [];
  private pendingCount = 0;

  constructor(private readonly opts: DeviceCoreOptions<E>) {
    this.local = new LocalStatic(opts.privateKey, opts.handshakeCrypto);
    this.handshakeLoad = new HandshakeLoad(opts.underLoadHandshakesPerSecond);
    this.checker = new CookieChecker(this.local.publicKey, opts.rng, opts.handshakeCrypto);
    this.ctx = {
      local: this.local,
      rng: opts.rng,
      aead: opts.aead,
      indices: new IndexTable<IndexEntry<E>>(opts.rng),
      enqueue: (datagram) => void this.outbound.push(datagram),
      wallClock: (now) => now + opts.epochOffsetMs,
      events: this.events,
    };
  }

  /* ---------------- peers ---------------- */

  addPeer(publicKey: Uint8Array, presharedKey?: Uint8Array): Peer<E> {
    const id = keyId(publicKey);
    if (this.peers.has(id)) throw new Error('peer already exists');
    if (constantTimeEqual(publicKey, this.local.publicKey)) throw new Error('peer key equals our own public key');
    const peer = new Peer<E>(this.ctx, publicKey, presharedKey);
    this.peers.set(id, peer);
    return peer;
  }

  getPeer(publicKey: Uint8Array): Peer<E> | undefined {
    return this.peers.get(keyId(publicKey));
  }

  removePeer(peer: Peer<E>): void {
    this.timerHeap.remove(peer);
    this.peers.delete(keyId(peer.publicKey));
    this.allowedIps.removeByValue(peer);
    peer.destroy();
  }

  allPeers(): IterableIterator<Peer<E>> {
    return this.peers.values();
  }

  /** The peer whose allowed IPs contain the destination of the IP packet at buf[off, off+len), if any. */
  routeFor(buf: Uint8Array, off: number, len: number): Peer<E> | undefined {
    if (len < 1) return undefined;
    const v = buf[off]! >>> 4;
    if (v === 4 && len >= IPV4_MIN_HEADER_BYTES) return this.allowedIps.lookup(4, buf, off + IPV4_DESTINATION_OFFSET);
    if (v === 6 && len >= IPV6_HEADER_BYTES) return this.allowedIps.lookup(6, buf, off + IPV6_DESTINATION_OFFSET);
    return undefined;
  }

  /* ---------------- outbound ---------------- */

  /** Returns and clears the queued datagrams. */
  takeOutbound(): Outbound<E>[] {
    const out = this.outbound;
    this.outbound = [];
    return out;
  }

  /**
   * Encrypts the IP packet src[srcOff, srcOff+len) for `peer` into dst at dstOff (which needs
   * transportMessageLength(len) bytes). Returns the datagram length to send to peer.endpoint, or 0 when the packet
   * was staged (handshake started) or flushed through takeOutbound().
   */
  encapsulate(peer: Peer<E>, src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number, now: number): number {
    const n = peer.send(src, srcOff, len, dst, dstOff, now);
    this.timersChanged(peer);
    return n;
  }

  /* ---------------- batched send ---------------- */

  /**
   * Starts a send batch: until finishSend(), encapsulate() from `src` into `dst` queues the seal of each packet (the
   * header is written at once) instead of sealing it, so the batch's seals run in one aead call at the next
   * flushSend() or finishSend(). The ciphertext of a returned length is only in `dst` after that: flush before
   * sending the datagrams. Encapsulations of other buffers are sealed at once. The mirror of beginReceive().
   */
  beginSend(src: Uint8Array, dst: Uint8Array): void {
    this.ctx.aead.beginSeals(src, dst);
  }

  /** Seals every packet queued since beginSend() or the last flushSend(), in one aead call; the batch goes on. */
  flushSend(): void {
    this.ctx.aead.flushSeals();
  }

  /** Seals what is still queued and ends the send batch. */
  finishSend(): void {
    this.ctx.aead.endSeals();
  }

  /** Returns and clears the recorded handshake and session events, oldest first (see events.ts). */
  takeEvents(): PeerEvent<E>[] {
    return this.events.take();
  }

  /** Events dropped because nobody drained the queue in time (see MAX_QUEUED_EVENTS). */
  get eventsLost(): number {
    return this.events.lost;
  }

  /**
   * Monotonic ms until which too many handshake messages with a valid MAC1 keep the protocol under load by
   * themselves (HOLD_MS after the last busy second; -Infinity when never). The forced `underLoad` is not in it.
   */
  get handshakeLoadUntil(): number {
    return this.handshakeLoad.until;
  }

  /** Whether handshakes currently need a cookie (forced, or more than underLoadHandshakesPerSecond arrived). */
  isUnderLoad(now: number): boolean {
    return this.underLoad || this.handshakeLoad.busy(now);
  }

  /* ---------------- inbound ---------------- */

  /**
   * Processes the datagram buf[off, off+len) from `source`. Transport data is decrypted into dst at dstOff (which
   * needs len - 32 bytes; dst may be buf with dstOff = off + 16 for in-place). Never throws on wire input.
   */
  decapsulate(buf: Uint8Array, off: number, len: number, source: E, now: number, dst: Uint8Array, dstOff: number): Result<E> {
    const r = this.receive(buf, off, len, source, now, dst, dstOff);
    if ((r.kind === 'done' || r.kind === 'tunnel') && r.peer !== null) this.timersChanged(r.peer);
    return r;
  }

  private receive(buf: Uint8Array, off: number, len: number, source: E, now: number, dst: Uint8Array, dstOff: number): Result<E> {
    const type = classify(buf, off, len);
    switch (type) {
      case 4: return this.receiveTransport(buf, off, len, source, now, dst, dstOff);
      case 1: return this.receiveInitiation(buf.subarray(off, off + len), source, now);
      case 2: return this.receiveResponse(buf.subarray(off, off + len), source, now);
      case 3: return this.receiveCookieReply(buf.subarray(off, off + len), source, now);
      default: return this.error(type);
    }
  }

  /* ---------------- batched receive ---------------- */

  /**
   * Starts a receive batch: until finishReceive(), transport messages read from `src` are queued, to be opened
   * into `dst` (at the dstOff each decapsulate call gives) all in one aead call; decapsulate answers 'pending' for
   * them. Handshake and cookie messages are still handled at once, in arrival order, so a session a response
   * completes serves the transport messages queued after it.
   */
  beginReceive(src: Uint8Array, dst: Uint8Array): void {
    this.ctx.aead.beginOpens(src, dst);
    this.batchDst = dst;
    this.pendingCount = 0;
  }

  /** Whether the receive batch cannot take another transport message: call finishReceive() first. */
  get receiveBatchFull(): boolean {
    return this.ctx.aead.openQueueFull;
  }

  /**
   * Opens every queued transport message in one aead call and hands each one's result to `deliver`, in arrival
   * order ('tunnel', 'done' for a keepalive, or 'error'; the Result object may be reused after `deliver` returns).
   * Ends the batch.
   */
  finishReceive(now: number, deliver: (r: Result<E>) => void): void {
    const dst = this.batchDst;
    this.batchDst = null;
    if (dst === null) return;
    const aead = this.ctx.aead;
    aead.runOpens();
    const n = this.pendingCount;
    this.pendingCount = 0;
    for (let k = 0; k < n; k++) {
      const p = this.pending[k]!;
      let r: Result<E>;
      if (!aead.opened(p.job)) r = this.error('authFailed');
      else if (!p.peer.owns(p.session)) r = this.error('unknownIndex'); // the session went away meanwhile
      else if (!p.session.acceptCounter(p.hi, p.lo)) r = this.error('replayedCounter');
      else r = this.delivered(p.peer, p.session, p.source, p.len, p.len - TRANSPORT_HEADER_BYTES - TRANSPORT_TAG_LEN, now, dst, p.dstOff);
      if (r.kind !== 'error') this.timersChanged(p.peer);
      deliver(r);
    }
  }

  private queueTransport(peer: Peer<E>, session: Session, buf: Uint8Array, off: number, len: number, source: E, dstOff: number): Result<E> {
    const job = session.queueDecrypt(buf, off, len, dstOff);
    if (job === DECRYPT_AUTH_FAILED) return this.error('authFailed');
    if (job === DECRYPT_REPLAYED) return this.error('replayedCounter');
    let p = this.pending[this.pendingCount];
    if (p === undefined) {
      p = { peer, session, source, len, hi: 0, lo: 0, dstOff, job };
      this.pending.push(p);
    }
    this.pendingCount++;
    p.peer = peer;
    p.session = session;
    p.source = source;
    p.len = len;
    p.hi = transportCounterHi(buf, off);
    p.lo = transportCounterLo(buf, off);
    p.dstOff = dstOff;
    p.job = job;
    return PENDING;
  }

  private receiveTransport(buf: Uint8Array, off: number, len: number, source: E, now: number, dst: Uint8Array, dstOff: number): Result<E> {
    const entry = this.ctx.indices.get(transportReceiver(buf, off));
    const session = entry?.session;
    if (entry === undefined || session === null || session === undefined || !entry.peer.owns(session)) {
      return this.error('unknownIndex');
    }
    if (!session.canReceive(now)) return this.error('expiredSession');
    if (this.batchDst !== null && dst === this.batchDst) return this.queueTransport(entry.peer, session, buf, off, len, source, dstOff);
    const n = session.decrypt(buf, off, len, dst, dstOff);
    if (n === DECRYPT_AUTH_FAILED) return this.error('authFailed');
    if (n === DECRYPT_REPLAYED) return this.error('replayedCounter');
    return this.delivered(entry.peer, session, source, len, n, now, dst, dstOff);
  }

  /**
   * The rest of receiving an authenticated, fresh transport message of `len` wire bytes whose `n` plaintext bytes
   * are at dst[dstOff]: peer bookkeeping, then the inner packet's checks.
   */
  private delivered(peer: Peer<E>, session: Session, source: E, len: number, n: number, now: number, dst: Uint8Array, dstOff: number): Result<E> {
    peer.receivedTransport(session, source, len, n, now);
    if (n === 0) return { kind: 'done', peer };
    const inner = ipPacketLength(dst, dstOff, n);
    if (inner < 0) return this.error('badInnerPacket');
    const family: Family = (dst[dstOff]! >>> 4) === 4 ? 4 : 6;
    const srcOff = dstOff + (family === 4 ? IPV4_SOURCE_OFFSET : IPV6_SOURCE_OFFSET);
    if (this.allowedIps.lookup(family, dst, srcOff) !== peer) return this.error('disallowedSource');
    const r = this.tunnelResult;
    r.peer = peer;
    r.offset = dstOff;
    r.length = inner;
    return r;
  }

  /**
   * mac1 always; under load also mac2, answering with a cookie reply when it is missing or stale (at most
   * COOKIE_REPLIES_PER_SOURCE_PER_S per source address), and then the per-source rate limit (as wireguard-go and the kernel: only messages whose source proved its address by a
   * valid mac2 reach the limiter, so spoofed floods cannot fill it or spend a real source's share).
   */
  private checkMacs(msg: Uint8Array, mac1Off: number, source: E, now: number): ErrorKind | null {
    if (!this.checker.checkMac1(msg, mac1Off)) return 'invalidMac1';
    this.handshakeLoad.count(now);
    if (!this.underLoad && !this.handshakeLoad.busy(now)) return null;
    const sourceBytes = this.opts.endpointBytes(source);
    if (this.checker.checkMac2(msg, mac1Off, sourceBytes, now)) {
      const address = this.opts.endpointAddress?.(source) ?? sourceBytes;
      return this.rateLimiter.allow(address, now) ? null : 'rateLimited';
    }
    if (!this.cookieLimiter.allow(this.opts.endpointAddress?.(source) ?? sourceBytes, now)) return 'cookieRateLimited';
    const sender = readU32LE(msg, 4);
    const reply = this.checker.createReply(msg, mac1Off, sender, sourceBytes, now);
    this.outbound.push({ peer: null, endpoint: source, data: reply });
    if (this.events.hasRoom) {
      this.events.push({ kind: 'cookieSent', endpoint: source, message: mac1Off === INIT_OFF_MAC1 ? 'initiation' : 'response' });
    }
    return 'cookieSent';
  }

  private receiveInitiation(msg: Uint8Array, source: E, now: number): Result<E> {
    const macErr = this.checkMacs(msg, INIT_OFF_MAC1, source, now);
    if (macErr !== null) return this.failed('initiation', macErr, null, source);
    // The sender's static key, once decrypted: names the peer in a failure, or the stranger for unknownPeer.
    let sender: Peer<E> | undefined;
    let stranger: Uint8Array | undefined;
    const consumed = consumeInitiation(this.local, parseInitiation(msg, 0), (key) => {
      sender = this.peers.get(keyId(key));
      if (sender === undefined) stranger = Uint8Array.from(key);
      return sender === undefined ? undefined : { peer: sender, handshake: sender.handshake };
    }, now);
    if (typeof consumed === 'string') return this.failed('initiation', consumed, sender ?? null, source, stranger);
    if (this.events.hasRoom) this.events.push({ kind: 'initiationReceived', peer: consumed.peer, endpoint: source });
    const err = consumed.peer.respondToInitiation(source, now);
    if (err !== null) return this.failed('initiation', err, consumed.peer, source);
    return { kind: 'done', peer: consumed.peer };
  }

  private receiveResponse(msg: Uint8Array, source: E, now: number): Result<E> {
    const macErr = this.checkMacs(msg, RESP_OFF_MAC1, source, now);
    if (macErr !== null) return this.failed('response', macErr, null, source);
    const parsed = parseResponse(msg, 0);
    const entry = this.ctx.indices.get(parsed.receiverIndex);
    if (entry === undefined || entry.session !== null) return this.failed('response', 'unknownIndex', null, source);
    const peer = entry.peer;
    const err = peer.handshake.consumeResponse(this.local, parsed);
    if (err !== null) return this.failed('response', err, peer, source);
    if (this.events.hasRoom) this.events.push({ kind: 'responseReceived', peer, endpoint: source });
    const err2 = peer.completeAsInitiator(source, now);
    if (err2 !== null) return this.failed('response', err2, peer, source);
    return { kind: 'done', peer };
  }

  private receiveCookieReply(msg: Uint8Array, source: E, now: number): Result<E> {
    const reply = parseCookieReply(msg, 0);
    const entry = this.ctx.indices.get(reply.receiverIndex);
    if (entry === undefined) return this.failed('cookieReply', 'unknownIndex', null, source);
    if (!entry.peer.cookies.consumeReply(reply, now)) return this.failed('cookieReply', 'invalidCookieReply', entry.peer, source);
    if (this.events.hasRoom) this.events.push({ kind: 'cookieReceived', peer: entry.peer });
    return { kind: 'done', peer: entry.peer };
  }

  /** A rejected handshake message: recorded as an event (a cookie sent is its own event), returned as an error. */
  private failed(message: HandshakeMessage, reason: ErrorKind, peer: Peer<E> | null, source: E, unknownKey?: Uint8Array): Result<E> {
    if (reason !== 'cookieSent' && this.events.hasRoom) {
      this.events.push(unknownKey === undefined
        ? { kind: 'handshakeFailed', message, reason, peer, endpoint: source }
        : { kind: 'handshakeFailed', message, reason, peer, endpoint: source, unknownKey });
    }
    return this.error(reason);
  }

  private error(kind: ErrorKind): Result<E> {
    let r = this.errors.get(kind);
    if (r === undefined) {
      r = Object.freeze({ kind: 'error' as const, error: kind });
      this.errors.set(kind, r);
    }
    return r;
  }

  /* ---------------- timers ---------------- */

  /**
   * After anything outside the core moved a peer's timers (e.g. the device turned its persistent keepalive on):
   * keeps the peer's place in the timer heap. An earlier deadline moves it up at once; a later one is left for
   * when its old key comes up (deadline-heap.ts). O(1) when nothing moved earlier.
   */
  timersChanged(peer: Peer<E>): void {
    const d = peer.timers.nextDeadline();
    if (d < peer.heapKey) this.timerHeap.set(peer, d);
  }

  /**
   * Fires the expired timers of the peers whose deadline has come, in deadline order; resulting datagrams go to
   * takeOutbound(). Peers whose timers are all later cost nothing.
   */
  tick(now: number): void {
    const heap = this.timerHeap;
    // Each peer comes up at most once per call: after its tick its deadline is later than now (or it is gone).
    for (let guard = heap.size; guard > 0 && heap.peekKey() <= now; guard--) {
      const peer = heap.peek()!;
      peer.tick(now);
      const d = peer.timers.nextDeadline();
      heap.set(peer, d > now ? d : now + 1);
    }
    this.rateLimiter.collect(now);
  }

  /** Earliest timer deadline over all peers (monotonic ms; may be early, never late), or Infinity. */
  nextDeadline(): number {
    return this.timerHeap.peekKey();
  }
}

/** Map key for a 32-byte public key. */
function keyId(key: Uint8Array): string {
  let s = '';
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
}

/** Bytes dst must have room for when decapsulating a datagram of `len` bytes. */
export function plaintextCapacity(len: number): number {
  return Math.max(0, len - TRANSPORT_HEADER_BYTES - TRANSPORT_TAG_LEN);
}
