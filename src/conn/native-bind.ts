/**
 * NativeBind: the batched UDP bind over the addon. One IPv4 socket and one IPv6 (v6only) socket on the same
 * port, each drained with recvmmsg and written with sendmmsg, driven by uv_poll watchers on the event loop.
 *
 * Receive: a readable socket is drained in batches of batchSize into one shared PacketBatch (the callback is
 * synchronous, so both sockets can share it), at most MAX_BATCHES_PER_WAKE batches per wake-up so the other
 * socket and the TUN get their turn (uv_poll is level-triggered: what is left wakes us again).
 * Send: datagrams are grouped by family without allocation (a homogeneous batch goes straight to sendmmsg;
 * a mixed one is split through per-socket index scratch arrays). On EAGAIN the rest is copied to a bounded
 * backlog and the socket is watched for POLL_WRITABLE; what does not fit is dropped and counted.
 *
 * Sticky source: IP_PKTINFO / IPV6_RECVPKTINFO are on for every socket, so each received datagram comes with the
 * local address it was sent to and the interface it arrived on (`locals` of the delivered batch); a send batch with
 * `locals` goes out from those addresses (see Bind for what happens when one is no longer ours).
 *
 * Offloads (on unless `offload: false` or TUNVPN_OFFLOAD=0 / TUNVPN_UDP_OFFLOAD=0, each probed per socket at open):
 * - UDP GSO: runs of datagrams to one destination with one size (src/conn/gso.ts) leave in one sendmsg with a
 *   UDP_SEGMENT cmsg. A kernel that refuses it with EIO (no checksum offload on the route) turns GSO off for that
 *   socket; a refused group is resent as plain datagrams by the addon, so nothing is lost.
 * - UDP GRO: the kernel may hand us several datagrams of one flow as one message with their segment size; each
 *   message is split into its datagrams by offsets and lengths (no copy) before the callback sees the batch, so a
 *   callback may carry more than batchSize datagrams (at most GRO_MESSAGES × GSO_MAX_SEGMENTS).
 */
import { offloadAllowed } from '../packet/offload-switches.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { isNativeError, native, SEND_REPORT_GROUPS_REFUSED, SEND_REPORT_LENGTH, SEND_REPORT_REFUSED_ERRNO, SEND_REPORT_UNSOURCED, type FdWatcher, type NativeAddon } from '../native/addon.js';
import { ADDR_SLOT } from '../net/addr-slot.js';
import { PacketBatch } from '../packet/batch.js';
import {
  DEFAULT_BIND_BATCH_SIZE,
  DEFAULT_DATAGRAM_SLOT_BYTES,
  emptyBindStats,
  type Bind,
  type BindStats,
  type ReceiveCallback,
} from './bind.js';
import { Backlog as SocketBacklog } from '../packet/backlog.js';
import { GSO_MAX_SEGMENTS, gsoGroups } from './gso.js';
import { constants as osConstants } from 'node:os';

/**
 * Socket buffer size we ask for (the kernel doubles it for its bookkeeping, socket(7)); memory is only taken while
 * datagrams wait. wireguard-go asks for 7 MiB. More here because the first tenth of a second of a handshake flood
 * finds the event loop cold (code not yet optimised, the young generation growing): measured with 100,000
 * initiations/s, 7 MiB overflowed in that moment (about 3,700 datagrams dropped by the kernel, among them a
 * legitimate peer's initiation, which then waits 5 s for its retry), 16 MiB did not.
 */
export const SOCKET_BUFFER_BYTES = 16 << 20;
/** Batches drained per readiness wake-up before yielding to the event loop. */
const MAX_BATCHES_PER_WAKE = 8;
/**
 * Datagrams delivered per readiness wake-up at most before yielding: with UDP GRO one recvmmsg can return
 * thousands of small datagrams (a flood of 148-byte handshakes coalesces 400 to a message), and the TUN device and
 * timers must get their turn in between.
 */
