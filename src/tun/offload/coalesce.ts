/**
 * The write side of TUN offloads (GRO): consecutive decrypted TCP segments of one flow are handed to the kernel as
 * one super-packet, so its TCP stack sees one packet per ~64 KiB instead of one per MSS.
 *
 * plan(batch) turns a batch of plain IP packets into a list of writes, each a virtio_net_hdr plus slices of the
 * batch (for writevBatch): a packet that merges with nothing is written whole behind a zero header; a merged group
 * is its first packet (headers rewritten in place) followed by the payloads of the others, behind a header with
 * gso_type TCPV4/TCPV6, gso_size = the first payload's length, NEEDS_CSUM with csum_start/offset at the TCP
 * checksum, which then holds the pseudo-header sum.
 *
 * A packet joins a group when (the kernel's own GRO rules, as wireguard-go applies them):
 * - both are TCP over IPv4 without options and not fragmented, or over IPv6 without extension headers, and the
 *   IP and TCP lengths agree with the packet;
 * - same addresses, ports, ACK number, TCP header length, options, window and urgent pointer; same IPv4 TOS, DF
 *   and TTL, or IPv6 first word (traffic class, flow label) and hop limit;
 * - flags are exactly ACK, or ACK|PSH (a PSH segment ends its group, and so does a shorter one);
 * - its sequence number continues the group and its payload is no longer than the first one's;
 * - the group stays within 64 segments and 65535 bytes, and every packet's TCP checksum is valid (the kernel does
 *   not check a NEEDS_CSUM packet again, so a corrupt one must never be merged).
 * Groups keep the order of their first packets; only packets joining an earlier group move forward.
 */
import type { PacketBatch } from '../../packet/batch.js';
import { put16, read32 } from '../../packet/bytes.js';
import { fold16, pseudoHeaderSum, setIpv4HeaderChecksum } from '../../packet/checksum.js';
import { nativeChecksum as native } from '../../native/checksum.js';
import {
  IPPROTO_TCP, IPV4_MIN_HEADER_BYTES, IPV4_SOURCE_OFFSET, IPV6_HEADER_BYTES, IPV6_SOURCE_OFFSET, TCP_CSUM_OFFSET, TCP_FLAG_ACK, TCP_FLAG_PSH, TCP_FLAGS_OFFSET,
  TCP_HEADER_MAX_BYTES, TCP_HEADER_MIN_BYTES, TCP_SEQ_OFFSET,
} from '../../packet/ip-header.js';
import {
  VNET_HDR_BYTES,
  VNET_HDR_F_NEEDS_CSUM,
  VNET_HDR_GSO_TCPV4,
  VNET_HDR_GSO_TCPV6,
  formatVnetHeader,
  zeroVnetHeader,
  type VnetHeader,
} from './vnet-header.js';

/** Most segments in one super-packet. */
export const GRO_MAX_SEGMENTS = 64;
/** Largest super-packet (IPv4 total length / IPv6 payload length are 16-bit). */
const GRO_MAX_BYTES = 65_535;
/** Open groups compared with each packet, newest first: bounds the work per packet. */
const GRO_SCAN_GROUPS = 16;
const IPV4_FRAGMENT_MASK = 0x3fff; // MF flag and fragment offset
const NOT_TCP = 0;

export class GroPlanner {
  /** VNET_HDR_BYTES per write. */
  readonly heads: Uint8Array;
  /** Slices (into the planned batch's buf), consumed in order by the writes. */
  readonly offsets: Int32Array;
  readonly lengths: Int32Array;
  /** Slices per write. */
  readonly parts: Int32Array;
  /** Packets per write (for statistics). */
  readonly packets: Int32Array;
  /** Writes planned by the last plan(). */
  writes = 0;
  /** Packets merged into an earlier one by the last plan(). */
  merged = 0;

