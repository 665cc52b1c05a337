/**
 * LinuxTun: a Linux TUN device (IFF_TUN | IFF_NO_PI) over the addon, batched. One file per concern:
 *
 *   linux-open.ts   open the device (in a namespace), probe and set its offloads
 *   linux-tun.ts    this file: the read loop, the poll callback, errors and shutdown
 *   linux-write.ts  the write path: writeBatch, offloaded writevBatch, the EAGAIN backlog
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
 * Reads then carry a virtio_net_hdr and may be 64 KiB TCP super-packets: offload/split.ts cuts them into MTU-sized
 * packets before the callback (offload/reader.ts). Writes go through offload/coalesce.ts: consecutive segments of a TCP flow become one
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
import { PacketBatch } from '../packet/batch.js';
import { offloadAllowed } from '../packet/offload-switches.js';
import { describeOffloads, openTunDevice, readSysMtu, type OpenedTun } from './linux-open.js';
import { TunWriter, type TunWriteHooks } from './linux-write.js';
import { VnetReader } from './offload/reader.js';
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
  private readonly writer: TunWriter;
  private mtuBytes: number;
  private isClosed = false;
  /** Offload state: TUN_F_* flags in force, the reader that splits, the planner that coalesces. */
  readonly offloadFlags: number;
  private readonly vnet: VnetReader | undefined;
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
    } else {
      this.rx = new PacketBatch(this.batchSize, MAX_PACKET_BYTES + headroom, { headroom });
      this.rxArena = this.rx.buf.subarray(headroom);
    }
    const hooks: TunWriteHooks = { ioError: (e, op) => this.onIoError(e, op), arm: () => this.arm() };
    this.writer = new TunWriter(io, fd, this.stats, hooks, offloadFlags !== 0, this.batchSize, opts.backlog ?? 2 * this.batchSize);
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
    this.writer.write(batch);
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
    if (events & c.POLL_WRITABLE) this.writer.flushBacklog();
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
    this.watcher.start(this.writer.pending ? c.POLL_READABLE | c.POLL_WRITABLE : c.POLL_READABLE);
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
    this.writer.close();
    this.steps.info(`TUN device ${this.name} closed (${reason})`);
    this.emit('closed', reason);
  }
}
