/**
 * LinuxTun: a Linux TUN device (IFF_TUN | IFF_NO_PI) over the addon, batched. Opening the device and probing its
 * offloads is linux-open.ts; this file is the I/O.
 *
 * Read: a uv_poll watcher wakes us; readBatch drains up to batchSize packets into one PacketBatch per callback,
 * at most MAX_BATCHES_PER_WAKE batches per wake-up (the poll is level-triggered, so the rest wakes us again).
 * Write: writeBatch; on EAGAIN the rest is copied to a bounded backlog and POLL_WRITABLE is watched; what does not
 * fit is dropped and counted. A packet the kernel rejects (EINVAL, ...) is dropped and counted, the rest go on.
 * Device removal: when the link is deleted the kernel detaches the fd; poll reports an error (libuv: EBADF) and
 * reads fail with EBADFD. Either way we release the fd and emit 'closed' once.
 *
 * Offloads (default on when the kernel takes them; `offload: false`, TUNVPN_OFFLOAD=0 or TUNVPN_TUN_OFFLOAD=0 turn
 * them off): the device is opened with IFF_VNET_HDR and TUNSETOFFLOAD CSUM|TSO4|TSO6 (|USO4|USO6 when accepted).
 * Reads then carry a virtio_net_hdr and may be 64 KiB TCP super-packets: offload.ts splits them into MTU-sized
 * packets before the callback. Writes go through offload/coalesce.ts: consecutive segments of a TCP flow become one
 * super-packet, everything is written with writevBatch behind its virtio_net_hdr (and write() may rewrite the
 * headers of a batch's packets in place).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { isNativeError } from '../native/errors.js';
import { nativeFdIo, type NativeFdIo } from '../native/fdio.js';
import type { FdWatcher } from '../native/poll.js';
import { nativeTun, type NativeTun } from '../native/tun.js';
import { Backlog } from '../packet/backlog.js';
import { PacketBatch } from '../packet/batch.js';
import { offloadAllowed } from '../packet/offload-switches.js';
import { describeOffloads, openTunDevice, readSysMtu, type OpenedTun } from './linux-open.js';
import { GroPlanner } from './offload/coalesce.js';
import { VnetReader } from './offload/reader.js';
import { VNET_HDR_BYTES } from './offload/vnet-header.js';
import {
  DEFAULT_TUN_BATCH_SIZE,
  DEFAULT_TUN_MTU,
  emptyTunStats,
  type PacketsCallback,
  type Tun,
  type TunEvents,
  type TunStats,
} from './tun.js';

/** errno EBADF (asm-generic/errno-base.h): what libuv's poll reports, negated, once the device is gone. */
const EBADF = 9;
/** Largest IP packet: a read slot of this size never truncates. */
const MAX_PACKET_BYTES = 65_535;
const MAX_BATCHES_PER_WAKE = 8;
/** Errors that mean the device is gone (deleted link, detached queue). */
const DEVICE_GONE = new Set(['EBADFD', 'EIO', 'ENXIO', 'ENODEV', 'EBADF', 'EPIPE']);
/** Backlog slot: covers jumbo MTUs; a larger packet that meets a full kernel queue is dropped and counted. */
const BACKLOG_SLOT_BYTES = 9216;
/** With offloads a backlog entry is a virtio_net_hdr and a super-packet of up to 64 KiB. */
const OFFLOAD_BACKLOG_SLOT_BYTES = VNET_HDR_BYTES + MAX_PACKET_BYTES;
const OFFLOAD_BACKLOG_ENTRIES = 32;

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
  /** IFF_VNET_HDR with TSO/checksum offloads when the kernel accepts them (default: unless TUNVPN_OFFLOAD=0). */
  offload?: boolean;
  logger?: Logger;
  /** The addon's TUN and fd I/O calls (default: the real addon); tests pass a scripted fake. */
  addon?: LinuxTunAddon;
}

/** What a LinuxTun calls in the addon: the TUN ioctls and fd life cycle, and the batched read/write(v). */
export type LinuxTunAddon = NativeTun & NativeFdIo;

export class LinuxTun extends EventEmitter<TunEvents> implements Tun {
  readonly name: string;
  readonly batchSize: number;
  readonly stats: TunStats = emptyTunStats();

  private readonly tun: NativeTun;
  private readonly io: NativeFdIo;
  private readonly log: Logger;
  /** The caller's logger, without our bindings: the info lines say what they are about in the message. */
  private readonly steps: Logger;
  private fd: number;
  private watcher: FdWatcher | undefined;
  private onPackets: PacketsCallback | undefined;
  private readonly rx: PacketBatch;
  private readonly rxArena: Uint8Array;
  private readonly backlog: Backlog;
  private mtuBytes: number;
  private isClosed = false;
  /** Offload state: TUN_F_* flags in force, the reader that splits, the planner that coalesces. */
  readonly offloadFlags: number;
  private readonly vnet: VnetReader | undefined;
  private gro: GroPlanner | undefined;
  private readonly deliverRx = (batch: PacketBatch): void => this.deliver(batch);

