/**
 * `npm run bench -- inprocess`: tunvpn's crypto and protocol path alone, with no kernel in the loop. Two Device
 * instances in one process (as test/device/device.test.ts builds them) exchange N IP packets of one size through
 * an in-memory UDP network (src/conn/memory-bind.ts), a → b and then b → a, after a handshake and a warm-up.
 *
 * The TUN side is PumpTun below, not MemoryTun: MemoryTun copies every injected packet and keeps every written one
 * (test infrastructure), which at millions of packets would measure the fake. PumpTun hands the device the same
 * preallocated batch of packets again and again and only counts what the other device writes.
 *
 * The UDP side is PipeBind below by default: two binds wired back to back, each datagram copied once into a
 * preallocated batch and delivered on the next turn of the event loop, as a socket pair would. `--bind memory`
 * uses MemoryNetwork (src/conn/memory-bind.ts) instead, whose per-datagram copies, allocations and map lookups
 * (test infrastructure too) took about 30 % of the profile when this bench was written.
 *
 * Flow control: at most WINDOW_BATCHES batches are in flight (encrypted but not yet written at the other end), so
 * nothing queues without bound; the loop tops the window up whenever the receiving TUN is written.
 *
 * `threads`: each run passes `threads` to the device options. Until DeviceOptions has it, the devices ignore it;
 * the report says whether the device read the option at all (`threadsRead`), so a 2- or 4-thread row that is
 * really one thread cannot pass unnoticed.
 */
import { EventEmitter } from 'node:events';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ADDR_SLOT, writeLocalSlot } from '../../src/net/addr-slot.js';
import { PacketBatch } from '../../src/packet/batch.js';
import { emptyBindStats, type Bind, type BindStats, type ReceiveCallback } from '../../src/conn/bind.js';
import { Endpoint } from '../../src/net/endpoint.js';
import { MemoryNetwork } from '../../src/conn/memory-bind.js';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';
import { Device, type DeviceOptions } from '../../src/device/device.js';
import { totalDropped } from '../../src/device/stats.js';
import { silentLogger } from '../../src/log.js';
import { buildUdp } from '../../test/helpers/packets.js';
import { DEFAULT_TUN_BATCH_SIZE, emptyTunStats, type PacketsCallback, type Tun, type TunEvents, type TunStats } from '../../src/tun/tun.js';
import { parsePrefix } from '../../src/net/ip.js';
import type { Direction, InprocessArgs, InprocessBind } from '../options.js';
import { formatColumns, resultStem } from '../common/format.js';
import { hostInfo, type HostInfo } from '../common/host.js';
import { writeResult } from '../common/results.js';

/** Batches in flight at most. */
const WINDOW_BATCHES = 8;
/** A run that makes no progress for this long has lost packets: fail with the device counters (ms). */
const STALL_MS = 5_000;
/** Untimed packets before each timed run, so the JIT has settled and buffers exist. */
const WARMUP_FRACTION = 0.1;
const WARMUP_MAX = 20_000;
const IPV4_UDP_HEADERS = 28;
const BITS_PER_BYTE = 8;
const ADDR = { a: '10.0.0.1', b: '10.0.0.2' } as const;
const UNDERLAY = { a: '192.0.2.1', b: '192.0.2.2' } as const;
const PORTS = { a: 51820, b: 51821 } as const;

/** A Tun whose reads are one preallocated batch of identical packets, handed out on pump(); writes are counted. */
export class PumpTun extends EventEmitter<TunEvents> implements Tun {
  readonly batchSize: number;
  readonly stats: TunStats = emptyTunStats();
  /** Packets and bytes written to this TUN (arrived from the tunnel). */
  written = 0;
  writtenBytes = 0;
  /** Called after every write(). */
  onWrite: (() => void) | undefined;
  private readonly rx: PacketBatch;
  private onPackets: PacketsCallback | undefined;
  /** The first packet written, kept to check that what arrives is what was sent. */
  firstWritten: Uint8Array | undefined;

  constructor(
    readonly name: string,
    packet: Uint8Array,
    batchSize = DEFAULT_TUN_BATCH_SIZE,
  ) {
    super();
    this.batchSize = batchSize;
    this.rx = new PacketBatch(batchSize, packet.length);
    for (let i = 0; i < batchSize; i++) this.rx.push(packet);
  }

  mtu(): number {
    return this.rx.slotSize;
  }

  start(onPackets: PacketsCallback): void {
    this.onPackets = onPackets;
  }

