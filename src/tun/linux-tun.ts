/**
 * LinuxTun: a Linux TUN device (IFF_TUN | IFF_NO_PI) over the addon, batched.
 *
 * Read: a uv_poll watcher wakes us; readBatch drains up to batchSize packets into one PacketBatch per callback,
 * at most MAX_BATCHES_PER_WAKE batches per wake-up (the poll is level-triggered, so the rest wakes us again).
 * Write: writeBatch; on EAGAIN the rest is copied to a bounded backlog and POLL_WRITABLE is watched; what does not
 * fit is dropped and counted. A packet the kernel rejects (EINVAL, ...) is dropped and counted, the rest go on.
 * Device removal: when the link is deleted the kernel detaches the fd; poll reports an error (libuv: EBADF) and
 * reads fail with EBADFD. Either way we release the fd and emit 'closed' once.
 *
 * IFF_VNET_HDR (GSO/GRO offloads) is a later step: `offload: true` is reserved for it and rejected for now.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { isNativeError, native, type FdWatcher, type NativeAddon } from '../native/addon.js';
import { Backlog } from '../conn/backlog.js';
import { PacketBatch } from '../conn/batch.js';
import {
  DEFAULT_TUN_BATCH_SIZE,
  DEFAULT_TUN_MTU,
  emptyTunStats,
  type PacketsCallback,
  type Tun,
  type TunEvents,
  type TunStats,
} from './tun.js';

/** Largest IP packet: a read slot of this size never truncates. */
const MAX_PACKET_BYTES = 65_535;
const MAX_BATCHES_PER_WAKE = 8;
/** Errors that mean the device is gone (deleted link, detached queue). */
const DEVICE_GONE = new Set(['EBADFD', 'EIO', 'ENXIO', 'ENODEV', 'EBADF', 'EPIPE']);
/** Linux interface names are at most IFNAMSIZ - 1 bytes. */
const IFNAMSIZ = 16;
/** Backlog slot: covers jumbo MTUs; a larger packet that meets a full kernel queue is dropped and counted. */
const BACKLOG_SLOT_BYTES = 9216;

export interface LinuxTunOptions {
  /** Interface name, at most 15 bytes; '' or a pattern like 'tv%d' lets the kernel pick. */
  name?: string;
  /** Open the device inside this network namespace (e.g. /run/netns/NAME). */
  netnsPath?: string;
  batchSize?: number;
  /** Bytes reserved before each packet read (room for a header, see PacketBatch). */
  headroom?: number;
  /** Packets kept while the kernel will not take more (default 2 × batchSize). */
  backlog?: number;
  /** The MTU to report; by default read from /sys/class/net/NAME/mtu (root namespace only), else 1420. */
  mtu?: number;
  /** Reserved for IFF_VNET_HDR offloads; true throws until implemented. */
  offload?: boolean;
  logger?: Logger;
  addon?: NativeAddon;
}

export class LinuxTun extends EventEmitter<TunEvents> implements Tun {
  readonly name: string;
  readonly batchSize: number;
  readonly stats: TunStats = emptyTunStats();

  private readonly addon: NativeAddon;
  private readonly log: Logger;
  private fd: number;
  private watcher: FdWatcher | undefined;
  private onPackets: PacketsCallback | undefined;
  private readonly rx: PacketBatch;
  private readonly rxArena: Uint8Array;
  private readonly backlog: Backlog;
  private mtuBytes: number;
  private isClosed = false;