  /** Opens (creating if needed) the TUN device. Throws a clear error when /dev/net/tun or the name is unusable. */
  static open(opts: LinuxTunOptions = {}): LinuxTun {
    const tun = opts.addon ?? nativeTun();
    const io = opts.addon ?? nativeFdIo();
    const opened = openTunDevice(tun, {
      name: opts.name ?? '',
      netnsPath: opts.netnsPath,
      // Offloaded writes need writevBatch (a scripted fake may not have it).
      offload: (opts.offload ?? offloadAllowed('TUN')) && typeof io.writevBatch === 'function',
    });
    return new LinuxTun(tun, io, opened, opts);
  }

  private constructor(tun: NativeTun, io: NativeFdIo, opened: OpenedTun, opts: LinuxTunOptions) {
    super();
    const { fd, name, offloadFlags } = opened;
    this.tun = tun;
    this.io = io;
    this.fd = fd;
    this.name = name;
    this.offloadFlags = offloadFlags;
    this.steps = opts.logger ?? silentLogger;
    this.log = this.steps.child({ component: 'tun', tun: name });
    this.batchSize = opts.batchSize ?? DEFAULT_TUN_BATCH_SIZE;
    const headroom = opts.headroom ?? 0;
    if (offloadFlags !== 0) {
      this.vnet = new VnetReader(this.batchSize, headroom);
      this.rx = this.vnet.rx;
      this.rxArena = this.vnet.rawArena;
      this.backlog = new Backlog(OFFLOAD_BACKLOG_ENTRIES, OFFLOAD_BACKLOG_SLOT_BYTES, false);
    } else {
      this.rx = new PacketBatch(this.batchSize, MAX_PACKET_BYTES + headroom, { headroom });
      this.rxArena = this.rx.buf.subarray(headroom);
      this.backlog = new Backlog(opts.backlog ?? 2 * this.batchSize, BACKLOG_SLOT_BYTES, false);
    }
    this.mtuBytes = opts.mtu ?? (opts.netnsPath ? undefined : readSysMtu(name)) ?? DEFAULT_TUN_MTU;
    this.steps.info(`TUN device ${name} open`);
    this.log.debug({ fd, offload: offloadFlags !== 0 ? describeOffloads(tun, offloadFlags) : 'off' }, 'TUN device features');
  }

  /** Whether the device runs with IFF_VNET_HDR offloads. */
  get offload(): boolean {
    return this.offloadFlags !== 0;
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
    this.watcher = this.tun.watch(this.fd, (events) => this.onPoll(events));
    this.arm();
  }

  write(batch: PacketBatch): void {
    if (this.isClosed) {
      this.stats.writeDropped += batch.count;
      return;
    }
    if (this.vnet) {
      this.writeOffload(batch);
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
      // libuv reports it as -EBADF (-9): the usual cause is `ip link del`.
      this.shutdown(events === -EBADF ? `the TUN device ${this.name} was deleted` : `poll error ${events} on the TUN device ${this.name} (was it deleted?)`);
      return;
    }
    const c = this.tun.constants;
    if (events & c.POLL_WRITABLE) this.flushBacklog();
    if (events & c.POLL_READABLE) this.drain();
  }

