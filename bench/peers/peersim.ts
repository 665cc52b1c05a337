/**
 * A load generator for the bench's `peers` scenario (issue 12): N WireGuard peers simulated in one process, each a
 * DeviceCore of its own (the project's protocol core: handshake, cookies, timers, transport) whose only peer is
 * the daemon under test, each talking UDP from a socket of its own.
 *
 * Every simulated peer i has a private key (line i of the keys file), a tunnel address (`--tunnel-first` + i) and a
 * source address (`--source` + i mod `--sources`, so several peers may share a host as behind a NAT). At the start
 * each sends one ICMP echo request from its tunnel address to `--target` through the tunnel: the protocol core
 * stages it and sends a handshake initiation (whitepaper §5.4.2); when the response arrives the packet goes out,
 * the daemon delivers it to its kernel, and the echo reply comes back through the daemon, encrypted to that peer.
 * A peer is done when its echo reply arrives. Cookie replies and retransmissions (REKEY_TIMEOUT, §6.4) are the
 * core's own: the timers run from one interval for all peers.
 *
 * Run inside the namespace holding the source addresses:
 *
 *   ip netns exec NS node dist/bench/peers/peersim.js --to 10.214.7.1:51820 --public-key BASE64 --keys FILE \
 *       --tunnel-first 10.215.7.1 --target 10.213.7.2 --source 10.214.7.10 [--sources 200] [--seconds 30] [--rate 0]
 *
 * It prints "simulating ..." on stderr once every socket is bound and the first initiation goes out, and at the end
 * (every peer done, or --seconds passed, or SIGTERM/SIGINT) one JSON line on stdout: PeerSimReport.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { isMainModule } from '../../src/entry.js';
import { decodeKey } from '../../src/crypto/keys.js';
import { nativeAeadBackend } from '../../src/crypto/native-aead.js';
import { systemRng } from '../../src/crypto/random.js';
import { TransportAead } from '../../src/crypto/transport-aead.js';
import { parseIp } from '../../src/net/ip.js';
import { splitHostPort } from '../../src/net/endpoint.js';
import { internetChecksum } from '../../src/packet/checksum.js';
import { ICMP_ECHO_HEADER_BYTES, ICMPV4_ECHO_REPLY, ICMPV4_ECHO_REQUEST, IPPROTO_ICMP, IPV4_MIN_HEADER_BYTES } from '../../src/packet/ip-header.js';
import { DeviceCore, MESSAGE_COOKIE_REPLY, MESSAGE_INITIATION, type Peer } from '../../src/protocol/index.js';
import { transportMessageLength } from '../../src/protocol/session.js';
import { addIpv4, sourceAddresses } from '../common/ipv4.js';
import { percentile } from '../common/stats.js';
import { nativeHandshakeCrypto } from '../../src/crypto/native-handshake.js';

/** Timer resolution of the simulated peers (ms): the cores' tick() runs this often. */
const TICK_MS = 50;
export const DEFAULT_SIM_SECONDS = 30;
/** The most peers one run simulates (sockets and cores are per peer). */
export const MAX_SIM_PEERS = 20_000;
/** IPv4 header (no options) + ICMP echo header + 8 bytes of payload: the peer's index and a marker. */
const ECHO_PAYLOAD_BYTES = 8;
const ECHO_PACKET_BYTES = IPV4_MIN_HEADER_BYTES + ICMP_ECHO_HEADER_BYTES + ECHO_PAYLOAD_BYTES;
/** A usual TTL. */
const TTL = 64;

export interface PeerSimOptions {
  /** The daemon's address and port (IPv4). */
  to: { host: string; port: number };
  /** The daemon's static public key. */
  publicKey: Uint8Array;
  /** One private key per simulated peer. */
  privateKeys: Uint8Array[];
  /** Tunnel address of peer 0; peer i has this + i (IPv4). */
  tunnelFirst: string;
  /** The address each echo request goes to (an address of the daemon's host, reached through the tunnel). */
  target: string;
  /** Source addresses, peers assigned in turn. */
  sources: string[];
  /** Give up after this many seconds. */
  seconds: number;
  /** Peers started per second; 0 = all at once. */
  rate: number;
}