const MAX_DATAGRAMS_PER_WAKE = 4096;
/** open(0): attempts at finding a port free on both families. */
const PORT_PICK_ATTEMPTS = 10;
/** Consecutive poll errors on a socket before we stop re-arming its watcher. */
const MAX_POLL_ERRORS = 10;
/** Messages per recvmmsg when UDP GRO is on; each slot holds a coalesced message of up to 64 KiB. */
export const GRO_MESSAGES = 32;
const GRO_SLOT_BYTES = 65_536;
const EIO = osConstants.errno.EIO;


export interface NativeBindOptions {
  batchSize?: number;
  /** Bytes per receive slot (headroom included); longer datagrams are dropped and counted. */
  slotSize?: number;
  /** Bytes reserved before each received datagram (see PacketBatch). */
  headroom?: number;
  /** IPv4 address to bind ('' = any). */
  address4?: string;
  /** IPv6 address to bind ('' = any). */
  address6?: string;
  /** Open the IPv6 socket (default true; skipped quietly when the kernel has no IPv6). */
  ipv6?: boolean;
  /** Datagrams per family kept while the socket is full (default 2 × batchSize). */
  backlog?: number;
  /** Create the sockets inside this network namespace (e.g. /run/netns/NAME). */
  netnsPath?: string;
  /** UDP GSO/GRO when the kernel has them (default: on unless TUNVPN_OFFLOAD=0 or TUNVPN_UDP_OFFLOAD=0). */
  offload?: boolean;
  logger?: Logger;
  addon?: NativeAddon;
}

class UdpSocket {
  watcher: FdWatcher | undefined;
  pollErrors = 0;
  /** UDP_SEGMENT sends; turned off for good when the kernel answers EIO. */
  gso = false;
  /** UDP_GRO receives. */
  gro = false;
  /** IP_PKTINFO / IPV6_RECVPKTINFO: received datagrams report their local address. */
  pktinfo = false;
  /** gsoGroups output, and the addon's send report (SEND_REPORT_*: refused groups, their errno, sources refused). */
  readonly groups: Int32Array;
  readonly report = new Int32Array(SEND_REPORT_LENGTH);
  /**
   * Index scratch for splitting a mixed batch by family: entries point into the caller's buf; scratchIndex[k] is the
   * entry's index in the caller's batch (to clear a refused source there).
   */
  readonly scratchOffsets: Int32Array;
  readonly scratchLengths: Int32Array;
  readonly scratchAddrs: Uint8Array;
  readonly scratchLocals: Uint8Array;
  readonly scratchIndex: Int32Array;
  scratchCount = 0;

  constructor(
    readonly family: 4 | 6,
    readonly fd: number,
    readonly backlog: SocketBacklog,
    scratch: number,
  ) {
    this.scratchOffsets = new Int32Array(scratch);
    this.scratchLengths = new Int32Array(scratch);
    this.scratchAddrs = new Uint8Array(scratch * ADDR_SLOT);
    this.scratchLocals = new Uint8Array(scratch * ADDR_SLOT);
    this.scratchIndex = new Int32Array(scratch);
    this.groups = new Int32Array(Math.max(scratch, backlog.batch.capacity));
  }
}

export class NativeBind implements Bind {
  readonly batchSize: number;
  readonly stats: BindStats = emptyBindStats();

  private readonly addon: NativeAddon;
  private readonly log: Logger;
  private readonly opts: NativeBindOptions;
  private readonly rx: PacketBatch;
  /** rx.buf seen from the first packet byte: recvmmsg fills datagram i at rxArena[i*slotSize]. */
  private readonly rxArena: Uint8Array;
  private sockets: UdpSocket[] = [];
  private readonly offload: boolean;
  /** GRO receive state, made at the first open that enables GRO: raw messages, then the datagrams split out. */
  private gro:
    | { arena: Uint8Array; lengths: Int32Array; segments: Int32Array; addrs: Uint8Array; locals: Uint8Array; batch: PacketBatch }
    | undefined;
  private onReceive: ReceiveCallback | undefined;
  private mark = 0;
  private boundPort = 0;

