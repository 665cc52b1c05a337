/**
 * The device: one WireGuard interface. It owns the protocol core, glues it to a Tun and a Bind through the send and
 * receive pipelines, runs the protocol's timers on the event loop, and implements the UAPI's DeviceControl so `wg`
 * can read and change it. Everything runs on the one event loop: no locks, no worker threads.
 *
 * Time: `now` is monotonic milliseconds from `clock()` (performance.now by default), read once per batch and
 * passed into the protocol, which never reads a clock itself.
 */
import { performance } from 'node:perf_hooks';
import type { Bind } from '../conn/bind.js';
import { DEFAULT_DATAGRAM_SLOT_BYTES } from '../conn/bind.js';
import type { PacketBatch } from '../packet/batch.js';
import { Endpoint } from '../net/endpoint.js';
import { systemRng, type Rng } from '../crypto/random.js';
import { nativeAeadBackend } from '../crypto/native-aead.js';
import { TransportAead, type AeadBackend } from '../crypto/transport-aead.js';
import type { HandshakeCrypto } from '../crypto/handshake-crypto.js';
import { nativeHandshakeCrypto } from '../crypto/native-handshake.js';
import { constantTimeEqual, encodeKey } from '../crypto/keys.js';
import { shortKey, silentLogger, type Logger } from '../log.js';
import { DeviceCore, MAX_TUNNEL_MTU_BYTES, NEVER, UNDER_LOAD_HOLD_MS, type Peer } from '../protocol/index.js';
import type { Tun } from '../tun/tun.js';
import { type Prefix } from '../net/ip.js';
import { EndpointCache } from './endpoints.js';
import { HandshakeLog } from './handshake-log.js';
import { HANDSHAKE_QUEUE_ENTRIES, HandshakeQueue } from './handshake-queue.js';
import { ReceivePipeline } from './receive.js';
import { SendPipeline } from './send.js';
import { countDrop, emptyDeviceStats, flattenStats, totalDropped, type DeviceStats } from './stats.js';
import { MS_PER_S } from '../protocol/constants.js';

/** Handshake messages the core gets per turn of the event loop at most, and the time they may take (ms). */
export const HANDSHAKE_BUDGET_MESSAGES = 64;
export const HANDSHAKE_BUDGET_MS = 2;
/** The handshake queue holding this fraction of its size (an eighth, as wireguard-go) puts handshakes under load. */
const UNDER_LOAD_QUEUE_FRACTION = 8;
/** Seconds → ms. */

export interface PeerSettings {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  allowedIPs?: Prefix[];
  /** Drop the peer's allowed IPs before adding `allowedIPs` (UAPI replace_allowed_ips). */
  replaceAllowedIPs?: boolean;
  endpoint?: Endpoint;
  /** Seconds; 0 or absent = off. */
  persistentKeepalive?: number;
}

export interface DeviceOptions {
  tun: Tun;
  bind: Bind;
  privateKey: Uint8Array;
  /** 0 = a random port. */
  listenPort?: number;
  fwMark?: number;
  log?: Logger;
  /** Monotonic milliseconds. */
  clock?: () => number;
  rng?: Rng;
  /** The transport cipher's backend; the native one (one addon call per batch) by default. */
  aeadBackend?: AeadBackend;
  /** The handshake's primitives (crypto/handshake-crypto.ts); the native ones (X25519, MAC in the addon) by default. */
  handshakeCrypto?: HandshakeCrypto;
  /** Threads that share each batch of the native cipher (1..64; process-wide). Default DEFAULT_AEAD_THREADS. */
  threads?: number;
  /** Handshake messages per second that put the device under load (cookies demanded); see protocol/load.ts. */
  underLoadHandshakesPerSecond?: number;
}