  /** Opens (creating if needed) the TUN device. Throws a clear error when /dev/net/tun or the name is unusable. */
  static open(opts: LinuxTunOptions = {}): LinuxTun {
    const addon = opts.addon ?? native();
    if (opts.offload) throw new Error('TUN offloads (IFF_VNET_HDR) are not implemented yet');
    const name = opts.name ?? '';
    if (Buffer.byteLength(name) >= IFNAMSIZ) throw new Error(`TUN name "${name}" is longer than ${IFNAMSIZ - 1} bytes`);
    const flags = addon.constants.IFF_TUN | addon.constants.IFF_NO_PI;
    const doOpen = (): { fd: number; name: string } => addon.tunOpen(name, flags);
    let opened: { fd: number; name: string };
    try {
      opened = opts.netnsPath ? addon.withNetns(opts.netnsPath, doOpen) : doOpen();
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(`cannot open TUN device "${name || '(any)'}": ${why}`, { cause: e });
    }
    return new LinuxTun(addon, opened.fd, opened.name, opts);
  }

  private constructor(addon: NativeAddon, fd: number, name: string, opts: LinuxTunOptions) {
    super();
    this.addon = addon;
    this.fd = fd;
    this.name = name;
    this.log = (opts.logger ?? silentLogger).child({ component: 'tun', tun: name });
    this.batchSize = opts.batchSize ?? DEFAULT_TUN_BATCH_SIZE;
    const headroom = opts.headroom ?? 0;
    this.rx = new PacketBatch(this.batchSize, MAX_PACKET_BYTES + headroom, { headroom });
    this.rxArena = this.rx.buf.subarray(headroom);
    this.backlog = new Backlog(opts.backlog ?? 2 * this.batchSize, BACKLOG_SLOT_BYTES, false);
    this.mtuBytes = opts.mtu ?? (opts.netnsPath ? undefined : readSysMtu(name)) ?? DEFAULT_TUN_MTU;
    this.log.info({ fd }, 'TUN device open');
  }

  mtu(): number {
    return this.mtuBytes;
  }

