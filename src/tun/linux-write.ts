/**
 * The write half of LinuxTun: writeBatch (plain device) or, with IFF_VNET_HDR offloads, GRO-planned writevBatch
 * (offload/coalesce.ts joins consecutive segments of a TCP flow into one super-packet behind its virtio_net_hdr).
 * On EAGAIN the rest is copied to a bounded backlog and the device is watched for POLL_WRITABLE; what does not fit is
 * dropped and counted. A packet the kernel rejects (EINVAL, ...) is dropped and counted, the rest go on.
 */
import type { NativeFdIo } from '../native/fdio.js';
import { Backlog } from '../packet/backlog.js';
import type { PacketBatch } from '../packet/batch.js';
import { GroPlanner } from './offload/coalesce.js';
import { VNET_HDR_BYTES } from './offload/vnet-header.js';
import type { TunStats } from './tun.js';

/** Largest IP packet. */
const MAX_PACKET_BYTES = 65_535;
/** Backlog slot: covers jumbo MTUs; a larger packet that meets a full kernel queue is dropped and counted. */
const BACKLOG_SLOT_BYTES = 9216;
/** With offloads a backlog entry is a virtio_net_hdr and a super-packet of up to 64 KiB. */
const OFFLOAD_BACKLOG_SLOT_BYTES = VNET_HDR_BYTES + MAX_PACKET_BYTES;
const OFFLOAD_BACKLOG_ENTRIES = 32;

/** What the writer asks of its device. */
export interface TunWriteHooks {
  /**
   * A write threw `e`: report it and return true when the device is still usable, or close the device (which
   * calls TunWriter.close) and return false when it is gone.
   */
  ioError(e: unknown, op: string): boolean;
  /** (Re)arm the device's watcher: writable too while `pending` is true. */
  arm(): void;
}

export class TunWriter {
  private readonly backlog: Backlog;
  /** Planner of offloaded writes (made at the first write, grown to the largest batch); undefined without offloads. */
  private gro: GroPlanner | undefined;
  private closed = false;

  /**
   * `vnet`: the device has IFF_VNET_HDR offloads (writes carry a virtio_net_hdr and may be super-packets);
   * `backlog`: packets kept while the kernel takes no more (plain devices; 32 super-packets with offloads).
   */
  constructor(
    private readonly io: NativeFdIo,
    private fd: number,
    private readonly stats: TunStats,
    private readonly hooks: TunWriteHooks,
    private readonly vnet: boolean,
    private readonly batchSize: number,
    backlog: number,
  ) {
    this.backlog = vnet
      ? new Backlog(OFFLOAD_BACKLOG_ENTRIES, OFFLOAD_BACKLOG_SLOT_BYTES, false)
      : new Backlog(backlog, BACKLOG_SLOT_BYTES, false);
  }

  /** Whether writes wait for POLL_WRITABLE. */
  get pending(): boolean {
    return this.backlog.count > 0;
  }

  /** Writes the batch (see the file comment); the batch is not kept. Runs on the event loop only. */
  write(batch: PacketBatch): void {
    if (this.closed) {
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

  /** POLL_WRITABLE: writes what waits in the backlog; once it is empty the device is watched for readable only. */
  flushBacklog(): void {
    const b = this.backlog.batch;
    if (b.count > 0) this.backlog.consume(this.writeRun(b.buf, b.offsets, b.lengths, b.count, true));
    if (this.backlog.count === 0) this.hooks.arm();
  }

  /** The device is closed: nothing more is written, what waited in the backlog is dropped and counted. */
  close(): void {
    this.closed = true;
    this.fd = -1;
    this.stats.writeDropped += this.backlog.count;
    this.backlog.consume(this.backlog.count);
  }

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
    while (done < writes && !this.closed) {
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
    if (this.hooks.ioError(e, 'write')) {
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
    if (wasEmpty && b.count > 0) this.hooks.arm();
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
    while (done < count && !this.closed) {
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
    if (this.hooks.ioError(e, 'write')) {
      this.stats.writeDropped++;
      return true;
    }
    this.stats.writeDropped += remaining;
    return false;
  }

  private toBacklog(buf: Uint8Array, offsets: Int32Array, lengths: Int32Array, from: number, to: number): void {
    const wasEmpty = this.backlog.count === 0;
    for (let i = from; i < to; i++) if (!this.backlog.add(buf, offsets[i]!, lengths[i]!)) this.stats.writeDropped++;
    if (wasEmpty && this.backlog.count > 0) this.hooks.arm();
  }
}