  // Per packet: its TCP header length (NOT_TCP when it is no candidate), and the next member of its group.
  private readonly tcpLen: Int32Array;
  private readonly ipLen: Int32Array;
  private readonly nextMember: Int32Array;
  // Per group, indexed by group number (groups are numbered in the order of their first packets).
  private readonly head: Int32Array;
  private readonly last: Int32Array;
  private readonly count: Int32Array;
  private readonly bytes: Int32Array;
  private readonly gso: Int32Array;
  private readonly nextSeq: Uint32Array;
  /** 1 while the group may take more packets. */
  private readonly open: Uint8Array;
  /** Per packet: 1 when its TCP checksum holds (summed for every candidate at once, in one addon call). */
  private readonly csumOk: Uint8Array;
  /** The checksum batch: ranges and sums of the candidates. */
  private readonly sumOffsets: Int32Array;
  private readonly sumLengths: Int32Array;
  private readonly sumValues: Int32Array;
  private readonly sumPacket: Int32Array;
  private groups = 0;
  private readonly hdr: VnetHeader = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };

  constructor(readonly capacity: number) {
    this.heads = new Uint8Array(capacity * VNET_HDR_BYTES);
    this.offsets = new Int32Array(capacity);
    this.lengths = new Int32Array(capacity);
    this.parts = new Int32Array(capacity);
    this.packets = new Int32Array(capacity);
    this.tcpLen = new Int32Array(capacity);
    this.ipLen = new Int32Array(capacity);
    this.nextMember = new Int32Array(capacity);
    this.head = new Int32Array(capacity);
    this.last = new Int32Array(capacity);
    this.count = new Int32Array(capacity);
    this.bytes = new Int32Array(capacity);
    this.gso = new Int32Array(capacity);
    this.nextSeq = new Uint32Array(capacity);
    this.open = new Uint8Array(capacity);
    this.csumOk = new Uint8Array(capacity);
    this.sumOffsets = new Int32Array(capacity);
    this.sumLengths = new Int32Array(capacity);
    this.sumValues = new Int32Array(capacity);
    this.sumPacket = new Int32Array(capacity);
  }

  /**
   * Plans the writes for packets 0..count-1 of `batch` (count ≤ capacity). Rewrites the headers of merged groups'
   * first packets in place; the plan refers to batch.buf and is valid until the batch changes.
   */
  plan(batch: PacketBatch): void {
    const n = batch.count;
    if (n > this.capacity) throw new RangeError(`batch of ${n} exceeds the GRO capacity ${this.capacity}`);
    const buf = batch.buf;
    this.groups = 0;
    this.merged = 0;
    for (let i = 0; i < n; i++) this.classify(buf, batch.offsets[i]!, batch.lengths[i]!, i);
    this.checkSums(batch);
    for (let i = 0; i < n; i++) {
      this.nextMember[i] = -1;
      if (this.tcpLen[i] !== NOT_TCP && this.tryMerge(batch, i)) continue;
      this.startGroup(buf, batch.offsets[i]!, batch.lengths[i]!, i);
    }
    this.emit(batch);
  }

  /** Sets ipLen[i]/tcpLen[i] for a coalescing candidate, tcpLen[i] = NOT_TCP otherwise. */
  private classify(buf: Uint8Array, off: number, len: number, i: number): void {
    this.tcpLen[i] = NOT_TCP;
    if (len < IPV4_MIN_HEADER_BYTES + TCP_HEADER_MIN_BYTES || off < 0 || off + len > buf.length) return;
    const v = buf[off]! >> 4;
    let ipLen: number;
    if (v === 4) {
      if (buf[off] !== 0x45 || buf[off + 9] !== IPPROTO_TCP) return;
      if (((buf[off + 2]! << 8) | buf[off + 3]!) !== len) return;
      if ((((buf[off + 6]! << 8) | buf[off + 7]!) & IPV4_FRAGMENT_MASK) !== 0) return;
      ipLen = IPV4_MIN_HEADER_BYTES;
    } else if (v === 6) {
      if (len < IPV6_HEADER_BYTES + TCP_HEADER_MIN_BYTES || buf[off + 6] !== IPPROTO_TCP) return;
      if (((buf[off + 4]! << 8) | buf[off + 5]!) !== len - IPV6_HEADER_BYTES) return;
      ipLen = IPV6_HEADER_BYTES;
    } else {
      return;
    }
    const tcpLen = (buf[off + ipLen + 12]! >> 4) * 4;
    if (tcpLen < TCP_HEADER_MIN_BYTES || tcpLen > TCP_HEADER_MAX_BYTES || ipLen + tcpLen >= len) return;
    const flags = buf[off + ipLen + TCP_FLAGS_OFFSET]!;
    if (flags !== TCP_FLAG_ACK && flags !== (TCP_FLAG_ACK | TCP_FLAG_PSH)) return;
    this.ipLen[i] = ipLen;
    this.tcpLen[i] = tcpLen;
  }

  /** Sets csumOk[i] for every coalescing candidate: all their TCP checksums summed in one addon call. */
  private checkSums(batch: PacketBatch): void {
    const buf = batch.buf;
    let k = 0;
    for (let i = 0; i < batch.count; i++) {
      this.csumOk[i] = 0;
      const ipLen = this.ipLen[i]!;
      if (this.tcpLen[i] === NOT_TCP) continue;
      const off = batch.offsets[i]!;
      const len = batch.lengths[i]!;
      const v4 = ipLen === IPV4_MIN_HEADER_BYTES;
      this.sumOffsets[k] = off + ipLen;
      this.sumLengths[k] = len - ipLen;
      this.sumValues[k] = pseudoHeaderSum(buf, off + (v4 ? IPV4_SOURCE_OFFSET : IPV6_SOURCE_OFFSET), v4 ? 4 : 16, IPPROTO_TCP, len - ipLen);
      this.sumPacket[k] = i;
      k++;
    }
    if (k === 0) return;
    native().checksumBatch(buf, this.sumOffsets, this.sumLengths, this.sumValues, k);
    for (let j = 0; j < k; j++) if (this.sumValues[j] === 0xffff) this.csumOk[this.sumPacket[j]!] = 1;
  }

  private startGroup(buf: Uint8Array, off: number, len: number, i: number): void {
    const g = this.groups++;
    this.head[g] = i;
    this.last[g] = i;
    this.count[g] = 1;
    this.bytes[g] = len;
    const tcpLen = this.tcpLen[i]!;
    if (tcpLen === NOT_TCP) {
      this.open[g] = 0;
      return;
    }
    const ipLen = this.ipLen[i]!;
    const payload = len - ipLen - tcpLen;
    this.gso[g] = payload;
    this.nextSeq[g] = (read32(buf, off + ipLen + TCP_SEQ_OFFSET) + payload) >>> 0;
    this.open[g] = (buf[off + ipLen + TCP_FLAGS_OFFSET]! & TCP_FLAG_PSH) === 0 ? 1 : 0;
  }

  /** Appends packet i to a matching open group; false when none takes it. */
  private tryMerge(batch: PacketBatch, i: number): boolean {
    const buf = batch.buf;
    const off = batch.offsets[i]!;
    const len = batch.lengths[i]!;
    const ipLen = this.ipLen[i]!;
    const tcpLen = this.tcpLen[i]!;
    const payload = len - ipLen - tcpLen;
    const seq = read32(buf, off + ipLen + TCP_SEQ_OFFSET);
    let scanned = 0;
    for (let g = this.groups - 1; g >= 0 && scanned < GRO_SCAN_GROUPS; g--) {
      if (this.open[g] === 0) continue;
      scanned++;
      const h = this.head[g]!;
      if (this.ipLen[h] !== ipLen || this.tcpLen[h] !== tcpLen || this.nextSeq[g] !== seq) continue;
      if (payload > this.gso[g]! || this.bytes[g]! + payload > GRO_MAX_BYTES) continue;
      const hoff = batch.offsets[h]!;
      if (!sameFlow(buf, hoff, off, ipLen, tcpLen)) continue;
      // Same flow, next in sequence: merge if both checksums hold; otherwise this packet goes alone.
      if (this.csumOk[h] !== 1) {
        this.open[g] = 0;
        return false;
      }
      if (this.csumOk[i] !== 1) return false;
      this.nextMember[this.last[g]!] = i;
      this.last[g] = i;
      this.count[g]!++;
      this.bytes[g]! += payload;
      this.nextSeq[g] = (seq + payload) >>> 0;
      const psh = (buf[off + ipLen + TCP_FLAGS_OFFSET]! & TCP_FLAG_PSH) !== 0;
      if (psh || payload < this.gso[g]! || this.count[g] === GRO_MAX_SEGMENTS) this.open[g] = 0;
      this.merged++;
      return true;
    }
    return false;
  }

  /** Fills heads/slices/parts for every group, rewriting merged groups' first packets. */
  private emit(batch: PacketBatch): void {
    const buf = batch.buf;
    let s = 0;
    for (let g = 0; g < this.groups; g++) {
      const h = this.head[g]!;
      const hoff = batch.offsets[h]!;
      const at = g * VNET_HDR_BYTES;
      this.offsets[s] = hoff;
      this.lengths[s] = batch.lengths[h]!;
      s++;
      const members = this.count[g]!;
      this.parts[g] = members;
      this.packets[g] = members;
      if (members === 1) {
        zeroVnetHeader(this.heads, at);
        continue;
      }
      const ipLen = this.ipLen[h]!;
      const hdrLen = ipLen + this.tcpLen[h]!;
      for (let m = this.nextMember[h]!; m >= 0; m = this.nextMember[m]!) {
        this.offsets[s] = batch.offsets[m]! + hdrLen;
        this.lengths[s] = batch.lengths[m]! - hdrLen;
        s++;
      }
      this.rewriteHead(buf, hoff, g, ipLen, hdrLen, batch.offsets[this.last[g]!]!);
      formatVnetHeader(this.hdr, this.heads, at);
    }
    this.writes = this.groups;
  }

  private rewriteHead(buf: Uint8Array, off: number, g: number, ipLen: number, hdrLen: number, lastOff: number): void {
    const total = this.bytes[g]!;
    const v4 = ipLen === IPV4_MIN_HEADER_BYTES;
    if (v4) {
      put16(buf, off + 2, total);
      setIpv4HeaderChecksum(buf, off, ipLen);
    } else {
      put16(buf, off + 4, total - IPV6_HEADER_BYTES);
    }
    // PSH travels to the super-packet when the last segment carried it.
    buf[off + ipLen + TCP_FLAGS_OFFSET]! |= buf[lastOff + ipLen + TCP_FLAGS_OFFSET]! & TCP_FLAG_PSH;
    const pseudo = pseudoHeaderSum(buf, off + (v4 ? 12 : 8), v4 ? 4 : 16, IPPROTO_TCP, total - ipLen);
    put16(buf, off + ipLen + TCP_CSUM_OFFSET, fold16(pseudo));
    const hdr = this.hdr;
    hdr.flags = VNET_HDR_F_NEEDS_CSUM;
    hdr.gsoType = v4 ? VNET_HDR_GSO_TCPV4 : VNET_HDR_GSO_TCPV6;
    hdr.hdrLen = hdrLen;
    hdr.gsoSize = this.gso[g]!;
    hdr.csumStart = ipLen;
    hdr.csumOffset = TCP_CSUM_OFFSET;
  }
}

