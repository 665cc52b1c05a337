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
import { constantTimeEqual, encodeKey } from '../crypto/keys.js';
import { shortKey, silentLogger, type Logger } from '../log.js';
import { DeviceCore, MAX_TUNNEL_MTU_BYTES, NEVER, type Peer } from '../protocol/index.js';
import type { Tun } from '../tun/tun.js';
import { type Prefix } from '../net/ip.js';
import { EndpointCache } from './endpoints.js';
import { HandshakeLog } from './handshake-log.js';
import { ReceivePipeline } from './receive.js';
import { SendPipeline } from './send.js';
import { emptyDeviceStats, type DeviceStats } from './stats.js';

/** Seconds → ms. */
const MS_PER_S = 1000;

export interface PeerSettings {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  allowedIPs?: Prefix[];
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
  /** Handshake messages per second that put the device under load (cookies demanded); see protocol/load.ts. */
  underLoadHandshakesPerSecond?: number;
}

export class Device {
  readonly stats: DeviceStats = emptyDeviceStats();
  core: DeviceCore<Endpoint>;
  private readonly tun: Tun;
  private readonly bind: Bind;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly rng: Rng;
  /**
   * Unix ms minus monotonic ms, fixed when the device is made: handshake times and TAI64N timestamps follow the
   * monotonic clock from there, so they never jump with the wall clock and read the same on every `get`.
   */
  private readonly epochOffsetMs: number;
  private readonly endpoints = new EndpointCache();
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
    this.epochOffsetMs = Date.now() - this.clock();
    this.listenPort = opts.listenPort ?? 0;
    this.fwMark = opts.fwMark ?? 0;
    this.privateKey = Uint8Array.from(opts.privateKey);
    this.underLoadHandshakesPerSecond = opts.underLoadHandshakesPerSecond;
    this.handshakeLog = new HandshakeLog(this.log, this.stats.handshakes);
    this.core = this.makeCore(this.privateKey);
    this.send = this.makeSend();
    this.receive = this.makeReceive();
  }

  private makeCore(privateKey: Uint8Array): DeviceCore<Endpoint> {
    return new DeviceCore<Endpoint>({
      privateKey,
      rng: this.rng,
      epochOffsetMs: this.epochOffsetMs,
      endpointBytes: (ep) => ep.slot,
      underLoadHandshakesPerSecond: this.underLoadHandshakesPerSecond,
      endpointAddress: (ep) => ep.addressBytes,
    });
  }

  private makeSend(): SendPipeline {
    return new SendPipeline(this.core, this.bind, this.stats, this.tun.batchSize, MAX_TUNNEL_MTU_BYTES, this.tun);
  }

  private makeReceive(): ReceivePipeline {
    return new ReceivePipeline(this.core, this.tun, this.endpoints, this.stats, this.bind.batchSize, DEFAULT_DATAGRAM_SLOT_BYTES);
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
    this.log.info({ port: this.listenPort }, 'device started');
    return this.listenPort;
  }

  /** Stops timers, closes the socket and the TUN device, and wipes every key. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.drainEvents();
    this.handshakeLog.close();
    this.log.info({ stats: this.stats }, 'device closing');
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
      if (peer.timers.persistentKeepaliveIntervalMs > 0 && peer.endpoint) peer.sendKeepalive(now, true);
    }
  }

  /** Whether handshakes must currently carry a cookie (protocol/load.ts): for metrics. */
  get underLoad(): boolean {
    return this.core.isUnderLoad(this.clock());
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
      this.log.debug({ peer: shortKey(encodeKey(s.publicKey)) }, 'peer added');
    } else if (s.presharedKey) {
      peer.handshake.setPresharedKey(s.presharedKey);
    }
    const hadKeepalive = peer.timers.persistentKeepaliveIntervalMs > 0;
    const hadEndpoint = peer.endpoint !== undefined;
    if (s.endpoint) peer.endpoint = this.endpoints.canonical(s.endpoint);
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
      this.log.warn({ err: (e as Error).message }, `cannot bind UDP port ${port}; staying on ${this.listenPort}`);
      throw e;
    }
    this.bind.start((batch) => this.onDatagrams(batch));
    this.log.info({ port: this.listenPort }, 'listening');
  }

  privateKeyCopy(): Uint8Array {
    return Uint8Array.from(this.privateKey);
  }

  setFwMark(mark: number): void {
    this.fwMark = mark;
    this.bind.setMark(mark);
  }

  /** Wall-clock ms of a monotonic time. */
  wallClock(monotonicMs: number): number {
    return this.epochOffsetMs + monotonicMs;
  }
}