export class Device {
  /** The counters; read them through `stats`, which first brings the time under load up to date. */
  private readonly counters: DeviceStats = emptyDeviceStats();
  core: DeviceCore<Endpoint>;
  private readonly tun: Tun;
  private readonly bind: Bind;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly rng: Rng;
  /** The transport cipher of every session; the core batches its seals and opens. */
  private readonly aead: TransportAead;
  private readonly handshakeCrypto: HandshakeCrypto;
  /**
   * Unix ms minus monotonic ms, fixed when the device is made: handshake times and TAI64N timestamps follow the
   * monotonic clock from there, so they never jump with the wall clock and read the same on every `get`.
   */
  private readonly epochOffsetMs: number;
  private readonly endpoints = new EndpointCache();
  /** Initiations and responses waiting for the core (bounded, fair between source networks). */
  private readonly handshakes = new HandshakeQueue();
  /** Plaintext room the core never uses for handshake messages. */
  private readonly handshakeScratch = new Uint8Array(0);
  private handshakeTurnPending = false;
  /** Monotonic ms until which the queue (filling up, or a backlog) keeps handshakes under load. */
  private underLoadUntil = -Infinity;
  /**
   * The current (or last) stretch under load, monotonic ms: from its start to its end as known so far, and how much
   * of it counters.underLoadMs already holds (see noteLoad).
   */
  private stretchStart = NaN;
  private stretchEnd = -Infinity;
  private stretchCounted = 0;
  /** handshakes.timesFull at the last turn. */
  private fullSeen = 0;
  private readonly underLoadHandshakesPerSecond: number | undefined;
  private readonly handshakeLog: HandshakeLog;
  private send: SendPipeline;
  private receive: ReceivePipeline;
  private privateKey: Uint8Array;
  private timer: NodeJS.Timeout | undefined;
  private timerDeadline = Infinity;
  private started = false;
  private closed = false;
  listenPort: number;
  fwMark: number;

  constructor(opts: DeviceOptions) {
    this.tun = opts.tun;
    this.bind = opts.bind;
    this.log = opts.log ?? silentLogger;
    this.clock = opts.clock ?? (() => performance.now());
    this.rng = opts.rng ?? systemRng;
    this.aead = new TransportAead(opts.aeadBackend ?? nativeAeadBackend(opts.threads));
    this.handshakeCrypto = opts.handshakeCrypto ?? nativeHandshakeCrypto;
    this.epochOffsetMs = Date.now() - this.clock();
    this.listenPort = opts.listenPort ?? 0;
    this.fwMark = opts.fwMark ?? 0;
    this.privateKey = Uint8Array.from(opts.privateKey);
    this.underLoadHandshakesPerSecond = opts.underLoadHandshakesPerSecond;
    this.handshakeLog = new HandshakeLog(this.log, this.counters.handshakes);
    this.core = this.makeCore(this.privateKey);
    this.send = this.makeSend();
    this.receive = this.makeReceive();
  }

  private makeCore(privateKey: Uint8Array): DeviceCore<Endpoint> {
    return new DeviceCore<Endpoint>({
      privateKey,
      rng: this.rng,
      aead: this.aead,
      handshakeCrypto: this.handshakeCrypto,
      epochOffsetMs: this.epochOffsetMs,
      endpointBytes: (ep) => ep.slot,
      underLoadHandshakesPerSecond: this.underLoadHandshakesPerSecond,
      endpointAddress: (ep) => ep.addressBytes,
    });
  }

  private makeSend(): SendPipeline {
    return new SendPipeline(this.core, this.bind, this.counters, this.tun.batchSize, MAX_TUNNEL_MTU_BYTES, this.tun, this.endpoints);
  }

  private makeReceive(): ReceivePipeline {
    return new ReceivePipeline(this.core, this.tun, this.endpoints, this.counters, this.handshakes, this.bind.batchSize, DEFAULT_DATAGRAM_SLOT_BYTES);
  }

  get publicKey(): Uint8Array {
    return this.core.local.publicKey;
  }

