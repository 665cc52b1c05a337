/**
 * Where incoming handshake initiations and responses wait before the protocol core spends MAC and Diffie-Hellman
 * work on them: bounded, fair between source networks, and served in small budgets between the event loop's I/O
 * turns, so a handshake flood can neither grow memory nor keep transport data waiting (wireguard-go keeps such a
 * queue of 1024 and sheds what does not fit at receive time; the kernel keeps 4096).
 *
 * Fairness: messages are grouped by source network (IPv4 /24, IPv6 /48: a flood from one network, spoofed or not,
 * is one group). Each group has its own FIFO of at most HANDSHAKE_QUEUE_PER_NETWORK entries and take() serves the
 * groups round robin, so a flooding network gets one turn in N and a legitimate peer elsewhere is not stuck
 * behind it. What does not fit (its group full, the queue full, or no room for another group) is shed at once,
 * costing one copy-free length check.
 *
 * Pure bookkeeping over preallocated storage: no clock, no I/O. Runs on the event loop only.
 */
import type { Endpoint } from '../net/endpoint.js';
import { INITIATION_BYTES } from '../protocol/index.js';

/** Messages held at most (wireguard-go's QueueHandshakeSize). */
export const HANDSHAKE_QUEUE_ENTRIES = 1024;
/** Messages one source network may have waiting. */
export const HANDSHAKE_QUEUE_PER_NETWORK = 16;
/** Source networks with messages waiting, at most. */
export const HANDSHAKE_QUEUE_NETWORKS = 256;
/** Bytes of an IPv4 / IPv6 address that name its network: /24 and /48. */
const IPV4_NETWORK_BYTES = 3;
const IPV6_NETWORK_BYTES = 6;

/** One queued message, as take() hands it out: valid until the next take() or offer(). */
export interface QueuedHandshake {
  buf: Uint8Array;
  off: number;
  len: number;
  source: Endpoint;
}

/** A source network's FIFO of slot numbers. */
interface Network {
  key: number | string;
  slots: Int32Array;
  head: number;
  count: number;
}

export class HandshakeQueue {
  private readonly arena: Uint8Array;
  private readonly lengths: Int32Array;
  private readonly sources: (Endpoint | undefined)[];
  private readonly free: Int32Array;
  private freeCount: number;
  private readonly byKey = new Map<number | string, Network>();
  /** Networks with messages waiting, in round-robin order; `turn` is the next one served. */
  private readonly ring: Network[] = [];
  private turn = 0;
  private readonly spare: Network[] = [];
  private readonly out: QueuedHandshake;

  constructor(
    readonly capacity = HANDSHAKE_QUEUE_ENTRIES,
    private readonly perNetwork = HANDSHAKE_QUEUE_PER_NETWORK,
    private readonly maxNetworks = HANDSHAKE_QUEUE_NETWORKS,
  ) {
    this.arena = new Uint8Array(capacity * INITIATION_BYTES);
    this.lengths = new Int32Array(capacity);
    this.sources = new Array<Endpoint | undefined>(capacity).fill(undefined);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeCount = capacity;
    this.out = { buf: this.arena, off: 0, len: 0, source: undefined as unknown as Endpoint };
  }

  /** Messages waiting. */
  get size(): number {
    return this.capacity - this.freeCount;
  }

  /**
   * Copies the handshake message buf[off, off+len) (at most INITIATION_BYTES, the largest kind) from `source` into
   * the queue. Returns false when it is shed (the queue, its network's share, or the network table is full).
   */
  offer(buf: Uint8Array, off: number, len: number, source: Endpoint): boolean {
    if (this.freeCount === 0 || len > INITIATION_BYTES || len < 0) return false;
    const key = networkKey(source);
    let net = this.byKey.get(key);
    if (net === undefined) {
      if (this.ring.length >= this.maxNetworks) return false;
      net = this.spare.pop() ?? { key, slots: new Int32Array(this.perNetwork), head: 0, count: 0 };
      net.key = key;
      net.head = 0;
      net.count = 0;
      this.byKey.set(key, net);
      this.ring.push(net);
    } else if (net.count >= this.perNetwork) {
      return false;
    }
    const slot = this.free[--this.freeCount]!;
    const at = slot * INITIATION_BYTES;
    for (let i = 0; i < len; i++) this.arena[at + i] = buf[off + i]!; // no view object per message
    this.lengths[slot] = len;
    this.sources[slot] = source;
    net.slots[(net.head + net.count) % this.perNetwork] = slot;
    net.count++;
    return true;
  }

  /** The next message, networks served round robin; undefined when the queue is empty. */
  take(): QueuedHandshake | undefined {
    const ring = this.ring;
    if (ring.length === 0) return undefined;
    if (this.turn >= ring.length) this.turn = 0;
    const net = ring[this.turn]!;
    const slot = net.slots[net.head]!;
    net.head = (net.head + 1) % this.perNetwork;
    net.count--;
    if (net.count === 0) {
      // The network leaves the ring; the one after it moves into its place and is served next.
      ring.splice(this.turn, 1);
      this.byKey.delete(net.key);
      this.spare.push(net);
    } else {
      this.turn++;
    }
    this.free[this.freeCount++] = slot;
    const out = this.out;
    out.off = slot * INITIATION_BYTES;
    out.len = this.lengths[slot]!;
    out.source = this.sources[slot]!;
    this.sources[slot] = undefined;
    return out;
  }
}

/** The map key of a source's network: IPv4 /24 as a number, IPv6 /48 as a short string. */
function networkKey(source: Endpoint): number | string {
  const a = source.addressBytes;
  if (a.length === 4) {
    let k = 0;
    for (let i = 0; i < IPV4_NETWORK_BYTES; i++) k = k * 256 + a[i]!;
    return k;
  }
  let s = '';
  for (let i = 0; i < IPV6_NETWORK_BYTES; i++) s += String.fromCharCode(a[i]!);
  return s;
}
