/**
 * virtio_net_hdr (include/uapi/linux/virtio_net.h): the 10-byte header a TUN opened with IFF_VNET_HDR puts before
 * every packet it reads and expects before every packet written. Fields are little-endian (the host order of the
 * machines we run on; the kernel's TUN uses the host order for a legacy 10-byte header on little-endian hosts).
 *
 *   [0]     flags        NEEDS_CSUM: the checksum at csum_start + csum_offset holds only the pseudo-header sum
 *   [1]     gso_type     NONE, TCPV4, UDP (UFO), TCPV6, UDP_L4 (USO); bit 7 = ECN
 *   [2..3]  hdr_len      bytes of headers (IP + transport), a hint the kernel may get wrong: we recompute it
 *   [4..5]  gso_size     payload bytes per segment (the MSS)
 *   [6..7]  csum_start   where checksumming starts: the transport header
 *   [8..9]  csum_offset  where the checksum field is, from csum_start (TCP: 16, UDP: 6)
 */

export const VNET_HDR_BYTES = 10;

export const VNET_HDR_F_NEEDS_CSUM = 1;
export const VNET_HDR_F_DATA_VALID = 2;

export const VNET_HDR_GSO_NONE = 0;
export const VNET_HDR_GSO_TCPV4 = 1;
export const VNET_HDR_GSO_UDP = 3;
export const VNET_HDR_GSO_TCPV6 = 4;
export const VNET_HDR_GSO_UDP_L4 = 5;
export const VNET_HDR_GSO_ECN = 0x80;

/** A decoded header: reused by readers (parse fills it in place), so no object is made per packet. */
export interface VnetHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export function emptyVnetHeader(): VnetHeader {
  return { flags: 0, gsoType: VNET_HDR_GSO_NONE, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
}

/** Decodes buf[off, off+10) into `into`. Throws RangeError when fewer than 10 bytes are there. */
export function parseVnetHeader(buf: Uint8Array, off: number, into: VnetHeader): VnetHeader {
  if (off < 0 || off + VNET_HDR_BYTES > buf.length) throw new RangeError(`virtio_net_hdr needs ${VNET_HDR_BYTES} bytes at ${off}`);
  into.flags = buf[off]!;
  into.gsoType = buf[off + 1]!;
  into.hdrLen = buf[off + 2]! | (buf[off + 3]! << 8);
  into.gsoSize = buf[off + 4]! | (buf[off + 5]! << 8);
  into.csumStart = buf[off + 6]! | (buf[off + 7]! << 8);
  into.csumOffset = buf[off + 8]! | (buf[off + 9]! << 8);
  return into;
}

/** Encodes `h` into buf[off, off+10). */
export function formatVnetHeader(h: VnetHeader, buf: Uint8Array, off: number): void {
  if (off < 0 || off + VNET_HDR_BYTES > buf.length) throw new RangeError(`virtio_net_hdr needs ${VNET_HDR_BYTES} bytes at ${off}`);
  buf[off] = h.flags;
  buf[off + 1] = h.gsoType;
  put16le(buf, off + 2, h.hdrLen);
  put16le(buf, off + 4, h.gsoSize);
  put16le(buf, off + 6, h.csumStart);
  put16le(buf, off + 8, h.csumOffset);
}

/** Writes an all-zero header (a plain packet: no GSO, checksum complete). */
export function zeroVnetHeader(buf: Uint8Array, off: number): void {
  buf.fill(0, off, off + VNET_HDR_BYTES);
}

function put16le(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
}
