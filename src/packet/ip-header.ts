/**
 * IP and transport header layout (RFC 791, RFC 8200, RFC 793, RFC 768, RFC 792/4443) and allocation-free readers.
 *
 * Readers take (buf, offset) and trust only what they check: call ipPacketLength first, which validates the
 * version and the header against the bytes available.
 */
import { read16, read32 } from './bytes.js';

/** IPv4 header without options (RFC 791); options make it up to 60. */
export const IPV4_MIN_HEADER_BYTES = 20;
export const IPV4_MAX_HEADER_BYTES = 60;
/** The fixed IPv6 header (RFC 8200). */
export const IPV6_HEADER_BYTES = 40;
/** Offsets of the source address inside the IPv4 / IPv6 header; the destination follows it. */
export const IPV4_SOURCE_OFFSET = 12;
export const IPV4_DESTINATION_OFFSET = 16;
export const IPV6_SOURCE_OFFSET = 8;
export const IPV6_DESTINATION_OFFSET = 24;
/** Largest IP packet: the IPv4 total length and the IPv6 payload length are 16-bit fields. */
export const MAX_IP_PACKET_BYTES = 65_535;

export const UDP_HEADER_BYTES = 8;
export const TCP_HEADER_MIN_BYTES = 20;
export const TCP_HEADER_MAX_BYTES = 60;
/** Where the checksum field sits inside a TCP / UDP header. */
export const TCP_CSUM_OFFSET = 16;
export const UDP_CSUM_OFFSET = 6;
export const TCP_SEQ_OFFSET = 4;
export const TCP_FLAGS_OFFSET = 13;
export const TCP_FLAG_FIN = 0x01;
export const TCP_FLAG_SYN = 0x02;
export const TCP_FLAG_RST = 0x04;
export const TCP_FLAG_PSH = 0x08;
export const TCP_FLAG_ACK = 0x10;
export const TCP_FLAG_URG = 0x20;
export const TCP_FLAG_ECE = 0x40;
export const TCP_FLAG_CWR = 0x80;

export const ICMP_ECHO_HEADER_BYTES = 8;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

export const ICMPV4_ECHO_REPLY = 0;
export const ICMPV4_ECHO_REQUEST = 8;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;

// ---- readers (no allocation) --------------------------------------------------------------------------------

/** The IP version nibble (4 or 6 for IP packets), 0 when no byte is available. */
export function ipVersion(buf: Uint8Array, off: number): number {
  return off < buf.length ? buf[off]! >> 4 : 0;
}

/**
 * The packet's own idea of its length (IPv4 total length, IPv6 40 + payload length), or -1 when the buffer does
 * not hold a well-formed header, the length is below the header size, or it exceeds `available` bytes.
 */
export function ipPacketLength(buf: Uint8Array, off: number, available: number): number {
  if (available < 1 || off + available > buf.length) return -1;
  const v = buf[off]! >> 4;
  if (v === 4) {
    if (available < IPV4_MIN_HEADER_BYTES) return -1;
    const ihl = (buf[off]! & 0x0f) * 4;
    const total = read16(buf, off + 2);
    if (ihl < IPV4_MIN_HEADER_BYTES || total < ihl || total > available) return -1;
    return total;
  }
  if (v === 6) {
    if (available < IPV6_HEADER_BYTES) return -1;
    const total = IPV6_HEADER_BYTES + read16(buf, off + 4);
    return total > available ? -1 : total;
  }
  return -1;
}

/** 4 or 16 bytes of address for IP version 4 or 6. */
export function ipAddressLength(version: number): number {
  return version === 4 ? 4 : 16;
}

/** Offset in buf of the source address of the packet at off. */
export function ipSourceOffset(buf: Uint8Array, off: number): number {
  return off + (buf[off]! >> 4 === 4 ? IPV4_SOURCE_OFFSET : IPV6_SOURCE_OFFSET);
}

/** Offset in buf of the destination address of the packet at off. */
export function ipDestinationOffset(buf: Uint8Array, off: number): number {
  return off + (buf[off]! >> 4 === 4 ? IPV4_DESTINATION_OFFSET : IPV6_DESTINATION_OFFSET);
}

/** IPv4 source address as an unsigned 32-bit number. */
export function ipv4Source(buf: Uint8Array, off: number): number {
  return read32(buf, off + IPV4_SOURCE_OFFSET);
}

/** IPv4 destination address as an unsigned 32-bit number. */
export function ipv4Destination(buf: Uint8Array, off: number): number {
  return read32(buf, off + IPV4_DESTINATION_OFFSET);
}
