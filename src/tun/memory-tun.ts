/**
 * MemoryTun: an in-process TUN device for tests. The test plays the kernel: inject() is "the kernel sends a
 * packet to the device" (it reaches onPackets asynchronously, in batches), and nextWritten()/takeWritten() read
 * what the device wrote ("the kernel received"). remove() simulates `ip link del`.
 */
import { EventEmitter } from 'node:events';
import { PacketBatch } from '../packet/batch.js';
import { DEFAULT_TUN_MTU, emptyTunStats, type PacketsCallback, type Tun, type TunEvents, type TunStats } from './tun.js';

const DEFAULT_MEMORY_TUN_BATCH = 32;
const DEFAULT_MEMORY_TUN_SLOT_BYTES = 65_535;
/** How long nextWritten waits by default before rejecting, so a broken test fails instead of hanging. */
const DEFAULT_WAIT_MS = 5_000;

export interface MemoryTunOptions {
  name?: string;
  mtu?: number;
  batchSize?: number;
  /** Bytes of headroom in each read slot, as LinuxTun offers. */
  headroom?: number;
}

export class MemoryTun extends EventEmitter<TunEvents> implements Tun {
  readonly name: string;
  readonly batchSize: number;
  readonly stats: TunStats = emptyTunStats();

  private readonly mtuBytes: number;
  private readonly rx: PacketBatch;
  private inbound: Uint8Array[] = [];
  private scheduled = false;
  private onPackets: PacketsCallback | undefined;
  private closed = false;
  private readonly written: Uint8Array[] = [];
  private waiters: Array<(p: Uint8Array) => void> = [];

  constructor(opts: MemoryTunOptions = {}) {
    super();
    this.name = opts.name ?? 'mem0';
    this.mtuBytes = opts.mtu ?? DEFAULT_TUN_MTU;
    this.batchSize = opts.batchSize ?? DEFAULT_MEMORY_TUN_BATCH;
    this.rx = new PacketBatch(this.batchSize, DEFAULT_MEMORY_TUN_SLOT_BYTES + (opts.headroom ?? 0), { headroom: opts.headroom ?? 0 });
  }

  mtu(): number {
    return this.mtuBytes;
  }

  start(onPackets: PacketsCallback): void {
    if (this.onPackets) throw new Error('memory tun already started');
    this.onPackets = onPackets;
    this.schedule();
  }

  write(batch: PacketBatch): void {
    for (let i = 0; i < batch.count; i++) {
      if (this.closed) {
        this.stats.writeDropped++;
        continue;
      }
      const off = batch.offsets[i]!;
      const packet = batch.buf.slice(off, off + batch.lengths[i]!);
      this.stats.written++;
      const waiter = this.waiters.shift();
      if (waiter) waiter(packet);
      else this.written.push(packet);
    }
  }

  async close(): Promise<void> {
    this.shutdown('closed by the device');
  }

  // ---- the kernel's side -----------------------------------------------------------------------------------

  /** The kernel sends packets to the device (copied now, delivered on a later turn of the event loop). */
  inject(packets: Uint8Array | Uint8Array[]): void {
    if (this.closed) throw new Error('memory tun is closed');
    for (const p of Array.isArray(packets) ? packets : [packets]) {
      if (p.length > this.rx.maxPacketSize) throw new RangeError(`packet of ${p.length} bytes exceeds a slot`);
      this.inbound.push(p.slice());
    }
    this.schedule();
  }

  /** The next packet the device wrote (a copy). Rejects after timeoutMs or when the tun closes. */
  nextWritten(timeoutMs = DEFAULT_WAIT_MS): Promise<Uint8Array> {
    const queued = this.written.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = (p: Uint8Array): void => {
        clearTimeout(timer);
        resolve(p);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`memory tun ${this.name}: nothing written within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Every packet written and not yet taken. */
  takeWritten(): Uint8Array[] {
    return this.written.splice(0);
  }

  /** Simulates the link being deleted (`ip link del`): the tun emits 'closed'. */
  remove(): void {
    this.shutdown('device removed');
  }

  private shutdown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.inbound = [];
    this.onPackets = undefined;
    this.emit('closed', reason);
  }

  private schedule(): void {
    if (this.scheduled || !this.onPackets || this.inbound.length === 0) return;
    this.scheduled = true;
    setImmediate(() => this.deliver());
  }

  private deliver(): void {
    this.scheduled = false;
    const queue = this.inbound;
    this.inbound = [];
    let at = 0;
    while (at < queue.length && this.onPackets) {
      const rx = this.rx;
      rx.reset();
      while (at < queue.length && rx.count < rx.capacity) rx.push(queue[at++]!);
      this.stats.read += rx.count;
      this.onPackets(rx);
    }
    this.schedule();
  }
}