  constructor(opts: NativeBindOptions = {}) {
    this.opts = opts;
    this.addon = opts.addon ?? native();
    this.log = (opts.logger ?? silentLogger).child({ component: 'bind' });
    this.batchSize = opts.batchSize ?? DEFAULT_BIND_BATCH_SIZE;
    const headroom = opts.headroom ?? 0;
    this.rx = new PacketBatch(this.batchSize, opts.slotSize ?? DEFAULT_DATAGRAM_SLOT_BYTES, { headroom, addrs: true, locals: true });
    this.rxArena = this.rx.buf.subarray(headroom);
    this.offload = (opts.offload ?? offloadAllowed('UDP')) && headroom === 0;
  }

  /** Which offloads each open socket uses (IPv4 first): for tests and diagnostics. */
  get offloads(): Array<{ family: 4 | 6; gso: boolean; gro: boolean }> {
    return this.sockets.map((s) => ({ family: s.family, gso: s.gso, gro: s.gro }));
  }

  /** Whether each open socket reports the local address of what it receives (IPv4 first): for tests. */
  get pktinfo(): Array<{ family: 4 | 6; pktinfo: boolean }> {
    return this.sockets.map((s) => ({ family: s.family, pktinfo: s.pktinfo }));
  }

  get port(): number {
    return this.boundPort;
  }

  /** The fds of the open sockets (IPv4 first): for tests and diagnostics (e.g. reading SO_MARK back). */
  get fds(): number[] {
    return this.sockets.map((s) => s.fd);
  }