  /** The kernel hands the device `count` (≤ batchSize) packets, synchronously. */
  pump(count: number): void {
    const cb = this.onPackets;
    if (!cb) throw new Error(`${this.name}: pump before start`);
    const rx = this.rx;
    rx.count = Math.min(count, this.batchSize);
    for (let i = 0; i < rx.count; i++) {
      rx.offsets[i] = i * rx.slotSize;
      rx.lengths[i] = rx.slotSize;
    }
    this.stats.read += rx.count;
    cb(rx);
  }

  write(batch: PacketBatch): void {
    if (this.firstWritten === undefined && batch.count > 0) this.firstWritten = batch.view(0).slice();
    this.written += batch.count;
    for (let i = 0; i < batch.count; i++) this.writtenBytes += batch.lengths[i]!;
    this.stats.written += batch.count;
    this.onWrite?.();
  }

  async close(): Promise<void> {
    this.onPackets = undefined;
    this.emit('closed', 'closed by the device');
  }
}

/**
 * One end of a pipe between two binds: send() copies each datagram into a batch of the other end, stamped with this
 * end's address as the source and the other end's address as the local slot it arrived on (so the devices keep and
 * send with a sticky source, as over the native bind), and the other end's onReceive gets the batches on the next
 * turn of the event loop (never from inside send, so no device re-enters itself). Destinations and sources are
 * ignored: there is only the other end. Batches are recycled, so a steady flow allocates nothing.
 */
export class PipeBind implements Bind {
  readonly stats: BindStats = emptyBindStats();
  private other: PipeBind | undefined;
  private onReceive: ReceiveCallback | undefined;
  private readonly free: PacketBatch[] = [];
  private pending: PacketBatch[] = [];
  private scheduled = false;
  private readonly deliver = () => this.deliverPending();
  /** This end's address as a local slot: where datagrams from the other end arrive. */
  private readonly local = new Uint8Array(ADDR_SLOT);

  constructor(
    private readonly source: Endpoint,
    readonly batchSize: number,
    private readonly slotSize: number,
  ) {
    writeLocalSlot(this.local, 0, source.family, source.addressBytes);
  }

  /** Two binds wired to each other, at addresses `a` and `b` ("192.0.2.1:51820"). */
  static pair(a: string, b: string, batchSize: number, slotSize: number): [PipeBind, PipeBind] {
    const x = new PipeBind(Endpoint.fromString(a), batchSize, slotSize);
    const y = new PipeBind(Endpoint.fromString(b), batchSize, slotSize);
    x.other = y;
    y.other = x;
    return [x, y];
  }

  async open(): Promise<number> {
    return this.source.port;
  }

  start(onReceive: ReceiveCallback): void {
    this.onReceive = onReceive;
  }

  send(batch: PacketBatch): number {
    for (let i = 0; i < batch.count; i++) this.sendOne(batch.buf, batch.offsets[i]!, batch.lengths[i]!);
    return 0;
  }

  sendOne(data: Uint8Array, offset: number, length: number): void {
    const to = this.other;
    if (!to?.onReceive || length > this.slotSize) {
      this.stats.sendDropped++;
      return;
    }
    to.enqueue(data, offset, length, this.source.slot);
    this.stats.sent++;
  }

  setMark(): void {}

  async close(): Promise<void> {
    this.onReceive = undefined;
    this.pending = [];
  }

  private enqueue(data: Uint8Array, offset: number, length: number, from: Uint8Array): void {
    let b = this.pending[this.pending.length - 1];
    if (!b || b.count === b.capacity) {
      b = this.free.pop() ?? new PacketBatch(this.batchSize, this.slotSize, { addrs: true, locals: true });
      this.pending.push(b);
    }
    const i = b.count;
    const at = i * b.slotSize;
    b.buf.set(data.subarray(offset, offset + length), at);
    b.offsets[i] = at;
    b.lengths[i] = length;
    b.addrs!.set(from, i * ADDR_SLOT);
    b.locals!.set(this.local, i * ADDR_SLOT);
    b.count = i + 1;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.deliver);
    }
  }

  private deliverPending(): void {
    this.scheduled = false;
    const batches = this.pending;
    this.pending = [];
    for (const b of batches) {
      this.stats.received += b.count;
      this.onReceive?.(b);
      b.count = 0;
      this.free.push(b);
    }
  }
}