/** Milliseconds from the start: median, 90th percentile and maximum over the peers that got there. */
export interface Percentiles {
  p50: number;
  p90: number;
  max: number;
}

export interface PeerSimReport {
  peers: number;
  sources: number;
  /** Peers with a completed handshake. */
  handshakes: number;
  /** Peers whose echo reply came back through the tunnel. */
  packets: number;
  /** Time from the start to each peer's handshake (ms), over the peers that completed one; null when none did. */
  handshakeMs: Percentiles | null;
  /** Time from the start to each peer's echo reply (ms); null when none came. */
  packetMs: Percentiles | null;
  /** Handshake initiations sent, retransmissions included. */
  initiations: number;
  /** Cookie replies received (the daemon was under load). */
  cookieReplies: number;
  /** Datagrams the cores rejected (see protocol/errors.ts). */
  errors: Record<string, number>;
  /** Wall seconds of the run, and this process's CPU seconds. */
  seconds: number;
  cpuSeconds: number;
}

/** The 50th, 90th and 100th percentile of `values` (ms, unsorted); null when empty. */
export function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  return { p50: percentile(values, 50), p90: percentile(values, 90), max: percentile(values, 100) };
}

/**
 * An IPv4 ICMP echo request from `src` to `dst` (4 bytes each) with identifier `id` (16 bits) and 8 payload bytes
 * carrying `id` again, both checksums set (RFC 791, RFC 792).
 */
export function echoRequest(src: Uint8Array, dst: Uint8Array, id: number): Uint8Array {
  const p = new Uint8Array(ECHO_PACKET_BYTES);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, ECHO_PACKET_BYTES);
  p[8] = TTL;
  p[9] = IPPROTO_ICMP;
  p.set(src, 12);
  p.set(dst, 16);
  v.setUint16(10, internetChecksum(p, 0, IPV4_MIN_HEADER_BYTES));
  const icmp = IPV4_MIN_HEADER_BYTES;
  p[icmp] = ICMPV4_ECHO_REQUEST;
  v.setUint16(icmp + 4, id & 0xffff);
  v.setUint16(icmp + 6, 1);
  v.setUint32(icmp + ICMP_ECHO_HEADER_BYTES, id >>> 0);
  v.setUint16(icmp + 2, internetChecksum(p, icmp, ICMP_ECHO_HEADER_BYTES + ECHO_PAYLOAD_BYTES));
  return p;
}

/** Whether p[off, off+len) is an ICMP echo reply to `dst` (4 bytes) carrying identifier `id`. */
export function isEchoReply(p: Uint8Array, off: number, len: number, dst: Uint8Array, id: number): boolean {
  if (len < ECHO_PACKET_BYTES || p[off] !== 0x45 || p[off + 9] !== IPPROTO_ICMP) return false;
  for (let i = 0; i < 4; i++) if (p[off + 16 + i] !== dst[i]) return false;
  const icmp = off + IPV4_MIN_HEADER_BYTES;
  return p[icmp] === ICMPV4_ECHO_REPLY && ((p[icmp + 4]! << 8) | p[icmp + 5]!) === (id & 0xffff);
}

interface SimPeer {
  index: number;
  core: DeviceCore<string>;
  daemon: Peer<string>;
  socket: Socket;
  tunnelAddress: Uint8Array;
  handshakeAt: number | null;
  packetAt: number | null;
}

/** N simulated peers against one daemon; run() once, then close(). */
export class PeerSimulator {
  private readonly peers: SimPeer[] = [];
  private readonly aead = new TransportAead(nativeAeadBackend());
  private readonly buf = new Uint8Array(2048);
  /** opts.target's bytes, parsed once by open(). */
  private target: Uint8Array | undefined;
  private start = 0;
  private initiations = 0;
  private cookieReplies = 0;
  private readonly errors: Record<string, number> = {};
  private finish: (() => void) | undefined;
  private remaining = 0;