  /** Binds the UDP port, starts reading the TUN device and the socket. Resolves with the bound port. */
  async start(): Promise<number> {
    if (this.started) throw new Error('device already started');
    this.started = true;
    if (this.fwMark) this.bind.setMark(this.fwMark);
    this.listenPort = await this.bind.open(this.listenPort);
    this.bind.start((batch) => this.onDatagrams(batch));
    this.tun.start((batch) => this.onTunPackets(batch));
    // Peers configured before start with persistent keepalive (or staged packets) get going now.
    this.startKeepalives();
    this.flush();
    this.log.info(`device started, listening on UDP port ${this.listenPort}`);
    return this.listenPort;
  }

  /** Stops timers, closes the socket and the TUN device, and wipes every key. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.drainEvents();
    this.handshakeLog.close();
    const stats = this.stats;
    // One line at info (what a wg-quick user reads on a terminal); every counter at debug.
    this.log.info(`device closing: ${stats.sent} datagrams sent, ${stats.datagrams} received, ${totalDropped(stats)} dropped, ` +
      `${stats.noRoute} packets to no peer`);
    this.log.debug({ stats: flattenStats(stats) }, 'device counters at close');
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const peer of [...this.core.allPeers()]) this.core.removePeer(peer);
    this.privateKey.fill(0);
    await this.bind.close();
    await this.tun.close();
  }

  /* ---------------- pipelines ---------------- */

  private onTunPackets(batch: PacketBatch): void {
    if (this.closed) return;
    this.send.encryptBatch(batch, this.clock());
    this.drainEvents();
    this.schedule();
  }

  private onDatagrams(batch: PacketBatch): void {
    if (this.closed) return;
    this.receive.decryptBatch(batch, this.clock());
    this.flush();
  }

  /** Sends what the protocol queued, counts and logs its events, re-arms the timer. */
  private flush(): void {
    this.send.flushOutbound();
    this.drainEvents();
    this.schedule();
    if (this.handshakes.size > 0) this.serveHandshakes();
  }

  /* ---------------- handshakes ---------------- */

  /**
   * Hands queued handshake messages to the protocol core, for at most HANDSHAKE_BUDGET_MS (and at most
   * HANDSHAKE_BUDGET_MESSAGES) per turn of the event loop, after the turn's data; what is left waits for the next
   * turn (setImmediate), so socket and TUN I/O are served in between. Under load (the queue filled up, a backlog
   * of an eighth of its size as wireguard-go, or too many handshakes with a valid MAC1 a second) initiations need a
   * cookie. One source having its own share waiting does not put the device under load: that source is shed alone.
   */
  private serveHandshakes(): void {
    if (this.closed) return;
    const q = this.handshakes;
    const start = this.clock();
    let now = start;
    // The queue filled up since the last turn: handshakes arrive faster than they are taken, under load at once.
    if (q.timesFull !== this.fullSeen) this.underLoadUntil = now + UNDER_LOAD_HOLD_MS;
    this.fullSeen = q.timesFull;
    for (let n = 0; n < HANDSHAKE_BUDGET_MESSAGES; n++) {
      const m = q.take();
      if (m === undefined) break;
      if (q.size >= HANDSHAKE_QUEUE_ENTRIES / UNDER_LOAD_QUEUE_FRACTION) this.underLoadUntil = now + UNDER_LOAD_HOLD_MS;
      this.core.underLoad = now < this.underLoadUntil;
      const r = this.core.decapsulate(m.buf, m.off, m.len, m.source, now, this.handshakeScratch, 0);
      if (r.kind === 'error') countDrop(this.counters, r.error);
      this.noteLoad(now);
      now = this.clock();
      if (now - start >= HANDSHAKE_BUDGET_MS) break;
    }
    this.noteLoad(now);
    this.send.flushOutbound();
    this.drainEvents();
    this.schedule();
    if (q.size > 0 && !this.handshakeTurnPending) {
      this.handshakeTurnPending = true;
      setImmediate(() => {
        this.handshakeTurnPending = false;
        this.serveHandshakes();
      });
    }
  }

  /** Handshake and session events from the core → counters and log lines (handshake-log.ts). */
  private drainEvents(): void {
    const events = this.core.takeEvents();
    if (events.length > 0) this.handshakeLog.record(events, this.clock());
  }

