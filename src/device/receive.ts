/**
 * The inbound pipeline, network → TUN. Runs on the event loop, once per socket wake-up:
 *
 *   1. a batch of datagrams arrives with their source addresses (valid until we return);
 *   2. each source is interned to a stable Endpoint (no allocation for known sources);
 *   3. the protocol core dispatches on (type, length): transport data is authenticated and decrypted straight into
 *      the next slot of a preallocated TUN batch, and accepted only if its inner source address belongs to the
 *      peer that sent it; handshake and cookie messages update peer state and may queue replies;
 *   4. anything rejected is dropped and counted under its reason, never thrown;
 *   5. one tun.write() for the decrypted packets, then the queued replies go out through the send pipeline.
 */
import { ADDR_SLOT } from '../net/addr-slot.js';
import { PacketBatch } from '../packet/batch.js';
import type { Endpoint } from '../net/endpoint.js';
import type { Tun } from '../tun/tun.js';
import { plaintextCapacity, type DeviceCore } from '../protocol/index.js';
import type { EndpointCache } from './endpoints.js';
import { countDrop, type DeviceStats } from './stats.js';

export class ReceivePipeline {
  private readonly out: PacketBatch;

  constructor(
    private readonly core: DeviceCore<Endpoint>,
    private readonly tun: Tun,
    private readonly endpoints: EndpointCache,
    private readonly stats: DeviceStats,
    batchSize: number,
    maxDatagramBytes: number,
  ) {
    this.out = new PacketBatch(batchSize, Math.max(1, plaintextCapacity(maxDatagramBytes)));
  }

  /** Steps 2–5 for one batch of datagrams; replies the protocol queued are left for the send pipeline. */
  decryptBatch(batch: PacketBatch, now: number): void {
    const { core, out, stats, endpoints } = this;
    const addrs = batch.addrs!;
    stats.datagrams += batch.count;
    out.reset();
    for (let i = 0; i < batch.count; i++) {
      const off = batch.offsets[i]!;
      const len = batch.lengths[i]!;
      if (plaintextCapacity(len) > out.maxPacketSize) {
        countDrop(stats, 'oversized');
        continue;
      }
      const source = endpoints.intern(addrs, i * ADDR_SLOT);
      const at = out.next();
      const r = core.decapsulate(batch.buf, off, len, source, now, out.buf, at);
      if (r.kind === 'tunnel') {
        out.offsets[out.count] = r.offset;
        out.commit(r.length);
        if (out.count === out.capacity) this.write();
      } else if (r.kind === 'error') {
        countDrop(stats, r.error);
      }
    }
    this.write();
  }

  private write(): void {
    if (this.out.count === 0) return;
    this.stats.delivered += this.out.count;
    this.tun.write(this.out);
    this.out.reset();
  }
}
