/**
 * The read half of a TUN with IFF_VNET_HDR, without syscalls: raw reads (virtio_net_hdr + packet, possibly a
 * 64 KiB super-packet) become a batch of plain IP packets.
 *
 * One buffer holds both: the delivered batch's slots first (segments cut from super-packets are written there),
 * then rawMax raw read slots. A plain packet is delivered where it was read (its offset points into its raw slot:
 * no copy); a NEEDS_CSUM packet gets its checksum finished in place; a super-packet is split into slots (split.ts).
 * Headroom: every delivered packet has `headroom` writable bytes before it (in a raw slot the virtio header and
 * the bytes before it serve; they are no longer needed once parsed).
 */
import { PacketBatch } from '../../packet/batch.js';
import { finishChecksum, gsoCheck, gsoSplit } from './split.js';
import { emptyVnetHeader, parseVnetHeader, VNET_HDR_BYTES, VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_NONE } from './vnet-header.js';

/** Largest packet a TUN read returns after the virtio header. */
export const MAX_SUPER_PACKET_BYTES = 65_535;
/** Raw reads per readBatch. Each may be a super-packet of ~45 segments, so a few fill a batch. */
export const DEFAULT_RAW_READS = 16;
/** Bytes per segment slot: a segment is at most one MTU (≤ 9000, the device's largest). */
export const SEGMENT_SLOT_BYTES = 9216;

export type DeliverBatch = (batch: PacketBatch) => void;

export class VnetReader {
  /** The batch handed to deliver(); valid until it returns. */
  readonly rx: PacketBatch;
  /** Where readBatch puts raw read j: rawArena[j * rawSlot ...]. */
  readonly rawArena: Uint8Array;
  readonly rawSlot: number;
  readonly rawLengths: Int32Array;
  readonly rawMax: number;
  /** Reads dropped: malformed virtio header or packet, or segments that do not fit a slot. */
  dropped = 0;
  private readonly rawBase: number;
  private readonly headroom: number;
  private readonly hdr = emptyVnetHeader();

  constructor(batchSize: number, headroom = 0, rawMax = DEFAULT_RAW_READS) {
    const slot = headroom + SEGMENT_SLOT_BYTES;
    this.headroom = headroom;
    this.rawMax = rawMax;
    this.rawSlot = headroom + VNET_HDR_BYTES + MAX_SUPER_PACKET_BYTES;
    this.rawBase = batchSize * slot + headroom;
    const buf = new Uint8Array(this.rawBase + rawMax * this.rawSlot);
    this.rx = new PacketBatch(batchSize, slot, { headroom, buf });
    this.rawArena = buf.subarray(this.rawBase + headroom);
    this.rawLengths = new Int32Array(rawMax);
  }

  /** Turns raw reads 0..n-1 into packets; deliver(rx) runs whenever rx is full and once at the end. */
  process(n: number, deliver: DeliverBatch): void {
    const rx = this.rx;
    const buf = rx.buf;
    const h = this.hdr;
    rx.count = 0;
    for (let j = 0; j < n; j++) {
      const at = this.rawBase + this.headroom + j * this.rawSlot;
      const len = this.rawLengths[j]! - VNET_HDR_BYTES;
      if (len <= 0) {
        this.dropped++;
        continue;
      }
      parseVnetHeader(buf, at, h);
      const pkt = at + VNET_HDR_BYTES;
      if (h.gsoType === VNET_HDR_GSO_NONE) {
        if ((h.flags & VNET_HDR_F_NEEDS_CSUM) !== 0 && !finishChecksum(buf, pkt, len, h)) {
          this.dropped++;
          continue;
        }
        if (rx.count === rx.capacity) this.flush(deliver);
        rx.offsets[rx.count] = pkt;
        rx.lengths[rx.count] = len;
        rx.count++;
        continue;
      }
      const segments = gsoCheck(buf, pkt, len, h);
      if (segments < 0 || segments > rx.capacity || h.hdrLen + h.gsoSize > rx.maxPacketSize) {
        this.dropped++;
        continue;
      }
      if (rx.count + segments > rx.capacity) this.flush(deliver);
      gsoSplit(rx, pkt, len, h);
    }
    this.flush(deliver);
  }

  private flush(deliver: DeliverBatch): void {
    if (this.rx.count > 0) deliver(this.rx);
    this.rx.count = 0;
  }
}