  /**
   * Every peer with a persistent keepalive and an endpoint sends one now (its first handshake, if it has no
   * session): as wireguard-go does when the device comes up, and here also when the key arrives later.
   */
  private startKeepalives(): void {
    if (!this.started || this.closed) return;
    const now = this.clock();
    for (const peer of this.core.allPeers()) {
      if (peer.timers.persistentKeepaliveIntervalMs > 0 && peer.endpoint) {
        peer.sendKeepalive(now, true);
        this.core.timersChanged(peer);
      }
    }
  }

  /** Whether handshakes must currently carry a cookie (the queue's rules here, the rate rule in protocol/load.ts). */
  get underLoad(): boolean {
    const now = this.clock();
    this.noteLoad(now);
    return now < this.stretchEnd;
  }

  /** Counters (stats.ts), the time under load brought up to `now` first. The object is live: read, don't keep. */
  get stats(): DeviceStats {
    this.noteLoad(this.clock());
    return this.counters;
  }

  /**
   * Follows the stretches under load and adds their elapsed time to counters.underLoadMs: a stretch starts when the
   * load's end (the later of the queue's and the rate rule's) lies ahead of `now` after having passed, and ends at
   * that end, however it moves meanwhile. Only time already elapsed is counted, so the counter never runs ahead.
   */
  private noteLoad(now: number): void {
    const until = Math.max(this.underLoadUntil, this.core.handshakeLoadUntil);
    if (until > now) {
      if (this.stretchEnd <= now) {
        // A new stretch: the last one is counted in full first.
        this.settleLoad(this.stretchEnd);
        this.stretchStart = now;
        this.stretchCounted = 0;
      }
      if (until > this.stretchEnd) this.stretchEnd = until;
    }
    this.settleLoad(now);
  }

  /** Adds the part of the current stretch elapsed by `upTo` that was not counted yet. */
  private settleLoad(upTo: number): void {
    if (Number.isNaN(this.stretchStart)) return;
    const elapsed = Math.min(upTo, this.stretchEnd) - this.stretchStart;
    if (elapsed > this.stretchCounted) {
      this.counters.underLoadMs += elapsed - this.stretchCounted;
      this.stretchCounted = elapsed;
    }
  }

  /* ---------------- timers ---------------- */

