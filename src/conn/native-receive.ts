/**
 * The receive half of NativeBind: a readable socket is drained with recvmmsg in batches of batchSize into one
 * shared PacketBatch (the callback is synchronous, so both sockets can share it), at most MAX_BATCHES_PER_WAKE
 * batches per wake-up so the other socket and the TUN get their turn (uv_poll is level-triggered: what is left
 * wakes us again).
 *
 * UDP GRO: the kernel may hand us several datagrams of one flow as one message with their segment size; each
 * message is split into its datagrams by offsets and lengths (no copy) before the callback sees the batch, so a
 * callback may carry more than batchSize datagrams (at most GRO_MESSAGES × GSO_MAX_SEGMENTS).
 */
import type { Logger } from '../log.js';
import type { NativeUdp } from '../native/udp.js';
import { ADDR_SLOT } from '../net/addr-slot.js';
import { PacketBatch } from '../packet/batch.js';
import type { BindStats, ReceiveCallback } from './bind.js';
import { GSO_MAX_SEGMENTS } from './gso.js';
import { copySlot, type UdpSocket } from './udp-socket.js';

/** Batches drained per readiness wake-up before yielding to the event loop. */
const MAX_BATCHES_PER_WAKE = 8;
/**
 * Datagrams delivered per readiness wake-up at most before yielding: with UDP GRO one recvmmsg can return
 * thousands of small datagrams (a flood of 148-byte handshakes coalesces 400 to a message), and the TUN device and
 * timers must get their turn in between.
 */
const MAX_DATAGRAMS_PER_WAKE = 4096;
/** Messages per recvmmsg when UDP GRO is on; each slot holds a coalesced message of up to 64 KiB. */
export const GRO_MESSAGES = 32;
const GRO_SLOT_BYTES = 65_536;

/** GRO receive buffers: the raw messages, then the batch of datagrams split out of them (pointing into `arena`). */
interface GroReceive {
  arena: Uint8Array;
  lengths: Int32Array;
  segments: Int32Array;
  addrs: Uint8Array;
  locals: Uint8Array;
  batch: PacketBatch;
}

export class UdpReceiver {
  /** Where drained batches go; undefined until the bind starts and after it closes (then nothing is delivered). */
  onReceive: ReceiveCallback | undefined;
  private readonly rx: PacketBatch;
  /** rx.buf seen from the first packet byte: recvmmsg fills datagram i at rxArena[i*slotSize]. */
  private readonly rxArena: Uint8Array;
  /** Made at the first socket that has GRO (enableGro). */
  private gro: GroReceive | undefined;

  /**
   * `slotSize` bytes per receive slot (headroom included), `headroom` bytes before each datagram (see PacketBatch);
   * datagrams are counted in `stats` (received, receiveDropped).
   */
  constructor(
    private readonly addon: NativeUdp,
    private readonly stats: BindStats,
    private readonly log: Logger,
    private readonly batchSize: number,
    slotSize: number,
    headroom: number,
  ) {
    this.rx = new PacketBatch(batchSize, slotSize, { headroom, addrs: true, locals: true });
    this.rxArena = this.rx.buf.subarray(headroom);
  }

  /** Allocates the GRO buffers (about 2 MiB) once, for the first socket that receives with UDP_GRO. */
  enableGro(): void {
    if (this.gro) return;
    const arena = new Uint8Array(GRO_MESSAGES * GRO_SLOT_BYTES);
    const capacity = GRO_MESSAGES * GSO_MAX_SEGMENTS;
    this.gro = {
      arena,
      lengths: new Int32Array(GRO_MESSAGES),
      segments: new Int32Array(GRO_MESSAGES),
      addrs: new Uint8Array(GRO_MESSAGES * ADDR_SLOT),
      locals: new Uint8Array(GRO_MESSAGES * ADDR_SLOT),
      batch: new PacketBatch(capacity, arena.length / capacity, { addrs: true, locals: true, buf: arena }),
    };
  }

  /** Drains what the readable socket s holds, within this wake-up's limits. Runs on the event loop only. */
  drain(s: UdpSocket): void {
    if (s.gro && this.gro) {
      this.drainGro(s, this.gro);
      return;
    }
    const rx = this.rx;
    const max = this.batchSize;
    for (let round = 0; round < MAX_BATCHES_PER_WAKE; round++) {
      let n: number;
      try {
        n = this.addon.recvmmsg(s.fd, this.rxArena, rx.slotSize, rx.lengths, rx.addrs!, max, rx.locals);
      } catch (e) {
        this.log.warn({ err: e, family: s.family }, 'recvmmsg failed');
        return;
      }
      if (n === 0) return;
      this.stats.receiveDropped += rx.acceptReads(n);
      this.deliver(rx);
      if (n < max || this.onReceive === undefined) return;
    }
  }

  /**
   * As drain, with UDP GRO: message j (a slot of 64 KiB) holding len bytes with segment size seg > 0 is
   * ceil(len / seg) datagrams back to back; each becomes an entry of the delivered batch pointing into the slot.
   */
  private drainGro(s: UdpSocket, gro: GroReceive): void {
    const out = gro.batch;
    const outAddrs = out.addrs!;
    const outLocals = out.locals!;
    const limit = this.rx.maxPacketSize;
    let delivered = 0;
    for (let round = 0; round < MAX_BATCHES_PER_WAKE && delivered < MAX_DATAGRAMS_PER_WAKE; round++) {
      let n: number;
      try {
        n = this.addon.recvmmsgGro(s.fd, gro.arena, GRO_SLOT_BYTES, gro.lengths, gro.addrs, gro.segments, GRO_MESSAGES, gro.locals);
      } catch (e) {
        this.log.warn({ err: e, family: s.family }, 'recvmmsg failed');
        return;
      }
      if (n === 0) return;
      let k = 0;
      for (let j = 0; j < n; j++) {
        const len = gro.lengths[j]!;
        if (len < 0) {
          this.stats.receiveDropped++; // truncated
          continue;
        }
        const reported = gro.segments[j]!;
        const seg = reported > 0 && reported < len ? reported : len; // one datagram unless the kernel coalesced
        if (seg > limit) {
          this.stats.receiveDropped += Math.ceil(len / seg);
          continue;
        }
        const base = j * GRO_SLOT_BYTES;
        let p = 0;
        do {
          if (k === out.capacity) {
            // A full batch goes up and splitting goes on: no datagram of a coalesced message is lost here.
            out.count = k;
            this.deliver(out);
            delivered += k;
            k = 0;
          }
          out.offsets[k] = base + p;
          out.lengths[k] = Math.min(seg, len - p);
          copySlot(gro.addrs, j * ADDR_SLOT, outAddrs, k * ADDR_SLOT);
          copySlot(gro.locals, j * ADDR_SLOT, outLocals, k * ADDR_SLOT);
          k++;
          p += seg;
        } while (p < len);
      }
      out.count = k;
      this.deliver(out);
      delivered += k;
      if (n < GRO_MESSAGES || this.onReceive === undefined) return;
    }
  }

  private deliver(batch: PacketBatch): void {
    const cb = this.onReceive;
    if (!cb || batch.count === 0) return;
    this.stats.received += batch.count;
    try {
      cb(batch);
    } catch (e) {
      this.log.error({ err: e }, 'receive callback threw');
    }
  }
}
