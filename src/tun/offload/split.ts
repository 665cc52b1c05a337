/**
 * The read side of TUN offloads: what the kernel hands a TUN opened with IFF_VNET_HDR and TUNSETOFFLOAD
 * (CSUM|TSO4|TSO6[|USO4|USO6]), turned back into ordinary IP packets.
 *
 * - A super-packet (gso_type TCPV4/TCPV6/UDP_L4): one IP + transport header followed by up to 64 KiB of payload,
 *   to be cut into gso_size pieces. Each segment gets a copy of the headers with: IPv4 total length, id + i and
 *   header checksum; IPv6 payload length; TCP sequence number + i × gso_size, FIN/PSH only on the last segment and
 *   CWR only on the first; UDP length; and a full transport checksum (pseudo-header + header + payload).
 * - A plain packet with NEEDS_CSUM: its transport checksum field holds only the pseudo-header sum; finish it.
 *
 * Nothing from the kernel is trusted: gsoCheck validates the header against the packet (the kernel's hdr_len is
 * recomputed from the transport header, as it can be wrong on forwarded packets) before gsoSplit touches bytes.
 * Segments are copied with copyWithin inside one buffer, so nothing is allocated per packet, and their checksums
 * are summed in one addon call (the per-byte work; what is summed and where it goes is decided here).
 */
import type { PacketBatch } from '../../packet/batch.js';
import { put16, put32, read32 } from '../../packet/bytes.js';
import { nativeChecksum as native } from '../../native/checksum.js';
import { checksumAdd, fold16, pseudoHeaderSum, setIpv4HeaderChecksum } from '../../packet/checksum.js';
import {
  IPPROTO_TCP, IPPROTO_UDP, IPV4_MIN_HEADER_BYTES, IPV4_SOURCE_OFFSET, IPV6_HEADER_BYTES, IPV6_SOURCE_OFFSET,
  TCP_CSUM_OFFSET, TCP_FLAG_CWR, TCP_FLAG_FIN, TCP_FLAG_PSH, TCP_FLAGS_OFFSET, TCP_HEADER_MAX_BYTES,
  TCP_HEADER_MIN_BYTES, TCP_SEQ_OFFSET, UDP_CSUM_OFFSET, UDP_HEADER_BYTES,
} from '../../packet/ip-header.js';
import {
  VNET_HDR_GSO_ECN,
  VNET_HDR_GSO_TCPV4,
  VNET_HDR_GSO_TCPV6,
  VNET_HDR_GSO_UDP_L4,
  type VnetHeader,
} from './vnet-header.js';

/**
 * Validates a super-packet buf[off, off+len) against its header h. Returns the number of segments it splits into,
 * or -1 when it is malformed (drop it). On success h.hdrLen is the true header length (IP + transport).
 */
export function gsoCheck(buf: Uint8Array, off: number, len: number, h: VnetHeader): number {
  if (len < IPV4_MIN_HEADER_BYTES || off < 0 || off + len > buf.length || h.gsoSize < 1) return -1;
  const type = h.gsoType & ~VNET_HDR_GSO_ECN;
  const version = buf[off]! >> 4;
  const cs = h.csumStart;
  let proto: number;
  if (type === VNET_HDR_GSO_TCPV4 || type === VNET_HDR_GSO_TCPV6) {
    if (version !== (type === VNET_HDR_GSO_TCPV4 ? 4 : 6) || h.csumOffset !== TCP_CSUM_OFFSET) return -1;
    proto = IPPROTO_TCP;
  } else if (type === VNET_HDR_GSO_UDP_L4) {
    if ((version !== 4 && version !== 6) || h.csumOffset !== UDP_CSUM_OFFSET) return -1;
    proto = IPPROTO_UDP;
  } else {
    return -1;
  }
  if (version === 4) {
    const ihl = (buf[off]! & 0x0f) * 4;
    if (ihl < IPV4_MIN_HEADER_BYTES || cs !== ihl || buf[off + 9] !== proto) return -1;
  } else {
    if (cs < IPV6_HEADER_BYTES || len < IPV6_HEADER_BYTES) return -1;
    if (cs === IPV6_HEADER_BYTES && buf[off + 6] !== proto) return -1;
  }
  let hdrLen: number;
  if (proto === IPPROTO_TCP) {
    if (len < cs + TCP_HEADER_MIN_BYTES) return -1;
    const thl = (buf[off + cs + 12]! >> 4) * 4;
    if (thl < TCP_HEADER_MIN_BYTES || thl > TCP_HEADER_MAX_BYTES) return -1;
    hdrLen = cs + thl;
  } else {
    hdrLen = cs + UDP_HEADER_BYTES;
  }
  if (len <= hdrLen) return -1;
  h.hdrLen = hdrLen;
  return Math.ceil((len - hdrLen) / h.gsoSize);
}

/**
 * Appends the segments of the super-packet buf[off, off+len) (buf === out.buf, outside out's slots) to `out`.
 * Call gsoCheck first; the caller makes sure `out` has room for every segment and that a segment (h.hdrLen +
 * h.gsoSize) fits a slot (else RangeError, nothing written). Returns the number of segments appended.
 */