/** Same addresses, IP fields that must match, ports, ACK, header length, window, urgent pointer and options. */
function sameFlow(buf: Uint8Array, a: number, b: number, ipLen: number, tcpLen: number): boolean {
  if (ipLen === IPV4_MIN_HEADER_BYTES) {
    // TOS, DF (and the reserved bit), TTL; addresses.
    if (buf[a + 1] !== buf[b + 1] || (buf[a + 6]! & 0xc0) !== (buf[b + 6]! & 0xc0) || buf[a + 8] !== buf[b + 8]) return false;
    if (!equalBytes(buf, a + 12, b + 12, 8)) return false;
  } else {
    // Version, traffic class and flow label; hop limit; addresses.
    if (!equalBytes(buf, a, b, 4) || buf[a + 7] !== buf[b + 7]) return false;
    if (!equalBytes(buf, a + 8, b + 8, 32)) return false;
  }
  const ta = a + ipLen;
  const tb = b + ipLen;
  // Ports (0..3), ACK (8..11), data offset (12), window (14..15), urgent pointer (18..19), options (20..).
  return (
    equalBytes(buf, ta, tb, 4) &&
    equalBytes(buf, ta + 8, tb + 8, 5) &&
    equalBytes(buf, ta + 14, tb + 14, 2) &&
    equalBytes(buf, ta + 18, tb + 18, tcpLen - 18)
  );
}

function equalBytes(buf: Uint8Array, a: number, b: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (buf[a + k] !== buf[b + k]) return false;
  return true;
}