  constructor(private readonly opts: PeerSimOptions) {}

  /** Binds one UDP socket per peer (on its source address, any port). Rejects when a bind fails. */
  async open(): Promise<void> {
    const { opts } = this;
    const daemonKey = opts.publicKey;
    const target = parseIp(opts.target);
    if (!target || target.family !== 4) throw new Error(`target must be IPv4, got "${opts.target}"`);
    this.target = target.bytes;
    const epochOffsetMs = Date.now() - performance.now();
    const encoder = new TextEncoder();
    for (const [index, privateKey] of opts.privateKeys.entries()) {
      const core = new DeviceCore<string>({ privateKey, rng: systemRng, aead: this.aead, handshakeCrypto: nativeHandshakeCrypto, epochOffsetMs, endpointBytes: (e) => encoder.encode(e) });
      const daemon = core.addPeer(daemonKey);
      daemon.endpoint = `${opts.to.host}:${opts.to.port}`;
      // The echo replies come from the target: the daemon's AllowedIPs as this peer sees them.
      core.allowedIps.insert(4, target.bytes, 32, daemon);
      const socket = createSocket('udp4');
      const tunnel = parseIp(addIpv4(opts.tunnelFirst, index))!.bytes;
      const p: SimPeer = { index, core, daemon, socket, tunnelAddress: tunnel, handshakeAt: null, packetAt: null };
      this.peers.push(p);
      socket.on('message', (msg) => this.receive(p, msg));
      socket.on('error', () => this.count('socketError'));
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: opts.sources[index % opts.sources.length], port: 0 }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    }
  }

  private count(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  private flush(p: SimPeer): void {
    for (const out of p.core.takeOutbound()) {
      if (out.data[0] === MESSAGE_INITIATION) this.initiations++;
      this.send(p, out.data);
    }
  }

  private send(p: SimPeer, data: Uint8Array): void {
    p.socket.send(data, this.opts.to.port, this.opts.to.host);
  }

  private receive(p: SimPeer, msg: Buffer): void {
    const now = performance.now();
    if (msg[0] === MESSAGE_COOKIE_REPLY) this.cookieReplies++;
    const r = p.core.decapsulate(msg, 0, msg.length, p.daemon.endpoint!, now, this.buf, 0);
    if (r.kind === 'error') this.count(r.error);
    if (p.handshakeAt === null && p.daemon.current !== null) p.handshakeAt = now - this.start;
    if (r.kind === 'tunnel' && p.packetAt === null && isEchoReply(this.buf, r.offset, r.length, p.tunnelAddress, p.index)) {
      p.packetAt = now - this.start;
      if (--this.remaining === 0) this.finish?.();
    }
    this.flush(p);
  }

  private sendEcho(p: SimPeer, target: Uint8Array, now: number): void {
    const packet = echoRequest(p.tunnelAddress, target, p.index);
    const dst = new Uint8Array(transportMessageLength(packet.length));
    const n = p.core.encapsulate(p.daemon, packet, 0, packet.length, dst, 0, now);
    if (n > 0) this.send(p, dst.subarray(0, n));
    this.flush(p);
  }

  /** Starts every peer (at opts.rate per second, or all at once) and resolves with the report. */
  async run(onStart: () => void): Promise<PeerSimReport> {
    const { opts } = this;
    const target = this.target;
    if (!target) throw new Error('open() the simulator before run()');
    const cpu0 = process.cpuUsage();
    this.start = performance.now();
    this.remaining = this.peers.length;
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    let started = 0;
    const startSome = (now: number) => {
      const due = opts.rate > 0 ? Math.min(this.peers.length, Math.floor(((now - this.start) / 1000) * opts.rate) + 1) : this.peers.length;
      for (; started < due; started++) this.sendEcho(this.peers[started]!, target, now);
    };
    startSome(this.start);
    onStart();
    const timer = setInterval(() => {
      const now = performance.now();
      startSome(now);
      for (const p of this.peers) {
        if (p.packetAt !== null) continue;
        // Only a tick makes datagrams here; receive and sendEcho flush their own.
        if (p.core.nextDeadline() > now) continue;
        p.core.tick(now);
        this.flush(p);
      }
    }, TICK_MS);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, opts.seconds * 1000).unref());
    await Promise.race([done, timeout, new Promise<void>((resolve) => (this.stop = resolve))]);
    clearInterval(timer);
    const seconds = (performance.now() - this.start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const handshakes = this.peers.filter((p) => p.handshakeAt !== null).map((p) => p.handshakeAt!);
    const packets = this.peers.filter((p) => p.packetAt !== null).map((p) => p.packetAt!);
    return {
      peers: this.peers.length,
      sources: opts.sources.length,
      handshakes: handshakes.length,
      packets: packets.length,
      handshakeMs: percentiles(handshakes),
      packetMs: percentiles(packets),
      initiations: this.initiations,
      cookieReplies: this.cookieReplies,
      errors: this.errors,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  }

  /** Ends a run() early (its report still comes). */
  stop: () => void = () => undefined;

  close(): void {
    for (const p of this.peers) p.socket.close();
  }
}

