/**
 * PacketBatch: N preallocated packet slots in one arena, the unit every Tun and Bind reads and writes.
 *
 * Layout: slot i spans buf[i*slotSize, (i+1)*slotSize). A packet's bytes are buf[offsets[i], offsets[i]+lengths[i]).
 * Readers (Tun.start, Bind.start) fill packet i at i*slotSize + headroom, so a consumer can prepend a header in
 * place (e.g. the 16-byte WireGuard transport header) without copying. Writers (Tun.write, Bind.send) honour any
 * offsets the caller set, so a producer may lay packets out as it likes inside buf.
 *
 * Datagram batches carry one ADDR_SLOT (24 bytes, see src/net/addr-slot.ts) per packet in `addrs`: the source on
 * receive, the destination on send; and, when made with `locals`, one local slot per packet in `locals`: the local
 * address the datagram arrived on, or the source address to send it from (family 0: none, the kernel chooses).
 *
 * Ownership: a batch handed to a callback is valid until the callback returns; the reader reuses it for the next
 * wake-up. A batch passed to write/send is not retained: whatever cannot go out at once is copied to a backlog.
 *
 * The buffer has `headroom` spare bytes after the last slot, so a reader may hand the kernel the window
 * buf.subarray(headroom) and still give every slot a full slotSize bytes.
 */
import { ADDR_SLOT } from '../net/addr-slot.js';

export interface PacketBatchOptions {
  /** Bytes reserved at the start of each slot, before the packet that a reader fills in. Default 0. */
  headroom?: number;
  /** Allocate `addrs` (capacity × ADDR_SLOT bytes) for datagram batches. Default false. */
  addrs?: boolean;
  /** Allocate `locals` (capacity × ADDR_SLOT bytes, local slots) for datagram batches. Default false. */
  locals?: boolean;
  /**
   * Use this buffer instead of allocating one; it needs at least capacity × slotSize + headroom bytes. The slots
   * live at its start; bytes beyond them are the owner's (e.g. a reader's raw read area that offsets may point
   * into: offsets may point anywhere in buf).
   */
  buf?: Uint8Array;
}

/** Largest slot we accept: an IPv4/IPv6 packet or UDP datagram never exceeds 64 KiB (plus a header). */
export const MAX_SLOT_SIZE_BYTES = 65_535 + 256;

export class PacketBatch {
  readonly buf: Uint8Array;
  /** Bytes per slot, headroom included. */
  readonly slotSize: number;
  readonly headroom: number;
  /** Number of slots. */
  readonly capacity: number;
  readonly offsets: Int32Array;
  readonly lengths: Int32Array;
  /** One ADDR_SLOT per packet when created with `addrs: true`. */
  readonly addrs: Uint8Array | undefined;
  /** One local slot per packet when created with `locals: true` (family 0: none). */
  readonly locals: Uint8Array | undefined;
  /** Packets 0..count-1 are valid. */
  count = 0;

