/**
 * Small IP packet helpers for the device and for tests.
 *
 * Readers take (buf, offset) and allocate nothing; they trust only what they check: call ipPacketLength first,
 * which validates the version and the header against the bytes available.
 * Builders make IPv4/IPv6 ICMP echo and UDP packets with valid checksums (tests; ICMP errors later).
 */
import { parseIp, formatIp, type IpAddress } from '../util/ip.js';

export const IPV4_MIN_HEADER_BYTES = 20;
export const IPV6_HEADER_BYTES = 40;
export const UDP_HEADER_BYTES = 8;
export const ICMP_ECHO_HEADER_BYTES = 8;

export const IPPROTO_ICMP = 1;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

export const ICMPV4_ECHO_REPLY = 0;
export const ICMPV4_ECHO_REQUEST = 8;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;

const DEFAULT_TTL = 64;
const IPV4_FLAG_DONT_FRAGMENT = 0x4000;
const MAX_IP_PACKET_BYTES = 65_535;

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
    const total = (buf[off + 2]! << 8) | buf[off + 3]!;
    if (ihl < IPV4_MIN_HEADER_BYTES || total < ihl || total > available) return -1;
    return total;
  }
  if (v === 6) {
    if (available < IPV6_HEADER_BYTES) return -1;
    const total = IPV6_HEADER_BYTES + ((buf[off + 4]! << 8) | buf[off + 5]!);
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
  return off + (buf[off]! >> 4 === 4 ? 12 : 8);
}

/** Offset in buf of the destination address of the packet at off. */
export function ipDestinationOffset(buf: Uint8Array, off: number): number {
  return off + (buf[off]! >> 4 === 4 ? 16 : 24);
}

/** IPv4 source address as an unsigned 32-bit number. */
export function ipv4Source(buf: Uint8Array, off: number): number {
  return readU32(buf, off + 12);
}

/** IPv4 destination address as an unsigned 32-bit number. */
export function ipv4Destination(buf: Uint8Array, off: number): number {
  return readU32(buf, off + 16);
}

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

// ---- checksums ----------------------------------------------------------------------------------------------

/** Adds buf[off, off+len) as big-endian 16-bit words to a running 32-bit sum (RFC 1071), unfolded. */
export function checksumAdd(sum: number, buf: Uint8Array, off: number, len: number): number {
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  // Fold now and then so the sum stays an exact integer whatever the length.
  return foldCarries(sum);
}

function foldCarries(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The Internet checksum (ones' complement of the ones' complement sum) of buf[off, off+len), plus `initial`. */
export function internetChecksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  return ~checksumAdd(initial, buf, off, len) & 0xffff;
}

function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, upperLength: number): number {
  let sum = checksumAdd(0, src, 0, src.length);
  sum = checksumAdd(sum, dst, 0, dst.length);
  // IPv4: zero, protocol, 16-bit length. IPv6: 32-bit length, 3 zero bytes, next header. Same word sum either way.
  return foldCarries(sum + protocol + (upperLength >>> 16) + (upperLength & 0xffff));
}

// ---- builders -----------------------------------------------------------------------------------------------

export interface IcmpEchoOptions {
  src: string | IpAddress;
  dst: string | IpAddress;
  id: number;
  seq: number;
  payload?: Uint8Array;
  /** Build an echo reply instead of a request. */
  reply?: boolean;
  ttl?: number;
}

/** An IPv4 ICMP or IPv6 ICMPv6 echo request/reply (family from the addresses) with valid checksums. */
export function buildIcmpEcho(opts: IcmpEchoOptions): Uint8Array {
  const { src, dst, family } = addressPair(opts.src, opts.dst);
  const payload = opts.payload ?? new Uint8Array(0);
  const body = new Uint8Array(ICMP_ECHO_HEADER_BYTES + payload.length);
  body[0] = family === 4 ? (opts.reply ? ICMPV4_ECHO_REPLY : ICMPV4_ECHO_REQUEST) : opts.reply ? ICMPV6_ECHO_REPLY : ICMPV6_ECHO_REQUEST;
  writeU16(body, 4, opts.id);
  writeU16(body, 6, opts.seq);
  body.set(payload, ICMP_ECHO_HEADER_BYTES);
  const protocol = family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
  // ICMPv4 sums the message alone; ICMPv6 includes the IPv6 pseudo-header (RFC 4443 §2.3).
  const initial = family === 4 ? 0 : pseudoHeaderSum(src, dst, protocol, body.length);
  writeU16(body, 2, internetChecksum(body, 0, body.length, initial));
  return wrapIp(family, src, dst, protocol, body, opts.ttl ?? DEFAULT_TTL);
}