/** Parses the command line (see the top of this file). Throws Error with a message for the user. */
export function parsePeerSimArgs(argv: readonly string[]): PeerSimOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'to': { type: 'string' },
      'public-key': { type: 'string' },
      'keys': { type: 'string' },
      'tunnel-first': { type: 'string' },
      'target': { type: 'string' },
      'source': { type: 'string' },
      'sources': { type: 'string', default: '1' },
      'seconds': { type: 'string', default: String(DEFAULT_SIM_SECONDS) },
      'rate': { type: 'string', default: '0' },
    },
    strict: true,
  });
  const need = (name: string, v: string | undefined): string => {
    if (v === undefined) throw new Error(`--${name} is required`);
    return v;
  };
  const whole = (name: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new Error(`--${name} must be a whole number ${min}..${max}, got "${v}"`);
    return n;
  };
  const to = splitHostPort(need('to', values.to));
  if (typeof to === 'string' || parseIp(to.host)?.family !== 4) throw new Error(`--to must be IPv4ADDRESS:PORT, got "${values.to}"`);
  const keysFile = need('keys', values.keys);
  const privateKeys = readFileSync(keysFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '').map((l, i) => {
    try {
      return decodeKey(l);
    } catch (e) {
      throw new Error(`${keysFile}:${i + 1}: ${(e as Error).message}`, { cause: e });
    }
  });
  if (privateKeys.length === 0 || privateKeys.length > MAX_SIM_PEERS) throw new Error(`${keysFile}: give 1..${MAX_SIM_PEERS} private keys, got ${privateKeys.length}`);
  return {
    to: { host: to.host, port: to.port },
    publicKey: decodeKey(need('public-key', values['public-key'])),
    privateKeys,
    tunnelFirst: need('tunnel-first', values['tunnel-first']),
    target: need('target', values.target),
    sources: sourceAddresses(need('source', values.source), whole('sources', values.sources, 1, 254)),
    seconds: whole('seconds', values.seconds, 1, 3600),
    rate: whole('rate', values.rate, 0, 1_000_000),
  };
}

/** The CLI: parse, bind, simulate, print the report. Returns the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let opts: PeerSimOptions;
  try {
    opts = parsePeerSimArgs(argv);
  } catch (e) {
    process.stderr.write(`peersim: ${(e as Error).message}\n`);
    return 2;
  }
  const sim = new PeerSimulator(opts);
  const onSignal = () => sim.stop();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await sim.open();
    const report = await sim.run(() => process.stderr.write(`simulating ${opts.privateKeys.length} peers from ${opts.sources.length} source(s) towards ${opts.to.host}:${opts.to.port}\n`));
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return report.packets === report.peers ? 0 : 1;
  } catch (e) {
    process.stderr.write(`peersim: ${(e as Error).message}\n`);
    return 1;
  } finally {
    sim.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

if (isMainModule(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