  constructor(capacity: number, slotSize: number, opts: PacketBatchOptions = {}) {
    const headroom = opts.headroom ?? 0;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`batch capacity must be ≥ 1, got ${capacity}`);
    if (!Number.isInteger(slotSize) || slotSize < 1 || slotSize > MAX_SLOT_SIZE_BYTES) {
      throw new RangeError(`slot size must be 1..${MAX_SLOT_SIZE_BYTES} bytes, got ${slotSize}`);
    }
    if (!Number.isInteger(headroom) || headroom < 0 || headroom >= slotSize) {
      throw new RangeError(`headroom must be 0..${slotSize - 1} bytes, got ${headroom}`);
    }
    this.capacity = capacity;
    this.slotSize = slotSize;
    this.headroom = headroom;
    const need = capacity * slotSize + headroom;
    if (opts.buf && opts.buf.length < need) throw new RangeError(`buffer of ${opts.buf.length} bytes is smaller than ${need}`);
    this.buf = opts.buf ?? new Uint8Array(need);
    this.offsets = new Int32Array(capacity);
    this.lengths = new Int32Array(capacity);
    this.addrs = opts.addrs ? new Uint8Array(capacity * ADDR_SLOT) : undefined;
    this.locals = opts.locals ? new Uint8Array(capacity * ADDR_SLOT) : undefined;
    this.resetOffsets();
  }

  /** The largest packet a slot holds after its headroom. */
  get maxPacketSize(): number {
    return this.slotSize - this.headroom;
  }

  /** Empties the batch (count = 0) and restores the default offsets. */
  reset(): void {
    this.count = 0;
    this.resetOffsets();
  }

  /** offsets[i] = i*slotSize + headroom for every slot: the layout readers fill. */
  resetOffsets(): void {
    for (let i = 0; i < this.capacity; i++) this.offsets[i] = i * this.slotSize + this.headroom;
  }

  /**
   * Zero-copy append, step 1: the offset in buf where the next packet (index `count`) should be written, or -1 when
   * the batch is full. Write at most maxPacketSize bytes there, then call commit(length).
   */
  next(): number {
    if (this.count >= this.capacity) return -1;
    const at = this.count * this.slotSize + this.headroom;
    this.offsets[this.count] = at;
    return at;
  }

  /** Zero-copy append, step 2: records the packet written at next() and returns its index. */
  commit(length: number, addr?: Uint8Array, addrOffset = 0): number {
    const i = this.count;
    if (i >= this.capacity) throw new RangeError('commit on a full batch');
    if (length < 0 || length > this.maxPacketSize) throw new RangeError(`packet of ${length} bytes does not fit a slot`);
    this.lengths[i] = length;
    if (addr) this.setAddr(i, addr, addrOffset);
    this.count = i + 1;
    return i;
  }

  /**
   * Copies src[srcOffset, srcOffset+length) in as the next packet (with its ADDR_SLOT when given). Returns the index,
   * or -1 when the batch is full. Throws RangeError when the packet is larger than a slot.
   */
  push(src: Uint8Array, srcOffset = 0, length = src.length - srcOffset, addr?: Uint8Array, addrOffset = 0): number {
    if (length > this.maxPacketSize || length < 0) {
      throw new RangeError(`packet of ${length} bytes does not fit a ${this.maxPacketSize}-byte slot`);
    }
    const at = this.next();
    if (at < 0) return -1;
    this.buf.set(src.subarray(srcOffset, srcOffset + length), at);
    return this.commit(length, addr, addrOffset);
  }

  /** Copies packet i of another batch in (data, address and local slot). Returns the index or -1 when full. */
  pushFrom(other: PacketBatch, i: number): number {
    const addr = other.addrs;
    const k = this.push(other.buf, other.offsets[i], other.lengths[i], addr, addr ? i * ADDR_SLOT : 0);
    if (k >= 0 && this.locals) this.setLocal(k, other.locals, i * ADDR_SLOT);
    return k;
  }

  /** Packet i as a subarray (allocates a view object: fine off the hot path). Valid while the batch is. */
  view(i: number): Uint8Array {
    if (i < 0 || i >= this.count) throw new RangeError(`packet ${i} out of range 0..${this.count - 1}`);
    const off = this.offsets[i]!;
    return this.buf.subarray(off, off + this.lengths[i]!);
  }

  /** Copies an ADDR_SLOT into packet i's address (per packet on the send path: no view object is made). */
  setAddr(i: number, addr: Uint8Array, addrOffset = 0): void {
    const addrs = this.addrs;
    if (!addrs) throw new Error('this batch carries no addresses');
    const at = i * ADDR_SLOT;
    for (let k = 0; k < ADDR_SLOT; k++) addrs[at + k] = addr[addrOffset + k]!;
  }

  /**
   * Copies a local slot into packet i's (per packet on the send path: no view object is made); with `local`
   * undefined, packet i gets none (family 0). A batch made without `locals` ignores this.
   */
  setLocal(i: number, local: Uint8Array | undefined, localOffset = 0): void {
    const locals = this.locals;
    if (!locals) return;
    const at = i * ADDR_SLOT;
    if (local === undefined) {
      locals[at] = 0;
      return;
    }
    for (let k = 0; k < ADDR_SLOT; k++) locals[at + k] = local[localOffset + k]!;
  }

  /** Offset of packet i's ADDR_SLOT inside `addrs`. */
  addrOffset(i: number): number {
    return i * ADDR_SLOT;
  }

  /**
   * After a batched read of `n` packets into slots 0..n-1 (each at i*slotSize + headroom; the reader filled
   * `lengths`, -1 for a truncated one): restores those offsets, drops every packet that is truncated or reaches past
   * its slot into the next one's headroom, and returns how many were dropped. `count` is what remains.
   */
  acceptReads(n: number): number {
    const limit = this.maxPacketSize;
    for (let i = 0; i < n; i++) {
      this.offsets[i] = i * this.slotSize + this.headroom;
      if (this.lengths[i]! > limit) this.lengths[i] = -1;
    }
    this.count = n;
    return this.compact();
  }

  /**
   * Removes packets whose length is negative (e.g. truncated datagrams flagged by recvmmsg), keeping order.
   * Returns how many were removed. Moves only offsets, lengths, addresses and local slots, never packet bytes.
   */
  compact(): number {
    let w = 0;
    const { addrs, locals } = this;
    for (let r = 0; r < this.count; r++) {
      if (this.lengths[r]! < 0) continue;
      if (w !== r) {
        this.offsets[w] = this.offsets[r]!;
        this.lengths[w] = this.lengths[r]!;
        if (addrs) addrs.copyWithin(w * ADDR_SLOT, r * ADDR_SLOT, (r + 1) * ADDR_SLOT);
        if (locals) locals.copyWithin(w * ADDR_SLOT, r * ADDR_SLOT, (r + 1) * ADDR_SLOT);
      }
      w++;
    }
    const removed = this.count - w;
    this.count = w;
    return removed;
  }
}
