/**
 * Interning of datagram source addresses: the receive loop turns each datagram's ADDR_SLOT into an Endpoint
 * without allocating for sources it has seen before. The protocol core stores endpoints by identity (a peer's
 * endpoint follows the source of its latest authenticated packet), so a stable instance per address also makes
 * "did the endpoint change?" a pointer comparison.
 *
 * The table is bounded: hostile traffic from many spoofed sources can only make it start over, and endpoints that
 * peers hold stay valid because they are ordinary objects.
 */
import { ADDR_SLOT } from '../net/addr-slot.js';
import { Endpoint } from '../net/endpoint.js';

/** Distinct sources remembered before the table starts over. */
export const ENDPOINT_CACHE_ENTRIES = 4096;

export class EndpointCache {
  private readonly byHash = new Map<number, Endpoint>();
  /** The last source interned: consecutive datagrams (a GRO-split message, a burst) mostly share one. */
  private last: Endpoint | undefined;

  /** The canonical Endpoint for arena[offset, offset + ADDR_SLOT). */
  intern(arena: Uint8Array, offset: number): Endpoint {
    const last = this.last;
    if (last !== undefined && last.equalsSlot(arena, offset)) return last;
    const h = hashSlot(arena, offset);
    let ep = this.byHash.get(h);
    if (ep === undefined || !ep.equalsSlot(arena, offset)) {
      ep = Endpoint.fromSlot(arena, offset);
      if (this.byHash.size >= ENDPOINT_CACHE_ENTRIES) this.byHash.clear();
      this.byHash.set(h, ep);
    }
    this.last = ep;
    return ep;
  }

  /** The canonical instance for an endpoint made elsewhere (configuration, UAPI). */
  canonical(ep: Endpoint): Endpoint {
    return this.intern(ep.slot, 0);
  }
}

/** FNV-1a over the slot: 32-bit, no allocation. */
function hashSlot(arena: Uint8Array, offset: number): number {
  let h = 0x811c9dc5;
  for (let i = offset; i < offset + ADDR_SLOT; i++) {
    h ^= arena[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