export interface InprocessRun {
  direction: Direction;
  /** Which UDP fake carried the datagrams. */
  bind: InprocessBind;
  /** Threads asked for (DeviceOptions.threads). */
  threads: number;
  /** Whether either device read the `threads` option. */
  threadsRead: boolean;
  packets: number;
  /** IP packet bytes each. */
  size: number;
  seconds: number;
  packetsPerSecond: number;
  /** IP packet bits per second (what a TUN would carry). */
  gbitPerSecond: number;
  /** CPU seconds of the whole process (all threads) during the run. */
  cpuSeconds: number;
  /** cpuSeconds / seconds × 100. */
  percentCore: number;
}

export interface InprocessReport {
  date: string;
  host: HostInfo & { cpuModel: string };
  runs: InprocessRun[];
}

interface Pair {
  a: Device;
  b: Device;
  tuns: { a: PumpTun; b: PumpTun };
  threadsRead: () => boolean;
  close(): Promise<void>;
}

/** The packet a sends to b (or b to a): IPv4 UDP, `size` bytes in all. */
export function benchPacket(from: 'a' | 'b', size: number): Uint8Array {
  if (!Number.isInteger(size) || size < IPV4_UDP_HEADERS) throw new RangeError(`packet size must be ≥ ${IPV4_UDP_HEADERS} bytes, got ${size}`);
  const to = from === 'a' ? 'b' : 'a';
  const payload = new Uint8Array(size - IPV4_UDP_HEADERS).map((_, i) => i & 0xff);
  return buildUdp({ src: ADDR[from], dst: ADDR[to], srcPort: 40000, dstPort: 9, payload });
}

/** The largest datagram the pipe carries: the packet plus WireGuard's 32 bytes of header and tag, rounded up. */
const PIPE_SLOT_BYTES = 9216;

function makeBinds(kind: InprocessBind): { a: Bind; b: Bind } {
  if (kind === 'pipe') {
    const [a, b] = PipeBind.pair(`${UNDERLAY.a}:${PORTS.a}`, `${UNDERLAY.b}:${PORTS.b}`, DEFAULT_TUN_BATCH_SIZE, PIPE_SLOT_BYTES);
    return { a, b };
  }
  const net = new MemoryNetwork();
  return {
    a: net.createBind(UNDERLAY.a, { batchSize: DEFAULT_TUN_BATCH_SIZE }),
    b: net.createBind(UNDERLAY.b, { batchSize: DEFAULT_TUN_BATCH_SIZE }),
  };
}