  private drain(): void {
    if (this.vnet) {
      this.drainVnet(this.vnet);
      return;
    }
    const rx = this.rx;
    const max = this.batchSize;
    for (let round = 0; round < MAX_BATCHES_PER_WAKE && !this.isClosed; round++) {
      let n: number;
      try {
        n = this.io.readBatch(this.fd, this.rxArena, rx.slotSize, rx.lengths, max);
      } catch (e) {
        this.onIoError(e, 'read');
        return;
      }
      if (n === 0) return;
      rx.acceptReads(n);
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

  /** drain() for a TUN with IFF_VNET_HDR: raw reads are split into packets by the VnetReader. */
  private drainVnet(vnet: VnetReader): void {
    for (let round = 0; round < MAX_BATCHES_PER_WAKE && !this.isClosed; round++) {
      let n: number;
      try {
        n = this.io.readBatch(this.fd, vnet.rawArena, vnet.rawSlot, vnet.rawLengths, vnet.rawMax);
      } catch (e) {
        this.onIoError(e, 'read');
        return;
      }
      if (n === 0) return;
      vnet.process(n, this.deliverRx);
      if (n < vnet.rawMax) return;
    }
  }

  private deliver(batch: PacketBatch): void {
    this.stats.read += batch.count;
    const cb = this.onPackets;
    if (!cb || this.isClosed) return;
    try {
      cb(batch);
    } catch (e) {
      this.log.error({ err: e }, 'packet callback threw');
    }
  }

  // ---- write -----------------------------------------------------------------------------------------------

  /**
   * write() with offloads: GRO plans the writes (heads + slices), writevBatch does them. After a short batch we go
   * on one write at a time, which tells EAGAIN (the rest goes to the backlog) from a refused write (dropped).
   */
  private writeOffload(batch: PacketBatch): void {
    if (batch.count === 0) return;
    if (!this.gro || this.gro.capacity < batch.count) this.gro = new GroPlanner(Math.max(batch.count, this.batchSize));
    const gro = this.gro;
    gro.plan(batch);
    const writes = gro.writes;
    if (this.backlog.count > 0) {
      this.planToBacklog(batch.buf, 0, 0);
      return;
    }
    let done: number;
    try {
      done = this.io.writevBatch(this.fd, gro.heads, VNET_HDR_BYTES, batch.buf, gro.offsets, gro.lengths, gro.parts, writes);
    } catch (e) {
      if (!this.refusedWrite(e, 0)) return;
      done = 1;
    }
    this.countWritten(0, done);
    if (done === writes) return;
    let slice = 0;
    for (let w = 0; w < done; w++) slice += gro.parts[w]!;
    while (done < writes && !this.isClosed) {
      let n: number;
      try {
        n = this.io.writevBatch(
          this.fd,
          gro.heads.subarray(done * VNET_HDR_BYTES),
          VNET_HDR_BYTES,
          batch.buf,
          gro.offsets.subarray(slice),
          gro.lengths.subarray(slice),
          gro.parts.subarray(done),
          1,
        );
      } catch (e) {
        if (!this.refusedWrite(e, done)) return;
        n = 1;
      }
      if (n === 0) {
        this.planToBacklog(batch.buf, done, slice);
        return;
      }
      if (n === 1) this.countWritten(done, done + 1);
      slice += gro.parts[done]!;
      done++;
    }
  }

  private countWritten(from: number, to: number): void {
    const packets = this.gro!.packets;
    for (let w = from; w < to; w++) this.stats.written += packets[w]!;
  }

  /** A planned write threw: count its packets dropped and return true to go on, false when the device is gone. */
  private refusedWrite(e: unknown, w: number): boolean {
    const gro = this.gro!;
    if (this.onIoError(e, 'write')) {
      this.stats.writeDropped += gro.packets[w]!;
      return true;
    }
    for (let k = w; k < gro.writes; k++) this.stats.writeDropped += gro.packets[k]!;
    return false;
  }

  /** Copies planned writes from `w` (its first slice at `slice`) into the backlog, header and slices contiguous. */
  private planToBacklog(buf: Uint8Array, w: number, slice: number): void {
    const gro = this.gro!;
    const b = this.backlog.batch;
    const wasEmpty = b.count === 0;
    for (; w < gro.writes; w++) {
      const parts = gro.parts[w]!;
      let total = VNET_HDR_BYTES;
      for (let k = 0; k < parts; k++) total += gro.lengths[slice + k]!;
      const at = total <= b.maxPacketSize ? b.next() : -1;
      if (at < 0) {
        this.stats.writeDropped += gro.packets[w]!;
        slice += parts;
        continue;
      }
      b.buf.set(gro.heads.subarray(w * VNET_HDR_BYTES, (w + 1) * VNET_HDR_BYTES), at);
      let p = at + VNET_HDR_BYTES;
      for (let k = 0; k < parts; k++, slice++) {
        const o = gro.offsets[slice]!;
        const l = gro.lengths[slice]!;
        b.buf.set(buf.subarray(o, o + l), p);
        p += l;
      }
      b.commit(total);
    }
    if (wasEmpty && b.count > 0) this.arm();
  }

  /**
   * Writes entries 0..count-1 and returns how many were dealt with (written or dropped); the rest hit EAGAIN and,
   * unless they are the backlog's own (fromBacklog), were queued. writeBatch stops short both on EAGAIN and on a
   * refused packet, so after a short batch we go on one packet at a time, which tells the two apart.
   */
  private writeRun(buf: Uint8Array, offsets: Int32Array, lengths: Int32Array, count: number, fromBacklog: boolean): number {
    let done: number;
    try {
      done = this.io.writeBatch(this.fd, buf, offsets, lengths, count);
      this.stats.written += done;
    } catch (e) {
      if (!this.refused(e, count)) return count;
      done = 1;
    }
    while (done < count && !this.isClosed) {
      let n: number;
      try {
        n = this.io.write(this.fd, buf, offsets[done]!, lengths[done]!);
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
      this.shutdown(`${op} failed with ${e.code} (was the TUN device ${this.name} deleted?)`);
      return false;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.log.warn({ err }, `TUN ${op} failed`);
    return true;
  }

  private arm(): void {
    if (!this.watcher || this.isClosed) return;
    const c = this.tun.constants;
    this.watcher.start(this.backlog.count > 0 ? c.POLL_READABLE | c.POLL_WRITABLE : c.POLL_READABLE);
  }

  private shutdown(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.onPackets = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    try {
      this.tun.close(this.fd);
    } catch (e) {
      this.log.warn({ err: e }, 'closing the TUN fd failed');
    }
    this.fd = -1;
    this.stats.writeDropped += this.backlog.count;
    this.backlog.consume(this.backlog.count);
    this.steps.info(`TUN device ${this.name} closed (${reason})`);
    this.emit('closed', reason);
  }
}
