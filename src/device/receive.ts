/**
 * The inbound pipeline, network → TUN. Runs on the event loop, once per socket wake-up:
 *
 *   1. a batch of datagrams arrives with their source addresses and the local addresses they arrived on (valid
 *      until we return);
 *   2. each (source, local address) pair is interned to a stable Endpoint (no allocation for known pairs): a peer
 *      that authenticates from it gets it as its endpoint, so replies leave from the address it reached us on;
 *   3. classified by (type, length): initiations and responses are copied into the bounded, per-network-fair
 *      handshake queue (or shed when it has no room) and left for later; a transport message is queued to be
 *      opened into the next slot of a preallocated TUN batch; cookie replies and everything else go to the
 *      protocol core at once;
 *   4. one aead call authenticates and decrypts every queued message; in arrival order each then passes the
 *      replay window and is accepted only if its inner source address belongs to the peer that sent it;
 *   5. anything rejected is dropped and counted under its reason, never thrown;
 *   6. one tun.write() for the decrypted packets, then the queued replies go out through the send pipeline.
 */
import { ADDR_SLOT } from '../net/addr-slot.js';
import { PacketBatch } from '../packet/batch.js';
import type { Endpoint } from '../net/endpoint.js';
import type { Tun } from '../tun/tun.js';
import { classify, MESSAGE_INITIATION, MESSAGE_RESPONSE, plaintextCapacity, type DeviceCore, type Result } from '../protocol/index.js';
import type { HandshakeQueue } from './handshake-queue.js';
import type { EndpointCache } from './endpoints.js';
import { countDrop, type DeviceStats } from './stats.js';

export class ReceivePipeline {
  private readonly out: PacketBatch;
  /** Next free slot of `out` for a queued transport message's plaintext. */
  private slot = 0;
  /** finishReceive's callback, made once: each result of the batch lands here, in arrival order. */
  private readonly collect = (r: Result<Endpoint>): void => this.collectResult(r);

  constructor(
    private readonly core: DeviceCore<Endpoint>,
    private readonly tun: Tun,
    private readonly endpoints: EndpointCache,
    private readonly stats: DeviceStats,
    private readonly handshakes: HandshakeQueue,
    batchSize: number,
    maxDatagramBytes: number,
  ) {
    this.out = new PacketBatch(batchSize, Math.max(1, plaintextCapacity(maxDatagramBytes)));
  }

  /** Steps 2–6 for one batch of datagrams; replies the protocol queued are left for the send pipeline. */
  decryptBatch(batch: PacketBatch, now: number): void {
    const { core, out, stats, endpoints } = this;
    const addrs = batch.addrs!;
    const locals = batch.locals;
    stats.datagrams += batch.count;
    this.begin(batch.buf);
    for (let i = 0; i < batch.count; i++) {
      const off = batch.offsets[i]!;
      const len = batch.lengths[i]!;
      if (plaintextCapacity(len) > out.maxPacketSize) {
        countDrop(stats, 'oversized');
        continue;
      }
      if (this.slot === out.capacity || core.receiveBatchFull) {
        this.finish(now);
        this.begin(batch.buf);
      }
      const source = endpoints.intern(addrs, i * ADDR_SLOT, locals, i * ADDR_SLOT);
      const type = classify(batch.buf, off, len);
      if (type === MESSAGE_INITIATION || type === MESSAGE_RESPONSE) {
        // Handshakes wait in their own bounded queue, served after the data (Device.serveHandshakes).
        if (this.handshakes.offer(batch.buf, off, len, source)) stats.handshakesQueued++;
        else countDrop(stats, 'handshakeShed');
        continue;
      }
      const r = core.decapsulate(batch.buf, off, len, source, now, out.buf, this.slot * out.slotSize + out.headroom);
      if (r.kind === 'pending') this.slot++;
      else if (r.kind === 'error') countDrop(stats, r.error);
    }
    this.finish(now);
  }

  private begin(src: Uint8Array): void {
    this.out.reset();
    this.slot = 0;
    this.core.beginReceive(src, this.out.buf);
  }

  /** Opens the queued messages (one aead call), gathers the packets into `out` and writes them to the TUN. */
  private finish(now: number): void {
    this.core.finishReceive(now, this.collect);
    this.write();
  }

  private collectResult(r: Result<Endpoint>): void {
    const out = this.out;
    if (r.kind === 'tunnel') {
      out.offsets[out.count] = r.offset;
      out.lengths[out.count] = r.length;
      out.count++;
    } else if (r.kind === 'error') {
      countDrop(this.stats, r.error);
    }
  }

  private write(): void {
    if (this.out.count === 0) return;
    this.stats.delivered += this.out.count;
    this.tun.write(this.out);
    this.out.reset();
  }
}