async function makePair(size: number, threads: number, bindKind: InprocessBind): Promise<Pair> {
  const binds = makeBinds(bindKind);
  const keys = { a: generatePrivateKey(systemRng), b: generatePrivateKey(systemRng) };
  const tuns = { a: new PumpTun('a', benchPacket('a', size)), b: new PumpTun('b', benchPacket('b', size)) };
  let read = false;
  const device = (end: 'a' | 'b') => {
    const opts: DeviceOptions & { threads?: number } = {
      tun: tuns[end],
      bind: binds[end],
      privateKey: keys[end],
      listenPort: PORTS[end],
      log: silentLogger,
    };
    // A getter, so the report can tell whether the device looked at the option at all.
    Object.defineProperty(opts, 'threads', {
      enumerable: true,
      get: () => {
        read = true;
        return threads;
      },
    });
    return new Device(opts);
  };
  const a = device('a');
  const b = device('b');
  a.setPeer({ publicKey: publicKeyOf(keys.b), allowedIPs: [parsePrefix(`${ADDR.b}/32`)!], endpoint: Endpoint.fromString(`${UNDERLAY.b}:${PORTS.b}`) });
  b.setPeer({ publicKey: publicKeyOf(keys.a), allowedIPs: [parsePrefix(`${ADDR.a}/32`)!] });
  await a.start();
  await b.start();
  for (const k of Object.values(keys)) k.fill(0);
  return {
    a,
    b,
    tuns,
    threadsRead: () => read,
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}

/** Pushes `count` packets from `src` until `dst` has had them all written; resolves with wall seconds. */
function push(src: PumpTun, dst: PumpTun, count: number, stats: () => string): Promise<number> {
  const target = dst.written + count;
  const base = dst.written;
  const window = WINDOW_BATCHES * src.batchSize;
  let pumped = 0;
  const start = performance.now();
  return new Promise((resolve, reject) => {
    let lastProgress = dst.written;
    const watchdog = setInterval(() => {
      if (dst.written === lastProgress) {
        finish();
        reject(new Error(`no progress for ${STALL_MS} ms after ${dst.written - base}/${count} packets: ${stats()}`));
      }
      lastProgress = dst.written;
    }, STALL_MS);
    const finish = () => {
      clearInterval(watchdog);
      dst.onWrite = undefined;
    };
    const topUp = () => {
      if (dst.written >= target) {
        finish();
        resolve((performance.now() - start) / 1000);
        return;
      }
      while (pumped < count && pumped - (dst.written - base) < window) {
        const n = Math.min(src.batchSize, count - pumped);
        src.pump(n);
        pumped += n;
      }
    };
    dst.onWrite = topUp;
    topUp();
  });
}

/** One direction at one thread count: handshake, warm-up, then the timed run. */
export async function runDirection(direction: Direction, threads: number, packets: number, size: number, bind: InprocessBind = 'pipe'): Promise<InprocessRun> {
  const pair = await makePair(size, threads, bind);
  try {
    const [from, to] = direction === 'a-b' ? (['a', 'b'] as const) : (['b', 'a'] as const);
    const stats = () => `a dropped ${totalDropped(pair.a.stats)}, b dropped ${totalDropped(pair.b.stats)}`;
    // b only learns a's endpoint from a's handshake: the first packet always goes a → b.
    await push(pair.tuns.a, pair.tuns.b, 1, stats);
    if (direction === 'b-a') await push(pair.tuns.b, pair.tuns.a, 1, stats);
    const expected = benchPacket(from, size);
    const got = pair.tuns[to].firstWritten;
    if (!got || Buffer.compare(got, expected) !== 0) throw new Error(`${direction}: the packet that arrived differs from the one sent`);
    await push(pair.tuns[from], pair.tuns[to], Math.min(WARMUP_MAX, Math.ceil(packets * WARMUP_FRACTION)), stats);
    const cpu0 = process.cpuUsage();
    const seconds = await push(pair.tuns[from], pair.tuns[to], packets, stats);
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    return {
      direction,
      bind,
      threads,
      threadsRead: pair.threadsRead(),
      packets,
      size,
      seconds,
      packetsPerSecond: packets / seconds,
      gbitPerSecond: (packets * size * BITS_PER_BYTE) / seconds / 1e9,
      cpuSeconds,
      percentCore: (cpuSeconds / seconds) * 100,
    };
  } finally {
    await pair.close();
  }
}

export function formatInprocess(report: InprocessReport): string {
  const rows = [['direction', 'bind', 'threads', 'packets', 'bytes', 'seconds', 'kpps', 'Gbit/s', 'CPU %core']];
  for (const r of report.runs) {
    rows.push([
      r.direction, r.bind, `${r.threads}${r.threads > 1 && !r.threadsRead ? ' (not read)' : ''}`, String(r.packets), String(r.size),
      r.seconds.toFixed(3), (r.packetsPerSecond / 1e3).toFixed(1), r.gbitPerSecond.toFixed(3), r.percentCore.toFixed(0),
    ]);
  }
  const head = `tunvpn in-process ${report.date}: two devices, in-memory TUN and UDP (${report.host.cpuModel}, node ${report.host.node})`;
  const notes = report.runs.some((r) => r.threads > 1 && !r.threadsRead)
    ? ['"(not read)": the device does not know the threads option yet, so that row ran on one thread']
    : [];
  return `${[head, '', ...formatColumns(rows, 3), ...notes].join('\n')}\n`;
}

export async function runInprocess(args: InprocessArgs): Promise<number> {
  const date = new Date().toISOString();
  const runs: InprocessRun[] = [];
  for (const threads of args.threads) {
    for (const direction of args.directions) {
      if (!args.json) process.stderr.write(`inprocess: ${direction}, ${threads} thread(s), ${args.packets} packets of ${args.size} bytes\n`);
      try {
        runs.push(await runDirection(direction, threads, args.packets, args.size, args.bind));
      } catch (e) {
        process.stderr.write(`inprocess: ${direction}, ${threads} thread(s): ${(e as Error).message}\n`);
        return 1;
      }
    }
  }
  const report: InprocessReport = {
    date,
    host: { ...hostInfo(), cpuModel: cpus()[0]?.model ?? 'unknown' },
    runs,
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const path = writeResult(`${resultStem(date)}-inprocess.json`, json);
  process.stdout.write(args.json ? json : `${formatInprocess(report)}\nwrote ${path}\n`);
  return 0;
}
