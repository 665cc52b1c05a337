/**
 * The outbound pipeline, TUN → network. Runs on the event loop, once per TUN wake-up:
 *
 *   1. a batch of IP packets arrives from the TUN device (valid until we return);
 *   2. each packet's destination picks its peer in the allowed-IPs trie (no peer: dropped, counted, and answered
 *      with an ICMP destination unreachable built into a preallocated batch, rate limited; see icmp.ts);
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