export function gsoSplit(out: PacketBatch, off: number, len: number, h: VnetHeader): number {
  const sums = segmentSums(out.capacity);
  const buf = out.buf;
  const hdrLen = h.hdrLen;
  const gso = h.gsoSize;
  const cs = h.csumStart;
  const n = Math.ceil((len - hdrLen) / gso);
  if (out.capacity - out.count < n) throw new RangeError(`no room for ${n} segments`);
  if (hdrLen + gso > out.maxPacketSize) throw new RangeError(`segment of ${hdrLen + gso} bytes does not fit a slot`);
  const v4 = buf[off]! >> 4 === 4;
  const tcp = (h.gsoType & ~VNET_HDR_GSO_ECN) !== VNET_HDR_GSO_UDP_L4;
  const addrOff = v4 ? IPV4_SOURCE_OFFSET : IPV6_SOURCE_OFFSET;
  const addrLen = v4 ? 4 : 16;
  // The pseudo-header sum without the length: the same for every segment.
  const proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
  const pseudo = pseudoHeaderSum(buf, off + addrOff, addrLen, proto, 0);
  const seq0 = tcp ? read32(buf, off + cs + TCP_SEQ_OFFSET) : 0;
  const id0 = v4 ? (buf[off + 4]! << 8) | buf[off + 5]! : 0;
  const flags0 = tcp ? buf[off + cs + TCP_FLAGS_OFFSET]! : 0;
  const csumAt = cs + (tcp ? TCP_CSUM_OFFSET : UDP_CSUM_OFFSET);
  for (let i = 0; i < n; i++) {
    const dataAt = off + hdrLen + i * gso;
    const dataLen = Math.min(gso, off + len - dataAt);
    const segLen = hdrLen + dataLen;
    const at = out.next();
    buf.copyWithin(at, off, off + hdrLen);
    buf.copyWithin(at + hdrLen, dataAt, dataAt + dataLen);
    if (v4) {
      put16(buf, at + 2, segLen);
      put16(buf, at + 4, (id0 + i) & 0xffff);
      setIpv4HeaderChecksum(buf, at, cs);
    } else {
      put16(buf, at + 4, segLen - IPV6_HEADER_BYTES);
    }
    if (tcp) {
      put32(buf, at + cs + TCP_SEQ_OFFSET, (seq0 + i * gso) >>> 0);
      let flags = flags0;
      if (i < n - 1) flags &= ~(TCP_FLAG_FIN | TCP_FLAG_PSH);
      if (i > 0) flags &= ~TCP_FLAG_CWR;
      buf[at + cs + TCP_FLAGS_OFFSET] = flags;
    } else {
      put16(buf, at + cs + 4, segLen - cs);
    }
    buf[at + csumAt] = 0;
    buf[at + csumAt + 1] = 0;
    // The transport checksum: summed for every segment at once below.
    sums.offsets[i] = at + cs;
    sums.lengths[i] = segLen - cs;
    sums.values[i] = pseudo + segLen - cs;
    out.commit(segLen);
  }
  native().checksumBatch(buf, sums.offsets, sums.lengths, sums.values, n);
  for (let i = 0; i < n; i++) {
    let c = ~sums.values[i]! & 0xffff;
    if (!tcp && c === 0) c = 0xffff; // a UDP checksum of 0 means none: send 0xffff (RFC 768)
    put16(buf, sums.offsets[i]! + csumAt - cs, c);
  }
  return n;
}

/** The ranges of one split for native().checksumBatch: preallocated, grown to the largest batch seen. */
interface SegmentSums {
  offsets: Int32Array;
  lengths: Int32Array;
  /** In: each range's starting sum (the pseudo-header); out: its folded sum. */
  values: Int32Array;
}

let sumsCache: SegmentSums | undefined;

function segmentSums(capacity: number): SegmentSums {
  if (sumsCache === undefined || sumsCache.offsets.length < capacity) {
    sumsCache = { offsets: new Int32Array(capacity), lengths: new Int32Array(capacity), values: new Int32Array(capacity) };
  }
  return sumsCache;
}

/**
 * Completes a NEEDS_CSUM packet buf[off, off+len): the field at csum_start + csum_offset holds the pseudo-header
 * sum; the checksum over csum_start..end (that field included) replaces it. Returns false when the offsets do not
 * fit the packet (drop it).
 */
export function finishChecksum(buf: Uint8Array, off: number, len: number, h: VnetHeader): boolean {
  const cs = h.csumStart;
  const at = cs + h.csumOffset;
  if (at + 2 > len || off + len > buf.length) return false;
  let c = ~fold16(checksumAdd(buf, off + cs, len - cs, 0)) & 0xffff;
  if (c === 0 && isUdp(buf, off, cs)) c = 0xffff;
  put16(buf, off + at, c);
  return true;
}

function isUdp(buf: Uint8Array, off: number, cs: number): boolean {
  const v = buf[off]! >> 4;
  if (v === 4) return buf[off + 9] === IPPROTO_UDP;
  return v === 6 && cs === IPV6_HEADER_BYTES && buf[off + 6] === IPPROTO_UDP;
}