  async open(port: number): Promise<number> {
    if (this.sockets.length > 0) throw new Error('bind is already open');
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`port out of range: ${port}`);
    const opened = this.opts.netnsPath
      ? this.addon.withNetns(this.opts.netnsPath, () => this.openSockets(port))
      : this.openSockets(port);
    const backlog = this.opts.backlog ?? 2 * this.batchSize;
    for (const [family, fd] of opened.fds) {
      const s = new UdpSocket(family, fd, new SocketBacklog(backlog, this.rx.slotSize, true, true), this.batchSize);
      this.sockets.push(s);
      this.tuneBuffers(fd);
      this.enablePktinfo(s);
      if (this.offload) this.probeOffloads(s);
    }
    this.boundPort = opened.port;
    try {
      if (this.mark !== 0) this.applyMark(this.mark);
    } catch (e) {
      await this.close();
      throw e;
    }
    this.log.info({ port: opened.port, offloads: this.offloads, pktinfo: this.pktinfo }, 'UDP bind open');
    return opened.port;
  }

  start(onReceive: ReceiveCallback): void {
    if (this.sockets.length === 0) throw new Error('bind: start before open');
    if (this.onReceive) throw new Error('bind already started');
    this.onReceive = onReceive;
    for (const s of this.sockets) {
      s.watcher = this.addon.watch(s.fd, (events) => this.onPoll(s, events));
      this.arm(s); // writable too if something was queued before start

    }
  }

  send(batch: PacketBatch): number {
    const addrs = batch.addrs;
    if (!addrs) throw new Error('send needs a batch with addresses');
    const count = batch.count;
    if (count === 0) return 0;
    const locals = batch.locals;
    // Fast path: one family, nothing queued ahead of it.
    const family = addrs[0]!;
    let same = true;
    for (let i = 1; i < count && same; i++) same = addrs[i * ADDR_SLOT] === family;
    const only = same ? this.socketFor(family) : undefined;
    if (only && only.backlog.count === 0) {
      return this.sendRun(only, batch.buf, batch.offsets, batch.lengths, addrs, locals, count);
    }
    let refused = 0;
    for (let i = 0; i < count; i++) {
      const s = this.socketFor(addrs[i * ADDR_SLOT]!);
      if (!s) {
        this.stats.sendDropped++;
        continue;
      }
      if (s.scratchCount === s.scratchOffsets.length) refused += this.flushScratch(s, batch.buf, locals);
      const k = s.scratchCount++;
      s.scratchOffsets[k] = batch.offsets[i]!;
      s.scratchLengths[k] = batch.lengths[i]!;
      s.scratchIndex[k] = i;
      copySlot(addrs, i * ADDR_SLOT, s.scratchAddrs, k * ADDR_SLOT);
      if (locals) copySlot(locals, i * ADDR_SLOT, s.scratchLocals, k * ADDR_SLOT);
    }
    for (const s of this.sockets) refused += this.flushScratch(s, batch.buf, locals);
    return refused;
  }

  setMark(mark: number): void {
    if (!Number.isInteger(mark) || mark < 0 || mark > 0xffff_ffff) throw new RangeError(`fwmark out of range: ${mark}`);
    if (this.sockets.length > 0) this.applyMark(mark);
    this.mark = mark;
  }

  async close(): Promise<void> {
    const sockets = this.sockets;
    this.sockets = [];
    this.onReceive = undefined;
    for (const s of sockets) {
      s.watcher?.close();
      s.watcher = undefined;
      try {
        this.addon.close(s.fd);
      } catch (e) {
        this.log.warn({ err: e, fd: s.fd }, 'closing UDP socket failed');
      }
    }
    if (sockets.length > 0) this.log.info({ port: this.boundPort }, 'UDP bind closed');
    this.boundPort = 0;
  }

  // ---- open ------------------------------------------------------------------------------------------------

  private openSockets(port: number): { port: number; fds: Array<[4 | 6, number]> } {
    const a = this.addon;
    const want6 = this.opts.ipv6 ?? true;
    let lastError: unknown;
    for (let attempt = 0; attempt < (port === 0 ? PORT_PICK_ATTEMPTS : 1); attempt++) {
      let v4: { fd: number; port: number };
      try {
        v4 = a.udpOpen(4, this.opts.address4 ?? '', port, false);
      } catch (e) {
        lastError = e;
        break;
      }
      if (!want6) return { port: v4.port, fds: [[4, v4.fd]] };
      try {
        const v6 = a.udpOpen(6, this.opts.address6 ?? '', v4.port, true);
        return { port: v4.port, fds: [[4, v4.fd], [6, v6.fd]] };
      } catch (e) {
        if (isNativeError(e) && e.code === 'EAFNOSUPPORT') {
          this.log.warn('IPv6 is not available: UDP bind is IPv4 only');
          return { port: v4.port, fds: [[4, v4.fd]] };
        }
        a.close(v4.fd);
        lastError = e;
        // The kernel's free IPv4 port may be taken on IPv6: try another one.
        if (!(port === 0 && isNativeError(e) && e.code === 'EADDRINUSE')) break;
      }
    }
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    throw new Error(`cannot open UDP port ${port}: ${why}`, { cause: lastError });
  }

  private tuneBuffers(fd: number): void {
    const { SOL_SOCKET, SO_RCVBUFFORCE, SO_RCVBUF, SO_SNDBUFFORCE, SO_SNDBUF } = this.addon.constants;
    for (const [force, plain] of [
      [SO_RCVBUFFORCE, SO_RCVBUF],
      [SO_SNDBUFFORCE, SO_SNDBUF],
    ] as const) {
      try {
        // FORCE ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN; the plain option is capped by it.
        this.addon.setsockoptInt(fd, SOL_SOCKET, force, SOCKET_BUFFER_BYTES);
      } catch {
        try {
          this.addon.setsockoptInt(fd, SOL_SOCKET, plain, SOCKET_BUFFER_BYTES);
        } catch (e) {
          this.log.debug({ err: e }, 'could not enlarge socket buffer');
        }
      }
    }
  }

  /**
   * IP_PKTINFO (IPv4) / IPV6_RECVPKTINFO (IPv6): the kernel reports each datagram's local address and interface, the
   * sticky source replies go out from. Without it (an old kernel) the kernel chooses every source, as before.
   */
  private enablePktinfo(s: UdpSocket): void {
    const c = this.addon.constants;
    try {
      if (s.family === 4) this.addon.setsockoptInt(s.fd, c.IPPROTO_IP, c.IP_PKTINFO, 1);
      else this.addon.setsockoptInt(s.fd, c.IPPROTO_IPV6, c.IPV6_RECVPKTINFO, 1);
      s.pktinfo = true;
    } catch (e) {
      this.log.warn({ err: e, family: s.family }, 'cannot learn local addresses (no packet info): replies leave from the address the kernel picks');
    }
  }

  /** UDP_SEGMENT is there when getsockopt knows it; UDP_GRO when setsockopt takes it. */
  private probeOffloads(s: UdpSocket): void {
    const a = this.addon;
    const { SOL_UDP, UDP_SEGMENT, UDP_GRO } = a.constants;
    if (typeof a.sendmmsgGso === 'function') {
      try {
        a.getsockoptInt(s.fd, SOL_UDP, UDP_SEGMENT);
        s.gso = true;
      } catch (e) {
        this.log.debug({ err: e, family: s.family }, 'no UDP GSO');
      }
    }
    if (typeof a.recvmmsgGro === 'function') {
      try {
        a.setsockoptInt(s.fd, SOL_UDP, UDP_GRO, 1);
        s.gro = true;
      } catch (e) {
        this.log.debug({ err: e, family: s.family }, 'no UDP GRO');
      }
    }
    if (s.gro && !this.gro) {
      const arena = new Uint8Array(GRO_MESSAGES * GRO_SLOT_BYTES);
      const capacity = GRO_MESSAGES * GSO_MAX_SEGMENTS;
      this.gro = {
        arena,
        lengths: new Int32Array(GRO_MESSAGES),
        segments: new Int32Array(GRO_MESSAGES),
        addrs: new Uint8Array(GRO_MESSAGES * ADDR_SLOT),
        locals: new Uint8Array(GRO_MESSAGES * ADDR_SLOT),
        batch: new PacketBatch(capacity, arena.length / capacity, { addrs: true, locals: true, buf: arena }),
      };
    }
  }

  /**
   * SO_MARK on every socket. The kernel reads the option as an int and keeps its bits as the u32 sk_mark, so a mark
   * of 2^31 or more goes down as its int32 bit pattern (`mark | 0`). Setting it needs CAP_NET_ADMIN (EPERM without
   * it); the error says so only when that is the errno.
   */
  private applyMark(mark: number): void {
    const { SOL_SOCKET, SO_MARK } = this.addon.constants;
    for (const s of this.sockets) {
      try {
        this.addon.setsockoptInt(s.fd, SOL_SOCKET, SO_MARK, mark | 0);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        const hint = isNativeError(e) && e.code === 'EPERM' ? ' (needs CAP_NET_ADMIN)' : '';
        throw new Error(`cannot set fwmark 0x${mark.toString(16)} on the IPv${s.family} socket${hint}: ${why}`, { cause: e });
      }
    }
  }


  // ---- receive ---------------------------------------------------------------------------------------------

  private onPoll(s: UdpSocket, events: number): void {
    if (!this.sockets.includes(s)) return;
    if (events < 0) {
      this.onPollError(s, events);
      return;
    }
    s.pollErrors = 0;
    const c = this.addon.constants;
    if (events & c.POLL_WRITABLE) this.flushBacklog(s);
    if (events & c.POLL_READABLE) this.drain(s);
  }

  private onPollError(s: UdpSocket, status: number): void {
    s.pollErrors++;
    this.log.error({ family: s.family, status, errors: s.pollErrors }, 'poll error on UDP socket');
    if (s.pollErrors < MAX_POLL_ERRORS) this.arm(s);
    else this.log.error({ family: s.family }, 'giving up on UDP socket after repeated poll errors');
  }

  private drain(s: UdpSocket): void {
    if (s.gro && this.gro) {
      this.drainGro(s, this.gro);
      return;
    }
    const rx = this.rx;
    const max = this.batchSize;
    for (let round = 0; round < MAX_BATCHES_PER_WAKE; round++) {
      let n: number;
      try {
        n = this.addon.recvmmsg(s.fd, this.rxArena, rx.slotSize, rx.lengths, rx.addrs!, max, rx.locals);
      } catch (e) {
        this.log.warn({ err: e, family: s.family }, 'recvmmsg failed');
        return;
      }
      if (n === 0) return;
      this.stats.receiveDropped += rx.acceptReads(n);
      this.deliver();
      if (n < max || this.onReceive === undefined) return;
    }
  }

  /**
   * As drain, with UDP GRO: message j (a slot of 64 KiB) holding len bytes with segment size seg > 0 is
   * ceil(len / seg) datagrams back to back; each becomes an entry of the delivered batch pointing into the slot.
   */
  private drainGro(s: UdpSocket, gro: NonNullable<NativeBind['gro']>): void {
    const out = gro.batch;
    const outAddrs = out.addrs!;
    const outLocals = out.locals!;
    const limit = this.rx.maxPacketSize;
    let delivered = 0;
    for (let round = 0; round < MAX_BATCHES_PER_WAKE && delivered < MAX_DATAGRAMS_PER_WAKE; round++) {
      let n: number;
      try {
        n = this.addon.recvmmsgGro(s.fd, gro.arena, GRO_SLOT_BYTES, gro.lengths, gro.addrs, gro.segments, GRO_MESSAGES, gro.locals);
      } catch (e) {
        this.log.warn({ err: e, family: s.family }, 'recvmmsg failed');
        return;
      }
      if (n === 0) return;
      let k = 0;
      for (let j = 0; j < n; j++) {
        const len = gro.lengths[j]!;
        if (len < 0) {
          this.stats.receiveDropped++; // truncated
          continue;
        }
        const reported = gro.segments[j]!;
        const seg = reported > 0 && reported < len ? reported : len; // one datagram unless the kernel coalesced
        if (seg > limit) {
          this.stats.receiveDropped += Math.ceil(len / seg);
          continue;
        }
        const base = j * GRO_SLOT_BYTES;
        let p = 0;
        do {
          if (k === out.capacity) {
            // A full batch goes up and splitting goes on: no datagram of a coalesced message is lost here.
            out.count = k;
            this.deliverBatch(out);
            delivered += k;
            k = 0;
          }
          out.offsets[k] = base + p;
          out.lengths[k] = Math.min(seg, len - p);
          copySlot(gro.addrs, j * ADDR_SLOT, outAddrs, k * ADDR_SLOT);
          copySlot(gro.locals, j * ADDR_SLOT, outLocals, k * ADDR_SLOT);
          k++;
          p += seg;
        } while (p < len);
      }
      out.count = k;
      this.deliverBatch(out);
      delivered += k;
      if (n < GRO_MESSAGES || this.onReceive === undefined) return;
    }
  }

  private deliver(): void {
    this.deliverBatch(this.rx);
  }

  private deliverBatch(batch: PacketBatch): void {
    const cb = this.onReceive;
    if (!cb || batch.count === 0) return;
    this.stats.received += batch.count;
    try {
      cb(batch);
    } catch (e) {
      this.log.error({ err: e }, 'receive callback threw');
    }
  }

  // ---- send ------------------------------------------------------------------------------------------------

  private socketFor(family: number): UdpSocket | undefined {
    for (const s of this.sockets) if (s.family === family) return s;
    return undefined;
  }

  /** Sends what was gathered in s's scratch arrays; returns the datagrams whose source was refused (see send). */
  private flushScratch(s: UdpSocket, buf: Uint8Array, locals: Uint8Array | undefined): number {
    const n = s.scratchCount;
    if (n === 0) return 0;
    s.scratchCount = 0;
    const scratchLocals = locals ? s.scratchLocals : undefined;
    if (s.backlog.count > 0) {
      this.toBacklog(s, buf, s.scratchOffsets, s.scratchLengths, s.scratchAddrs, scratchLocals, 0, n);
      return 0;
    }
    const refused = this.sendRun(s, buf, s.scratchOffsets, s.scratchLengths, s.scratchAddrs, scratchLocals, n);
    if (refused > 0 && locals) {
      // The addon cleared the refused sources in the scratch copy: clear them in the caller's batch too.
      for (let k = 0; k < n; k++) if (s.scratchLocals[k * ADDR_SLOT] === 0) locals[s.scratchIndex[k]! * ADDR_SLOT] = 0;
    }
    return refused;
  }

  /**
   * sendmmsg of entries 0..count-1 (from the sources in `locals`, when given); what the kernel does not take goes to
   * the backlog. Returns the datagrams sent without the source the kernel refused.
   */
  private sendRun(
    s: UdpSocket,
    buf: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    addrs: Uint8Array,
    locals: Uint8Array | undefined,
    count: number,
  ): number {
    let sent: number;
    try {
      sent = s.gso && count > 1
        ? this.sendGso(s, buf, offsets, lengths, addrs, locals, count)
        : this.addon.sendmmsg(s.fd, buf, offsets, lengths, addrs, count, locals, s.report);
    } catch (e) {
      this.log.warn({ err: e, family: s.family }, 'sendmmsg failed');
      this.stats.sendDropped += count;
      return 0;
    }
    this.stats.sent += sent;
    if (sent < count) this.toBacklog(s, buf, offsets, lengths, addrs, locals, sent, count);
    return this.takeRefusedSources(s);
  }

  /** Counts and resets the report's refused sources (SEND_REPORT_UNSOURCED); returns how many there were. */
  private takeRefusedSources(s: UdpSocket): number {
    const refused = s.report[SEND_REPORT_UNSOURCED]!;
    if (refused === 0) return 0;
    s.report[SEND_REPORT_UNSOURCED] = 0;
    this.stats.sourceRefused += refused;
    this.log.debug({ family: s.family, datagrams: refused }, 'source address refused (no longer ours): sent from the address the kernel picks');
    return refused;
  }

  /** sendmmsg with UDP_SEGMENT groups; plain sendmmsg when no two datagrams group. */
  private sendGso(
    s: UdpSocket,
    buf: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    addrs: Uint8Array,
    locals: Uint8Array | undefined,
    count: number,
  ): number {
    const groupCount = gsoGroups(lengths, addrs, count, s.groups, locals);
    if (groupCount === count) return this.addon.sendmmsg(s.fd, buf, offsets, lengths, addrs, count, locals, s.report);
    const sent = this.addon.sendmmsgGso(s.fd, buf, offsets, lengths, addrs, count, s.groups, groupCount, s.report, locals);
    if (s.report[SEND_REPORT_GROUPS_REFUSED]! > 0) {
      if (s.report[SEND_REPORT_REFUSED_ERRNO] === EIO) {
        s.gso = false;
        this.log.warn({ family: s.family }, 'the kernel refused UDP GSO (EIO: no checksum offload on the route): sending plain datagrams');
      } else {
        this.log.debug({ family: s.family, errno: s.report[SEND_REPORT_REFUSED_ERRNO], groups: s.report[SEND_REPORT_GROUPS_REFUSED] }, 'UDP GSO group refused; sent plain');
      }
      s.report[SEND_REPORT_GROUPS_REFUSED] = 0;
    }
    return sent;
  }

  private toBacklog(
    s: UdpSocket,
    buf: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    addrs: Uint8Array,
    locals: Uint8Array | undefined,
    from: number,
    to: number,
  ): void {
    const wasEmpty = s.backlog.count === 0;
    for (let i = from; i < to; i++) {
      if (!s.backlog.add(buf, offsets[i]!, lengths[i]!, addrs, i * ADDR_SLOT, locals)) this.stats.sendDropped++;
    }
    if (wasEmpty && s.backlog.count > 0) this.arm(s);
  }

  private flushBacklog(s: UdpSocket): void {
    const b = s.backlog.batch;
    if (b.count > 0) {
      let sent: number;
      try {
        sent = this.addon.sendmmsg(s.fd, b.buf, b.offsets, b.lengths, b.addrs!, b.count, b.locals, s.report);
      } catch (e) {
        this.log.warn({ err: e, family: s.family }, 'sendmmsg of the backlog failed; dropping it');
        this.stats.sendDropped += b.count;
        sent = b.count;
      }
      this.stats.sent += sent;
      this.takeRefusedSources(s); // counted; the batch that named those sources is gone, so nobody is told
      s.backlog.consume(sent);
    }
    if (s.backlog.count === 0) this.arm(s);
  }

  /** (Re)starts the watcher: readable always, writable while a backlog waits. */
  private arm(s: UdpSocket): void {
    if (!s.watcher) return;
    const c = this.addon.constants;
    s.watcher.start(s.backlog.count > 0 ? c.POLL_READABLE | c.POLL_WRITABLE : c.POLL_READABLE);
  }
}

function copySlot(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
  for (let j = 0; j < ADDR_SLOT; j++) dst[dstOff + j] = src[srcOff + j]!;
}
