/**
 * The outbound pipeline, TUN → network. Runs on the event loop, once per TUN wake-up:
 *
 *   1. a batch of IP packets arrives from the TUN device (valid until we return);
 *   2. each packet's destination picks its peer in the allowed-IPs trie (no peer: dropped, counted, and answered
 *      with an ICMP destination unreachable built into a preallocated batch, rate limited; see icmp.ts);
 *   3. the peer's current session writes its header into the next slot of a preallocated datagram batch,
 *      addressed to the peer's endpoint, and queues the seal of the packet into that slot (no session yet: the
 *      protocol stages a copy and starts a handshake);
 *   4. handshake and keepalive datagrams the protocol queued are appended (flushOutbound);
 *   5. one aead call seals every queued packet, then one bind.send() sends the batch; one tun.write() for the
 *      unreachable replies, if any.
 *
 * Nothing here allocates per packet; staging (no session yet) copies, which is the rare path.
 */
import type { Bind } from '../conn/bind.js';
import { PacketBatch } from '../packet/batch.js';
import type { Endpoint } from '../net/endpoint.js';
import type { TransportAead } from '../crypto/transport-aead.js';
import { transportMessageLength, type DeviceCore } from '../protocol/index.js';
import type { Tun } from '../tun/tun.js';
import { UnreachableReplies } from './icmp.js';
import type { DeviceStats } from './stats.js';

export class SendPipeline {
  /** Datagrams being assembled for one bind.send(). */
  private readonly out: PacketBatch;
  /** ICMP unreachable replies to packets that route to no peer; written back to `tun` once per wake-up. */
  private readonly unreachable: UnreachableReplies;

  constructor(
    private readonly core: DeviceCore<Endpoint>,
    private readonly aead: TransportAead,
    private readonly bind: Bind,
    private readonly stats: DeviceStats,
    batchSize: number,
    private readonly maxPacketBytes: number,
    private readonly tun: Tun,
  ) {
    this.out = new PacketBatch(batchSize, transportMessageLength(maxPacketBytes), { addrs: true });
    this.unreachable = new UnreachableReplies(batchSize);
  }

  /** Steps 2–5 for one batch of TUN packets. */
  encryptBatch(batch: PacketBatch, now: number): void {
    const { core, out, stats } = this;
    stats.tunPackets += batch.count;
    out.reset();
    // Seals from this TUN batch into `out` run together, in one call, just before out is sent.
    this.aead.beginSeals(batch.buf, out.buf);
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
      out.commit(n, ep.slot);
      if (out.count === out.capacity) this.send();
    }
    this.flushOutbound();
    this.aead.endSeals();
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
      if (out.push(o.data, 0, o.data.length, o.endpoint.slot) < 0) {
        this.send();
        out.push(o.data, 0, o.data.length, o.endpoint.slot);
      }
    }
    this.send();
  }

  private send(): void {
    this.aead.flushSeals();
    if (this.out.count === 0) return;
    this.stats.sent += this.out.count;
    this.bind.send(this.out);
    this.out.reset();
  }
}