  /** Records the MTU the link was given (the netlink layer sets it; the fd cannot query it). */
  setMtu(mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > MAX_PACKET_BYTES) throw new RangeError(`MTU out of range: ${mtu}`);
    this.mtuBytes = mtu;
  }

  start(onPackets: PacketsCallback): void {
    if (this.isClosed) throw new Error(`TUN ${this.name} is closed`);
    if (this.onPackets) throw new Error(`TUN ${this.name} already started`);
    this.onPackets = onPackets;
    this.watcher = this.addon.watch(this.fd, (events) => this.onPoll(events));
    this.arm();
  }

  write(batch: PacketBatch): void {
    if (this.isClosed) {
      this.stats.writeDropped += batch.count;
      return;
    }
    if (this.backlog.count > 0) {
      this.toBacklog(batch.buf, batch.offsets, batch.lengths, 0, batch.count);
      return;
    }
    this.writeRun(batch.buf, batch.offsets, batch.lengths, batch.count, false);
  }

  async close(): Promise<void> {
    this.shutdown('closed by the device');
  }

  // ---- read ------------------------------------------------------------------------------------------------

  private onPoll(events: number): void {
    if (this.isClosed) return;
    if (events < 0) {
      // The kernel reports EPOLLERR on a TUN fd whose device was deleted.
      this.shutdown(`poll error ${events} (device removed?)`);
      return;
    }
    const c = this.addon.constants;
    if (events & c.POLL_WRITABLE) this.flushBacklog();
    if (events & c.POLL_READABLE) this.drain();
  }

  private drain(): void {
    const rx = this.rx;
    const max = this.batchSize;
    for (let round = 0; round < MAX_BATCHES_PER_WAKE && !this.isClosed; round++) {
      let n: number;
      try {
        n = this.addon.readBatch(this.fd, this.rxArena, rx.slotSize, rx.lengths, max);
      } catch (e) {
        this.onIoError(e, 'read');
        return;
      }
      if (n === 0) return;
      const limit = rx.maxPacketSize;
      for (let i = 0; i < n; i++) {
        rx.offsets[i] = i * rx.slotSize + rx.headroom;
        if (rx.lengths[i]! > limit) rx.lengths[i] = -1;
      }
      rx.count = n;
      rx.compact();
      this.stats.read += rx.count;
      const cb = this.onPackets;
      if (cb && rx.count > 0) {
        try {
          cb(rx);
        } catch (e) {
          this.log.error({ err: e }, 'packet callback threw');
        }
      }
      if (n < max) return;
    }
  }

  // ---- write -----------------------------------------------------------------------------------------------

  /**
   * Writes entries 0..count-1 and returns how many were dealt with (written or dropped); the rest hit EAGAIN and,
   * unless they are the backlog's own (fromBacklog), were queued. writeBatch stops short both on EAGAIN and on a
   * refused packet, so after a short batch we go on one packet at a time, which tells the two apart.
   */
  private writeRun(buf: Uint8Array, offsets: Int32Array, lengths: Int32Array, count: number, fromBacklog: boolean): number {
    let done = 0;
    try {
      done = this.addon.writeBatch(this.fd, buf, offsets, lengths, count);
      this.stats.written += done;
    } catch (e) {
      if (!this.refused(e, count)) return count;
      done = 1;
    }
    while (done < count && !this.isClosed) {
      let n: number;
      try {
        n = this.addon.write(this.fd, buf, offsets[done]!, lengths[done]!);
      } catch (e) {
        if (!this.refused(e, count - done)) return count;
        done++;
        continue;
      }
      if (n < 0) {
        // EAGAIN: keep the rest for POLL_WRITABLE.
        if (!fromBacklog) this.toBacklog(buf, offsets, lengths, done, count);
        return done;
      }
      this.stats.written++;
      done++;
    }
    return done;
  }

  /**
   * A write threw: count the refused packet as dropped and return true to go on, or, when the device is gone,
   * count all `remaining` packets as dropped and return false.
   */
  private refused(e: unknown, remaining: number): boolean {
    if (this.onIoError(e, 'write')) {
      this.stats.writeDropped++;
      return true;
    }
    this.stats.writeDropped += remaining;
    return false;
  }

  private toBacklog(buf: Uint8Array, offsets: Int32Array, lengths: Int32Array, from: number, to: number): void {
    const wasEmpty = this.backlog.count === 0;
    for (let i = from; i < to; i++) if (!this.backlog.add(buf, offsets[i]!, lengths[i]!)) this.stats.writeDropped++;
    if (wasEmpty && this.backlog.count > 0) this.arm();
  }

  private flushBacklog(): void {
    const b = this.backlog.batch;
    if (b.count > 0) this.backlog.consume(this.writeRun(b.buf, b.offsets, b.lengths, b.count, true));
    if (this.backlog.count === 0) this.arm();
  }

  // ---- errors and shutdown ---------------------------------------------------------------------------------

  /** Handles a thrown I/O error. Returns true when the device is still usable. */
  private onIoError(e: unknown, op: string): boolean {
    if (isNativeError(e) && DEVICE_GONE.has(e.code)) {
      this.shutdown(`${op} failed with ${e.code} (device removed?)`);
      return false;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.log.warn({ err }, `TUN ${op} failed`);
    return true;
  }

  private arm(): void {
    if (!this.watcher || this.isClosed) return;
    const c = this.addon.constants;
    this.watcher.start(this.backlog.count > 0 ? c.POLL_READABLE | c.POLL_WRITABLE : c.POLL_READABLE);
  }

  private shutdown(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.onPackets = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    try {
      this.addon.close(this.fd);
    } catch (e) {
      this.log.warn({ err: e }, 'closing the TUN fd failed');
    }
    this.fd = -1;
    this.stats.writeDropped += this.backlog.count;
    this.backlog.consume(this.backlog.count);
    this.log.info({ reason }, 'TUN device closed');
    this.emit('closed', reason);
  }
}

function readSysMtu(name: string): number | undefined {
  if (!/^[^/\0]{1,15}$/.test(name) || name === '.' || name === '..') return undefined;
  try {
    const mtu = Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim());
    return Number.isInteger(mtu) && mtu > 0 ? mtu : undefined;
  } catch {
    return undefined;
  }
}
