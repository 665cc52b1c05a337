/**
 * Where incoming handshake initiations and responses wait before the protocol core spends MAC and Diffie-Hellman
 * work on them: bounded, fair between sources, and served in small budgets between the event loop's I/O turns, so
 * a handshake flood can neither grow memory nor keep transport data waiting (wireguard-go keeps such a queue of
 * 1024 and sheds what does not fit at receive time; the kernel keeps 4096).
 *
 * Fairness: messages are grouped by source address (IPv4 /32, IPv6 /64: protocol/ratelimiter.ts's sourceKey, the per-source rate limiter's grouping).
 * Each source has its own FIFO of at most HANDSHAKE_QUEUE_PER_SOURCE entries and take() serves the sources round
 * robin, so a flooding source gets one turn in N. When the queue is full, a message from a source with fewer
 * messages waiting takes the place of the oldest message of a heavier source (found among the next few in the
 * ring), so a peer that sends one initiation is not shed because a flood got there first; otherwise the newcomer
 * is shed. Either way it costs a few comparisons, never a MAC.
 *
 * Pure bookkeeping over preallocated storage: no clock, no I/O. Runs on the event loop only.
 */
import type { Endpoint } from '../net/endpoint.js';
import { INITIATION_BYTES, sourceKey, type SourceKey } from '../protocol/index.js';

/** Messages held at most (wireguard-go's QueueHandshakeSize). */
export const HANDSHAKE_QUEUE_ENTRIES = 1024;
/** Messages one source may have waiting. */
export const HANDSHAKE_QUEUE_PER_SOURCE = 16;
/** Sources looked at for a heavier one to make room, when the queue is full. */
const EVICTION_SCAN = 8;

/** One queued message, as take() hands it out: valid until the next take() or offer(). */
export interface QueuedHandshake {
  buf: Uint8Array;
  off: number;
  len: number;
  source: Endpoint;
}

/** A source's FIFO of slot numbers, and its place in the round-robin ring. */
interface Source {
  key: SourceKey;
  slots: Int32Array;
  head: number;
  count: number;
  next: Source;
  prev: Source;
}

export class HandshakeQueue {
  private readonly arena: Uint8Array;
  private readonly lengths: Int32Array;
  private readonly endpoints: (Endpoint | undefined)[];
  private readonly free: Int32Array;
  private freeCount: number;
  private readonly byKey = new Map<SourceKey, Source>();
  /** The next source served; the ring is a circular doubly linked list through next/prev. */
  private turn: Source | undefined;
  private readonly spare: Source[] = [];
  private readonly out: QueuedHandshake;
  /**
   * Offers that found every entry taken (whether a heavier source gave one up or the message was shed): the queue
   * filling up, which puts handshakes under load. A source shed for having its own share waiting does not count.
   */
  timesFull = 0;

  constructor(readonly capacity = HANDSHAKE_QUEUE_ENTRIES, private readonly perSource = HANDSHAKE_QUEUE_PER_SOURCE) {
    this.arena = new Uint8Array(capacity * INITIATION_BYTES);
    this.lengths = new Int32Array(capacity);
    this.endpoints = new Array<Endpoint | undefined>(capacity).fill(undefined);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeCount = capacity;
    this.out = { buf: this.arena, off: 0, len: 0, source: undefined as unknown as Endpoint };
  }

  /** Messages waiting. */
  get size(): number {
    return this.capacity - this.freeCount;
  }

  /** Sources with messages waiting. */
  get sources(): number {
    return this.byKey.size;
  }

  /**
   * Copies the handshake message buf[off, off+len) (at most INITIATION_BYTES, the largest kind) from `source` into
   * the queue. Returns false when it is shed (its source has its share waiting, or the queue is full of sources
   * no heavier than it).
   */
  offer(buf: Uint8Array, off: number, len: number, source: Endpoint): boolean {
    if (len > INITIATION_BYTES || len < 0) return false;
    const key = sourceKey(source.addressBytes);
    const src = this.byKey.get(key);
    const count = src === undefined ? 0 : src.count;
    if (count >= this.perSource) return false;
    if (this.freeCount === 0) {
      this.timesFull++;
      if (!this.evictHeavierThan(count)) return false;
    }
    const into = src ?? this.join(key);
    const slot = this.free[--this.freeCount]!;
    const at = slot * INITIATION_BYTES;
    for (let i = 0; i < len; i++) this.arena[at + i] = buf[off + i]!; // no view object per message
    this.lengths[slot] = len;
    this.endpoints[slot] = source;
    into.slots[(into.head + into.count) % this.perSource] = slot;
    into.count++;
    return true;
  }

  /** The next message, sources served round robin; undefined when the queue is empty. */
  take(): QueuedHandshake | undefined {
    const src = this.turn;
    if (src === undefined) return undefined;
    const slot = this.popOldest(src);
    if (this.turn === src) this.turn = src.next;
    const out = this.out;
    out.off = slot * INITIATION_BYTES;
    out.len = this.lengths[slot]!;
    out.source = this.endpoints[slot]!;
    this.endpoints[slot] = undefined;
    this.free[this.freeCount++] = slot;
    return out;
  }

  /** Frees the oldest message of a source (among the next EVICTION_SCAN) holding more than count + 1. */
  private evictHeavierThan(count: number): boolean {
    let s = this.turn;
    for (let i = 0; i < EVICTION_SCAN && s !== undefined; i++, s = s.next) {
      if (s.count > count + 1) {
        const slot = this.popOldest(s);
        this.endpoints[slot] = undefined;
        this.free[this.freeCount++] = slot;
        return true;
      }
    }
    return false;
  }

  /** Removes and returns the oldest slot of `src`, taking src out of the ring when it empties. */
  private popOldest(src: Source): number {
    const slot = src.slots[src.head]!;
    src.head = (src.head + 1) % this.perSource;
    src.count--;
    if (src.count === 0) this.leave(src);
    return slot;
  }

  private join(key: SourceKey): Source {
    const src = this.spare.pop() ?? ({ key, slots: new Int32Array(this.perSource), head: 0, count: 0 } as Source);
    src.key = key;
    src.head = 0;
    src.count = 0;
    this.byKey.set(key, src);
    const t = this.turn;
    if (t === undefined) {
      src.next = src.prev = src;
      this.turn = src;
    } else {
      // Joins just before the next one served: it is served last in this round.
      src.next = t;
      src.prev = t.prev;
      t.prev.next = src;
      t.prev = src;
    }
    return src;
  }

  private leave(src: Source): void {
    this.byKey.delete(src.key);
    if (src.next === src) {
      this.turn = undefined;
    } else {
      src.prev.next = src.next;
      src.next.prev = src.prev;
      if (this.turn === src) this.turn = src.next;
    }
    this.spare.push(src);
  }
}
