/**
 * Backlog: a bounded FIFO of packets (and optional destination slots) that a writer could not hand to the kernel
 * yet (EAGAIN). Preallocated; adding copies the packet in, nothing is allocated per packet.
 *
 * Invariant: entry k lives in slot k of `batch`, so `batch` can be passed to writeBatch/sendmmsg as it is.
 * consume(n) moves the remaining entries to the front (a rare, EAGAIN-only cost).
 */
import { ADDR_SLOT } from '../net/addr-slot.js';
import { PacketBatch } from './batch.js';

export class Backlog {
  readonly batch: PacketBatch;

  /** `withLocals`: keep a local slot (the source to send from) per entry too. */
  constructor(capacity: number, slotSize: number, withAddrs = true, withLocals = false) {
    this.batch = new PacketBatch(capacity, slotSize, { addrs: withAddrs, locals: withLocals });
  }

  get count(): number {
    return this.batch.count;
  }

  /**
   * Copies one packet in, with its address and local slot (at the same offset of `locals`; none when undefined).
   * False when the backlog is full or the packet is larger than a slot (caller counts a drop).
   */
  add(buf: Uint8Array, offset: number, length: number, addrs?: Uint8Array, addrOffset = 0, locals?: Uint8Array): boolean {
    const b = this.batch;
    if (length > b.maxPacketSize || length < 0) return false;
    const at = b.next();
    if (at < 0) return false;
    b.buf.set(buf.subarray(offset, offset + length), at);
    if (b.addrs && addrs) b.addrs.set(addrs.subarray(addrOffset, addrOffset + ADDR_SLOT), b.count * ADDR_SLOT);
    b.setLocal(b.count, locals, addrOffset);
    b.lengths[b.count] = length;
    b.count++;
    return true;
  }

  /** Drops the first n entries (they were written) and moves the rest to the front. */
  consume(n: number): void {
    const b = this.batch;
    if (n <= 0) return;
    if (n >= b.count) {
      b.count = 0;
      return;
    }
    const rest = b.count - n;
    for (let k = 0; k < rest; k++) {
      const from = n + k;
      // Slots are in order, so moving entry n+k down to slot k never overwrites an entry not yet moved.
      b.buf.copyWithin(b.offsets[k]!, b.offsets[from]!, b.offsets[from]! + b.lengths[from]!);
      b.lengths[k] = b.lengths[from]!;
      if (b.addrs) b.addrs.copyWithin(k * ADDR_SLOT, from * ADDR_SLOT, (from + 1) * ADDR_SLOT);
      if (b.locals) b.locals.copyWithin(k * ADDR_SLOT, from * ADDR_SLOT, (from + 1) * ADDR_SLOT);
    }
    b.count = rest;
  }
}