  /** Arms one timer for the earliest peer deadline (re-armed only when that deadline moves earlier). */
  private schedule(): void {
    if (this.closed) return;
    const deadline = this.core.nextDeadline();
    if (deadline === Infinity || deadline >= this.timerDeadline) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDeadline = deadline;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, Math.ceil(deadline - this.clock())));
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDeadline = Infinity;
    if (this.closed) return;
    this.core.tick(this.clock());
    this.flush();
  }

  /* ---------------- configuration ---------------- */

  peer(publicKey: Uint8Array): Peer<Endpoint> | undefined {
    return this.core.getPeer(publicKey);
  }

  /**
   * Adds a peer, or updates the one with this public key. Returns it. A peer with a persistent keepalive sends one
   * (its first handshake, if it has no session) as soon as the device runs and the peer has an endpoint: when the
   * keepalive is turned on, or when the endpoint arrives after it (as wireguard-go does when a keepalive is turned
   * on, and when the device comes up).
   */
  setPeer(s: PeerSettings): Peer<Endpoint> {
    let peer = this.core.getPeer(s.publicKey);
    if (peer === undefined) {
      peer = this.core.addPeer(s.publicKey, s.presharedKey);
      this.log.debug(`peer ${shortKey(encodeKey(s.publicKey))} added`);
    } else if (s.presharedKey) {
      peer.handshake.setPresharedKey(s.presharedKey);
    }
    const hadKeepalive = peer.timers.persistentKeepaliveIntervalMs > 0;
    const hadEndpoint = peer.endpoint !== undefined;
    if (s.endpoint) peer.endpoint = this.endpoints.canonical(s.endpoint);
    if (s.replaceAllowedIPs) this.core.allowedIps.removeByValue(peer);
    for (const p of s.allowedIPs ?? []) this.core.allowedIps.insert(p.family, p.bytes, p.bits, peer);
    if (s.persistentKeepalive !== undefined) {
      peer.timers.persistentKeepaliveIntervalMs = s.persistentKeepalive * MS_PER_S;
      if (s.persistentKeepalive === 0) peer.timers.persistentKeepaliveAt = NEVER;
    }
    const keepalive = peer.timers.persistentKeepaliveIntervalMs > 0;
    if (keepalive && peer.endpoint !== undefined && (!hadKeepalive || !hadEndpoint) && this.started && !this.closed) {
      peer.sendKeepalive(this.clock(), true);
      this.flush();
    }
    this.core.timersChanged(peer);
    this.schedule();
    return peer;
  }

  removePeer(peer: Peer<Endpoint>): void {
    this.core.removePeer(peer);
  }

  /**
   * Replaces the private key (32 bytes): the protocol core is rebuilt with the same peers (sessions restart, as
   * they must: every session was derived from the old static key). The same key again changes nothing, so
   * `wg setconf`/`wg syncconf` with an unchanged file keep every session, counter and handshake time (as
   * wireguard-go's SetPrivateKey returns early).
   */
  setPrivateKey(key: Uint8Array): void {
    if (constantTimeEqual(key, this.privateKey)) return;
    this.drainEvents();
    const old = this.core;
    const peers = [...old.allPeers()].map((p) => ({
      publicKey: Uint8Array.from(p.publicKey),
      presharedKey: Uint8Array.from(p.handshake.presharedKey),
      endpoint: p.endpoint,
      keepalive: p.timers.persistentKeepaliveIntervalMs,
      allowed: old.allowedIps.entriesFor(p),
    }));
    for (const p of [...old.allPeers()]) old.removePeer(p);
    this.privateKey.fill(0);
    this.privateKey = Uint8Array.from(key);
    this.core = this.makeCore(this.privateKey);
    this.send = this.makeSend();
    this.receive = this.makeReceive();
    const ownPublicKey = this.core.local.publicKey;
    for (const p of peers) {
      if (constantTimeEqual(p.publicKey, ownPublicKey)) continue;
      const peer = this.core.addPeer(p.publicKey, p.presharedKey);
      peer.endpoint = p.endpoint;
      peer.timers.persistentKeepaliveIntervalMs = p.keepalive;
      for (const e of p.allowed) this.core.allowedIps.insert(e.family, e.address, e.cidr, peer);
    }
    // With the new identity, keepalive peers start their handshakes now rather than at their first packet.
    this.startKeepalives();
    if (this.started && !this.closed) this.flush();
  }

  /**
   * Rebinds to another UDP port (0 = a random one). Resolves once the new port is bound; listenPort changes only
   * then. If the new port cannot be bound, the device binds its old port again and the promise rejects with the
   * bind's error (EADDRINUSE, EACCES): the device is left as it was.
   */
  async setListenPort(port: number): Promise<void> {
    if (!this.started || this.closed) {
      this.listenPort = port;
      return;
    }
    const previous = this.listenPort;
    await this.bind.close();
    try {
      this.listenPort = await this.bind.open(port);
    } catch (e) {
      this.listenPort = await this.bind.open(previous);
      this.bind.start((batch) => this.onDatagrams(batch));
      this.log.warn(`cannot bind UDP port ${port} (${(e as Error).message}); staying on ${this.listenPort}`);
      throw e;
    }
    this.bind.start((batch) => this.onDatagrams(batch));
    this.log.info(`listening on UDP port ${this.listenPort}`);
  }

  privateKeyCopy(): Uint8Array {
    return Uint8Array.from(this.privateKey);
  }

  /** SO_MARK (0..2^32-1, 0 = none) on the UDP sockets; when the bind refuses, the device keeps its old mark. */
  setFwMark(mark: number): void {
    this.bind.setMark(mark);
    this.fwMark = mark;
  }

  /** Wall-clock ms of a monotonic time. */
  wallClock(monotonicMs: number): number {
    return this.epochOffsetMs + monotonicMs;
  }
}
