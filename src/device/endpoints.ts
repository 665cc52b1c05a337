/**
 * Interning of datagram source addresses: the receive loop turns each datagram's ADDR_SLOT, with the local slot it
 * arrived on, into an Endpoint without allocating for pairs it has seen before. The protocol core stores endpoints
 * by identity (a peer's endpoint follows the source of its latest authenticated packet), so a stable instance per
 * (remote, local) pair also makes "did the endpoint change?" a pointer comparison: a peer that reaches us on
 * another of our addresses changes endpoint as one that moves does, and our replies follow (the sticky source).
 *
 * The table is bounded: hostile traffic from many spoofed sources can only make it start over, and endpoints that
 * peers hold stay valid because they are ordinary objects.
 */
import { ADDR_SLOT, slotFamily } from '../net/addr-slot.js';
import { Endpoint } from '../net/endpoint.js';

/** Distinct sources remembered before the table starts over. */
export const ENDPOINT_CACHE_ENTRIES = 4096;

export class EndpointCache {
  private readonly byHash = new Map<number, Endpoint>();
  /** The last source interned: consecutive datagrams (a GRO-split message, a burst) mostly share one. */
  private last: Endpoint | undefined;

  /**
   * The canonical Endpoint for arena[offset, offset + ADDR_SLOT) reached on the local slot locals[localOffset]
   * (none when `locals` is undefined or that slot has family 0).
   */
  intern(arena: Uint8Array, offset: number, locals?: Uint8Array, localOffset = 0): Endpoint {
    const last = this.last;
    if (last !== undefined && last.equalsSlot(arena, offset) && last.sameLocalSlot(locals, localOffset)) return last;
    const withLocal = locals !== undefined && slotFamily(locals, localOffset) !== 0;
    let h = hashSlot(arena, offset, 0x811c9dc5);
    if (withLocal) h = hashSlot(locals, localOffset, h);
    let ep = this.byHash.get(h);
    if (ep === undefined || !ep.equalsSlot(arena, offset) || !ep.sameLocalSlot(locals, localOffset)) {
      ep = Endpoint.fromSlot(arena, offset, withLocal ? locals : undefined, localOffset);
      if (this.byHash.size >= ENDPOINT_CACHE_ENTRIES) this.byHash.clear();
      this.byHash.set(h, ep);
    }
    this.last = ep;
    return ep;
  }

  /** The canonical instance for an endpoint made elsewhere (configuration, UAPI), with its sticky source if any. */
  canonical(ep: Endpoint): Endpoint {
    return this.intern(ep.slot, 0, ep.local, 0);
  }

  /** The canonical instance of `ep` without a sticky source: where the kernel chooses the source address. */
  withoutLocal(ep: Endpoint): Endpoint {
    return this.intern(ep.slot, 0);
  }
}

/** FNV-1a over a slot, continuing from `h`: 32-bit, no allocation. */
function hashSlot(arena: Uint8Array, offset: number, h: number): number {
  for (let i = offset; i < offset + ADDR_SLOT; i++) {
    h ^= arena[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
