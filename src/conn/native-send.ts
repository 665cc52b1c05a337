/**
 * The send half of NativeBind: datagrams are grouped by family without allocation (a homogeneous batch goes
 * straight to sendmmsg; a mixed one is split through per-socket index scratch arrays). On EAGAIN the rest is copied
 * to the socket's bounded backlog and the socket is watched for POLL_WRITABLE; what does not fit is dropped and
 * counted.
 *
 * UDP GSO: runs of datagrams to one destination with one size (gso.ts) leave in one sendmsg with a UDP_SEGMENT
 * cmsg. A kernel that refuses it with EIO (no checksum offload on the route) turns GSO off for that socket; a
 * refused group is resent as plain datagrams by the addon, so nothing is lost.
 */
import { constants as osConstants } from 'node:os';
import type { Logger } from '../log.js';
import { SEND_REPORT_GROUPS_REFUSED, SEND_REPORT_REFUSED_ERRNO, SEND_REPORT_UNSOURCED, type NativeUdp } from '../native/udp.js';
import { ADDR_SLOT } from '../net/addr-slot.js';
import type { PacketBatch } from '../packet/batch.js';
import type { BindStats } from './bind.js';
import { gsoGroups } from './gso.js';
import { copySlot, type UdpSocket } from './udp-socket.js';

const EIO = osConstants.errno.EIO;

export class UdpSender {
  /** Datagrams are counted in `stats` (sent, sendDropped, sourceRefused). */
  constructor(
    private readonly addon: NativeUdp,
    private readonly stats: BindStats,
    private readonly log: Logger,
  ) {}

  /**
   * Sends the batch over `sockets` (one per family; Bind.send's contract). Returns the datagrams sent without the
   * source their local slot named (their slot's family byte now 0 in the batch).
   */
  send(sockets: readonly UdpSocket[], batch: PacketBatch): number {
    const addrs = batch.addrs;
    if (!addrs) throw new Error('send needs a batch with addresses');
    const count = batch.count;
    if (count === 0) return 0;
    const locals = batch.locals;
    // Fast path: one family, nothing queued ahead of it.
    const family = addrs[0]!;
    let same = true;
    for (let i = 1; i < count && same; i++) same = addrs[i * ADDR_SLOT] === family;
    const only = same ? socketFor(sockets, family) : undefined;
    if (only && only.backlog.count === 0) {
      return this.sendRun(only, batch.buf, batch.offsets, batch.lengths, addrs, locals, count);
    }
    let refused = 0;
    for (let i = 0; i < count; i++) {
      const s = socketFor(sockets, addrs[i * ADDR_SLOT]!);
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
    for (const s of sockets) refused += this.flushScratch(s, batch.buf, locals);
    return refused;
  }

  /** POLL_WRITABLE on s: sends what waits in its backlog, and re-arms for readable only once it is empty. */
  flushBacklog(s: UdpSocket): void {
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
    if (s.backlog.count === 0) s.arm();
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
    if (wasEmpty && s.backlog.count > 0) s.arm();
  }
}

function socketFor(sockets: readonly UdpSocket[], family: number): UdpSocket | undefined {
  for (const s of sockets) if (s.family === family) return s;
  return undefined;
}
