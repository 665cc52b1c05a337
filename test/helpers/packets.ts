/**
 * Test packets: IPv4/IPv6 ICMP echo and UDP packets with valid checksums, and a parsed view of an IP packet.
 * Test-only: the daemon never builds these.
 */
import { checksumAdd, fold16, internetChecksum } from '../../src/packet/checksum.js';
import {
  ICMP_ECHO_HEADER_BYTES, ICMPV4_ECHO_REPLY, ICMPV4_ECHO_REQUEST, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST,
  IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_UDP, IPV4_MIN_HEADER_BYTES, IPV6_HEADER_BYTES, MAX_IP_PACKET_BYTES,
  UDP_HEADER_BYTES, ipAddressLength, ipDestinationOffset, ipPacketLength, ipSourceOffset, ipVersion,
} from '../../src/packet/ip-header.js';
import { put16 as writeU16 } from '../../src/packet/bytes.js';
import { formatIp, parseIp, type IpAddress } from '../../src/net/ip.js';

const DEFAULT_TTL = 64;
const IPV4_FLAG_DONT_FRAGMENT = 0x4000;


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

/** The unfolded pseudo-header sum for two separate address arrays (see packet/checksum.ts for one buffer). */
function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, upperLength: number): number {
  return fold16(checksumAdd(dst, 0, dst.length, checksumAdd(src, 0, src.length, protocol + upperLength)));
}
