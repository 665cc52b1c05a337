/**
 * The outbound pipeline, TUN → network. Runs on the event loop, once per TUN wake-up:
 *
 *   1. a batch of IP packets arrives from the TUN device (valid until we return);
 *   2. each packet's destination picks its peer in the allowed-IPs trie (no peer: dropped, counted, and answered
 *      with an ICMP destination unreachable built into a preallocated batch, rate limited; see icmp.ts; but the
 *      host's own link-scope traffic, see isHostLinkTraffic, is only counted apart, as noRouteHost);
 *   3. the peer's current session writes its header into the next slot of a preallocated datagram batch,
 *      addressed to the peer's endpoint and from its sticky source (the local address the peer last reached us
 *      on, if any), and queues the seal of the packet into that slot (no session yet: the protocol stages a copy
 *      and starts a handshake);
 *   4. handshake and keepalive datagrams the protocol queued are appended (flushOutbound);
 *   5. one aead call seals every queued packet (the core's send batch: beginSend … flushSend … finishSend), then
 *      one bind.send() sends the batch; one tun.write() for the
 *      unreachable replies, if any. A sticky source the kernel refused (the address went away; the bind sent
 *      without it) is forgotten for every peer that had it: they send from the kernel's choice until they are
 *      reached again.
 *
 * Nothing here allocates per packet; staging (no session yet) copies, which is the rare path.
 */
import type { Bind } from '../conn/bind.js';
import { ADDR_SLOT, localSlotEquals } from '../net/addr-slot.js';
import {
  IPV4_DESTINATION_OFFSET, IPV4_MIN_HEADER_BYTES, IPV6_DESTINATION_OFFSET, IPV6_HEADER_BYTES, IPV6_SOURCE_OFFSET,
} from '../packet/ip-header.js';
import { PacketBatch } from '../packet/batch.js';
import type { Endpoint } from '../net/endpoint.js';
import { transportMessageLength, type DeviceCore } from '../protocol/index.js';
import type { Tun } from '../tun/tun.js';
import type { EndpointCache } from './endpoints.js';
import { UnreachableReplies } from './icmp.js';
import type { DeviceStats } from './stats.js';

export class SendPipeline {
  /** Datagrams being assembled for one bind.send(), with their sources (local slots). */
  private readonly out: PacketBatch;
  /** sentTo[i]: the endpoint datagram i of `out` goes to (whose sticky source its local slot holds). */
  private readonly sentTo: Array<Endpoint | undefined>;
  /** ICMP unreachable replies to packets that route to no peer; written back to `tun` once per wake-up. */
  private readonly unreachable: UnreachableReplies;

  constructor(
    private readonly core: DeviceCore<Endpoint>,
    private readonly bind: Bind,
    private readonly stats: DeviceStats,
    batchSize: number,
    private readonly maxPacketBytes: number,
    private readonly tun: Tun,
    private readonly endpoints: EndpointCache,
  ) {
    this.out = new PacketBatch(batchSize, transportMessageLength(maxPacketBytes), { addrs: true, locals: true });
    this.sentTo = new Array<Endpoint | undefined>(batchSize).fill(undefined);
    this.unreachable = new UnreachableReplies(batchSize);
  }

  /** Steps 2–5 for one batch of TUN packets. */
  encryptBatch(batch: PacketBatch, now: number): void {
    const { core, out, stats } = this;
    stats.tunPackets += batch.count;
    out.reset();
    // Seals from this TUN batch into `out` run together, in one call, just before out is sent.
    core.beginSend(batch.buf, out.buf);
    for (let i = 0; i < batch.count; i++) {
      const off = batch.offsets[i]!;
      const len = batch.lengths[i]!;
      const peer = core.routeFor(batch.buf, off, len);
      if (peer === undefined) {
        if (isHostLinkTraffic(batch.buf, off, len)) {
          stats.noRouteHost++;
          continue;
        }
        stats.noRoute++;
        this.answerUnreachable(batch.buf, off, len, now);
        continue;
      }
      if (len > this.maxPacketBytes) {
        stats.tooBig++;
        continue;
      }
      const at = out.next();
      const n = core.encapsulate(peer, batch.buf, off, len, out.buf, at, now);
      if (n === 0) continue; // staged until a session exists
      const ep = peer.endpoint;
      if (ep === undefined) {
        stats.noEndpoint++;
        continue;
      }
      this.addressed(out.commit(n, ep.slot), ep);
      if (out.count === out.capacity) this.send();
    }
    this.flushOutbound();
    core.finishSend();
    this.unreachable.flush(this.tun);
  }