export interface UdpOptions {
  src: string | IpAddress;
  dst: string | IpAddress;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
  ttl?: number;
}

/** An IPv4 or IPv6 UDP packet with valid IP header and UDP checksums. */
export function buildUdp(opts: UdpOptions): Uint8Array {
  const { src, dst, family } = addressPair(opts.src, opts.dst);
  const body = new Uint8Array(UDP_HEADER_BYTES + opts.payload.length);
  writeU16(body, 0, opts.srcPort);
  writeU16(body, 2, opts.dstPort);
  writeU16(body, 4, body.length);
  body.set(opts.payload, UDP_HEADER_BYTES);
  const sum = internetChecksum(body, 0, body.length, pseudoHeaderSum(src, dst, IPPROTO_UDP, body.length));
  // A computed 0 is sent as 0xffff: 0 means "no checksum" for IPv4 and is forbidden for IPv6 (RFC 768, 8200).
  writeU16(body, 6, sum === 0 ? 0xffff : sum);
  return wrapIp(family, src, dst, IPPROTO_UDP, body, opts.ttl ?? DEFAULT_TTL);
}

function wrapIp(family: 4 | 6, src: Uint8Array, dst: Uint8Array, protocol: number, body: Uint8Array, ttl: number): Uint8Array {
  const header = family === 4 ? IPV4_MIN_HEADER_BYTES : IPV6_HEADER_BYTES;
  const total = header + body.length;
  if (total > MAX_IP_PACKET_BYTES) throw new RangeError(`packet of ${total} bytes exceeds ${MAX_IP_PACKET_BYTES}`);
  const p = new Uint8Array(total);
  if (family === 4) {
    p[0] = 0x45;
    writeU16(p, 2, total);
    writeU16(p, 6, IPV4_FLAG_DONT_FRAGMENT);
    p[8] = ttl;
    p[9] = protocol;
    p.set(src, 12);
    p.set(dst, 16);
    writeU16(p, 10, internetChecksum(p, 0, IPV4_MIN_HEADER_BYTES));
  } else {
    p[0] = 0x60;
    writeU16(p, 4, body.length);
    p[6] = protocol;
    p[7] = ttl;
    p.set(src, 8);
    p.set(dst, 24);
  }
  p.set(body, header);
  return p;
}

function addressPair(a: string | IpAddress, b: string | IpAddress): { src: Uint8Array; dst: Uint8Array; family: 4 | 6 } {
  const src = toIp(a);
  const dst = toIp(b);
  if (src.family !== dst.family) throw new Error(`source ${formatIp(src)} and destination ${formatIp(dst)} differ in family`);
  return { src: src.bytes, dst: dst.bytes, family: src.family };
}

function toIp(a: string | IpAddress): IpAddress {
  if (typeof a !== 'string') return a;
  const ip = parseIp(a);
  if (!ip) throw new Error(`invalid IP address "${a}"`);
  return ip;
}

function writeU16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >> 8) & 0xff;
  buf[at + 1] = v & 0xff;
}

// ---- parsed views for tests and diagnostics (allocate) -------------------------------------------------------

export interface ParsedTransport {
  version: 4 | 6;
  src: string;
  dst: string;
  protocol: number;
  /** The transport header and payload (a view). */
  body: Uint8Array;
}

/** Splits an IP packet without extension headers into addresses and transport body; undefined if malformed. */
export function parseIpPacket(packet: Uint8Array): ParsedTransport | undefined {
  const total = ipPacketLength(packet, 0, packet.length);
  if (total < 0) return undefined;
  const version = ipVersion(packet, 0) as 4 | 6;
  const header = version === 4 ? (packet[0]! & 0x0f) * 4 : IPV6_HEADER_BYTES;
  const alen = ipAddressLength(version);
  const s = ipSourceOffset(packet, 0);
  const d = ipDestinationOffset(packet, 0);
  return {
    version,
    src: formatIp(packet.subarray(s, s + alen)),
    dst: formatIp(packet.subarray(d, d + alen)),
    protocol: version === 4 ? packet[9]! : packet[6]!,
    body: packet.subarray(header, total),
  };
}
