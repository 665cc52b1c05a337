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
import { ADDR_SLOT } from '../native/addon.js';
import { PacketBatch } from '../conn/batch.js';
import type { Endpoint } from '../conn/endpoint.js';
import type { Tun } from '../tun/tun.js';
import { plaintextCapacity, type Protocol } from '../protocol/index.js';
import type { EndpointCache } from './endpoints.js';
import { countDrop, type DeviceStats } from './stats.js';

/** Handshake messages per second beyond which the device is under load and answers initiations with cookies. */
export const UNDER_LOAD_HANDSHAKES_PER_S = 256;
/** How long the device stays under load after the last busy second (wireguard-go: UnderLoadAfterTime). */
export const UNDER_LOAD_HOLD_MS = 1000;
const MS_PER_S = 1000;
const TYPE_INITIATION = 1;
const TYPE_RESPONSE = 2;

export class ReceivePipeline {
  private readonly out: PacketBatch;
  private windowStart = -Infinity;
  private handshakesInWindow = 0;
  private underLoadUntil = -Infinity;

  constructor(
    private readonly protocol: Protocol<Endpoint>,
    private readonly tun: Tun,
    private readonly endpoints: EndpointCache,
    private readonly stats: DeviceStats,
    batchSize: number,
    maxDatagramBytes: number,
    private readonly underLoadHandshakesPerSecond = UNDER_LOAD_HANDSHAKES_PER_S,
  ) {
    this.out = new PacketBatch(batchSize, Math.max(1, plaintextCapacity(maxDatagramBytes)));
  }

  /** Steps 2–5 for one batch of datagrams; replies the protocol queued are left for the send pipeline. */
  decryptBatch(batch: PacketBatch, now: number): void {
    const { protocol, out, stats, endpoints } = this;
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
      const type = len > 0 ? batch.buf[off]! : 0;
      if (type === TYPE_INITIATION || type === TYPE_RESPONSE) this.countHandshake(now);
      const source = endpoints.intern(addrs, i * ADDR_SLOT);
      const at = out.next();
      const r = protocol.decapsulate(batch.buf, off, len, source, now, out.buf, at);
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

  /**
   * Handshake load: more than underLoadHandshakesPerSecond (default UNDER_LOAD_HANDSHAKES_PER_S) handshake messages in a second puts the protocol under
   * load (initiations then need a valid MAC2, i.e. a cookie proving the source address) for UNDER_LOAD_HOLD_MS.
   */
  private countHandshake(now: number): void {
    if (now - this.windowStart >= MS_PER_S) {
      this.windowStart = now;
      this.handshakesInWindow = 0;
    }
    if (++this.handshakesInWindow > this.underLoadHandshakesPerSecond) this.underLoadUntil = now + UNDER_LOAD_HOLD_MS;
    this.protocol.underLoad = now < this.underLoadUntil;
  }

  private write(): void {
    if (this.out.count === 0) return;
    this.stats.delivered += this.out.count;
    this.tun.write(this.out);
    this.out.reset();
  }
}