  private answerUnreachable(buf: Uint8Array, off: number, len: number, now: number): void {
    const outcome = this.unreachable.answer(buf, off, len, now, this.tun);
    if (outcome === 'queued') this.stats.icmpUnreachable++;
    else if (outcome === 'rateLimited') this.stats.icmpRateLimited++;
  }

  /** Steps 4–5: sends whatever the protocol queued (handshakes, keepalives, staged data, cookie replies). */
  flushOutbound(): void {
    const { out } = this;
    for (const o of this.core.takeOutbound()) {
      if (o.data.length > out.maxPacketSize) continue;
      let i = out.push(o.data, 0, o.data.length, o.endpoint.slot);
      if (i < 0) {
        this.send();
        i = out.push(o.data, 0, o.data.length, o.endpoint.slot);
      }
      this.addressed(i, o.endpoint);
    }
    this.send();
  }

  /** Datagram i of `out` goes to `ep`: from its sticky source, if it has one. */
  private addressed(i: number, ep: Endpoint): void {
    this.out.setLocal(i, ep.local);
    this.sentTo[i] = ep;
  }

  private send(): void {
    this.core.flushSend();
    if (this.out.count === 0) return;
    this.stats.sent += this.out.count;
    if (this.bind.send(this.out) > 0) this.forgetRefusedSources();
    this.out.reset();
  }

  /**
   * The bind sent some datagrams without their source, which the kernel refused (cleared local slots in `out`): each
   * such address is no longer ours, so every peer whose endpoint holds it as sticky source gets the same endpoint
   * without one (as kernel WireGuard clears an endpoint's source it cannot route from), until it reaches us again.
   * The rare path: it walks the peers.
   */
  private forgetRefusedSources(): void {
    const { out, sentTo } = this;
    const locals = out.locals!;
    let previous: Uint8Array | undefined;
    for (let i = 0; i < out.count; i++) {
      const stale = sentTo[i]?.local;
      if (stale === undefined || locals[i * ADDR_SLOT] !== 0 || stale === previous) continue;
      previous = stale;
      for (const peer of this.core.allPeers()) {
        const local = peer.endpoint?.local;
        if (local === undefined || !localSlotEquals(local, 0, stale, 0)) continue;
        peer.endpoint = this.endpoints.withoutLocal(peer.endpoint!);
        this.stats.sourcesCleared++;
      }
    }
  }
}

/** First octet of IPv4 multicast (224.0.0.0/4): the four high bits 1110. */
const IPV4_MULTICAST_HIGH_BITS = 0xe;
/** First octet of IPv6 multicast (ff00::/8). */
const IPV6_MULTICAST_FIRST_OCTET = 0xff;
/** fe80::/10, IPv6 link-local unicast: first octet 0xfe, two high bits of the second 10. */
const IPV6_LINK_LOCAL_FIRST_OCTET = 0xfe;
const IPV6_LINK_LOCAL_SECOND_MASK = 0xc0;
const IPV6_LINK_LOCAL_SECOND_BITS = 0x80;

/**
 * Whether the IP packet buf[off, off+len) is the host's own link-scope traffic rather than the user's: from an
 * IPv6 link-local address (fe80::/10) or to a multicast group (224.0.0.0/4, ff00::/8). The kernel sends such packets
 * into every interface (IPv6 router solicitations from the TUN's fe80:: address on each start); with no peer for
 * them they are not a drop of anything the user sent.
 */
export function isHostLinkTraffic(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 1) return false;
  const version = buf[off]! >>> 4;
  if (version === 4) return len >= IPV4_MIN_HEADER_BYTES && buf[off + IPV4_DESTINATION_OFFSET]! >>> 4 === IPV4_MULTICAST_HIGH_BITS;
  if (version !== 6 || len < IPV6_HEADER_BYTES) return false;
  if (buf[off + IPV6_DESTINATION_OFFSET] === IPV6_MULTICAST_FIRST_OCTET) return true;
  const src = off + IPV6_SOURCE_OFFSET;
  return buf[src] === IPV6_LINK_LOCAL_FIRST_OCTET && (buf[src + 1]! & IPV6_LINK_LOCAL_SECOND_MASK) === IPV6_LINK_LOCAL_SECOND_BITS;
}
