/**
 * ICMP "destination unreachable" for packets the TUN gave us that route to no peer, as the kernel's WireGuard
 * answers them (icmp_ndo_send / icmpv6_ndo_send with HOST_UNREACH / ADDR_UNREACH when no allowed IP matches).
 *
 *   IPv4: type 3 code 1 (host unreachable), quoting the IP header + the first 8 bytes of data (RFC 792).
 *   IPv6: type 1 code 3 (address unreachable), quoting as much of the packet as keeps the reply within the IPv6
 *         minimum MTU of 1280 bytes (RFC 4443 §3.1).
 *
 * The reply goes back up the TUN with the original destination as its source (the address the sender tried to
 * reach, which is what it expects an answer from; we know no address of our own interface) and the original
 * source as its destination. No reply (RFC 1122 §3.2.2, RFC 4443 §2.4(e)) to: an ICMP error or an unknown ICMP
 * type, a non-first IPv4 fragment, a multicast/broadcast destination, or a source that is unspecified, loopback,
 * multicast or broadcast, nor to anything malformed. Replies are limited to ICMP_UNREACHABLE_PER_S per device
 * with a burst of ICMP_UNREACHABLE_BURST (the kernel's global ICMP limit: net.ipv4.icmp_msgs_per_sec = 1000,
 * icmp_msgs_burst = 50), so a local flood to unrouted addresses cannot turn into a flood of replies.
 *
 * Replies are built straight into a preallocated batch (no allocation per packet) and written with one
 * tun.write() per wake-up by the send pipeline. Runs on the event loop only.
 */
import { PacketBatch } from '../packet/batch.js';
import { TokenBucket } from '../protocol/index.js';
import { checksumAdd, fold16, pseudoHeaderSum } from '../packet/checksum.js';
import {
  IPPROTO_ICMP, IPPROTO_ICMPV6, IPV4_MIN_HEADER_BYTES, IPV6_HEADER_BYTES, ipPacketLength,
} from '../packet/ip-header.js';
import type { Tun } from '../tun/tun.js';

/** Unreachable replies per second per device (the kernel's icmp_msgs_per_sec). */
export const ICMP_UNREACHABLE_PER_S = 1000;
/** Replies allowed back to back before the rate applies (the kernel's icmp_msgs_burst). */
export const ICMP_UNREACHABLE_BURST = 50;
/** The IPv6 minimum MTU: an ICMPv6 error never exceeds it (RFC 4443 §2.4(c)). */
export const IPV6_MIN_MTU_BYTES = 1280;

export const ICMPV4_DEST_UNREACH = 3;
export const ICMPV4_HOST_UNREACH = 1;
export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_ADDR_UNREACH = 3;

/** type(1) code(1) checksum(2) unused(4). */
const ICMP_ERROR_HEADER_BYTES = 8;
/** RFC 792: the quoted datagram is its IP header plus this many bytes of its data. */
const IPV4_QUOTED_DATA_BYTES = 8;
const IPV4_MAX_HEADER_BYTES = 60;
const IPV4_REPLY_MAX_BYTES = IPV4_MIN_HEADER_BYTES + ICMP_ERROR_HEADER_BYTES + IPV4_MAX_HEADER_BYTES + IPV4_QUOTED_DATA_BYTES;
const IPV6_QUOTE_MAX_BYTES = IPV6_MIN_MTU_BYTES - IPV6_HEADER_BYTES - ICMP_ERROR_HEADER_BYTES;
/** A slot holds the largest reply of either family. */
const REPLY_SLOT_BYTES = Math.max(IPV4_REPLY_MAX_BYTES, IPV6_MIN_MTU_BYTES);

const DEFAULT_TTL = 64;
/** Type of service of ICMP errors: precedence "internetwork control", as the kernel sends them. */
const IPTOS_PREC_INTERNETCONTROL = 0xc0;
const IPV4_FRAGMENT_OFFSET_MASK = 0x1fff;
const IPV4_MULTICAST_FIRST_OCTET = 224; // 224/4 multicast, 240/4 reserved, 255.255.255.255 broadcast: all ≥ 224
const IPV4_THIS_NETWORK_OCTET = 0;
const IPV4_LOOPBACK_OCTET = 127;
const IPV6_MULTICAST_OCTET = 0xff;
/** ICMPv6 types below this are errors (RFC 4443 §2.1). */
const ICMPV6_INFO_MIN_TYPE = 128;
/** ICMPv4 informational types (echo, router adv/sol, timestamp, info, address mask); everything else is an error or unknown. */
const ICMPV4_INFO_TYPES = new Set([0, 8, 9, 10, 13, 14, 15, 16, 17, 18]);
/** IPv6 extension headers we walk to find the upper-layer protocol. */
const IPV6_HOP_BY_HOP = 0;
const IPV6_ROUTING = 43;
const IPV6_FRAGMENT = 44;
const IPV6_AH = 51;
const IPV6_DEST_OPTS = 60;
const IPV6_FRAGMENT_HEADER_BYTES = 8;
const IPV6_FRAGMENT_OFFSET_MASK = 0xfff8;
/** Extension headers walked at most; a longer chain is not answered. */
const IPV6_MAX_EXTENSION_HEADERS = 8;

export type UnreachableOutcome = 'queued' | 'ineligible' | 'rateLimited';

export class UnreachableReplies {
  /** Replies built and not yet written. */
  readonly out: PacketBatch;
  private readonly bucket: TokenBucket;

  constructor(batchSize: number, perSecond = ICMP_UNREACHABLE_PER_S, burst = ICMP_UNREACHABLE_BURST) {
    this.out = new PacketBatch(batchSize, REPLY_SLOT_BYTES);
    this.bucket = new TokenBucket(perSecond, burst);
  }

  /**
   * Builds the unreachable reply to the IP packet at buf[off, off+len) into the batch, unless the packet must not
   * be answered or the rate limit is spent. When the batch is full it is written to `tun` first.
   */
  answer(buf: Uint8Array, off: number, len: number, now: number, tun: Tun): UnreachableOutcome {
    const total = ipPacketLength(buf, off, len);
    if (total < 0) return 'ineligible';
    const v = buf[off]! >> 4;
    const eligible = v === 4 ? ipv4Eligible(buf, off, total) : ipv6Eligible(buf, off, total);
    if (!eligible) return 'ineligible';
    if (!this.bucket.allow(now)) return 'rateLimited';
    let at = this.out.next();
    if (at < 0) {
      this.flush(tun);
      at = this.out.next();
    }
    const n = v === 4 ? buildIpv4(buf, off, total, this.out.buf, at) : buildIpv6(buf, off, total, this.out.buf, at);
    this.out.commit(n);
    return 'queued';
  }

  /** Writes the queued replies with one tun.write(); returns how many. */
  flush(tun: Tun): number {
    const n = this.out.count;
    if (n === 0) return 0;
    tun.write(this.out);
    this.out.reset();
    return n;
  }
}

/* ---------------- IPv4 ---------------- */

function ipv4Eligible(buf: Uint8Array, off: number, total: number): boolean {
  const src = buf[off + 12]!;
  if (src === IPV4_THIS_NETWORK_OCTET || src === IPV4_LOOPBACK_OCTET || src >= IPV4_MULTICAST_FIRST_OCTET) return false;
  const dst = buf[off + 16]!;
  if (dst === IPV4_THIS_NETWORK_OCTET || dst >= IPV4_MULTICAST_FIRST_OCTET) return false;
  if ((((buf[off + 6]! << 8) | buf[off + 7]!) & IPV4_FRAGMENT_OFFSET_MASK) !== 0) return false;
  if (buf[off + 9] === IPPROTO_ICMP) {
    const ihl = (buf[off]! & 0x0f) * 4;
    if (total <= ihl) return false; // no type byte to tell an error from a query
    if (!ICMPV4_INFO_TYPES.has(buf[off + ihl]!)) return false;
  }
  return true;
}

/** Writes the reply at dst[at] and returns its length. The packet was checked by ipv4Eligible. */
function buildIpv4(src: Uint8Array, off: number, total: number, dst: Uint8Array, at: number): number {
  const ihl = (src[off]! & 0x0f) * 4;
  const quote = Math.min(total, ihl + IPV4_QUOTED_DATA_BYTES);
  const icmpLen = ICMP_ERROR_HEADER_BYTES + quote;
  const length = IPV4_MIN_HEADER_BYTES + icmpLen;
  dst.fill(0, at, at + IPV4_MIN_HEADER_BYTES + ICMP_ERROR_HEADER_BYTES);
  dst[at] = 0x45;
  dst[at + 1] = IPTOS_PREC_INTERNETCONTROL;
  writeU16(dst, at + 2, length);
  dst[at + 8] = DEFAULT_TTL;
  dst[at + 9] = IPPROTO_ICMP;
  copy(src, off + 16, dst, at + 12, 4); // source: the address that was unreachable
  copy(src, off + 12, dst, at + 16, 4); // destination: whoever sent it
  writeU16(dst, at + 10, ~fold16(checksumAdd(dst, at, IPV4_MIN_HEADER_BYTES, 0)) & 0xffff);
  const icmp = at + IPV4_MIN_HEADER_BYTES;
  dst[icmp] = ICMPV4_DEST_UNREACH;
  dst[icmp + 1] = ICMPV4_HOST_UNREACH;
  copy(src, off, dst, icmp + ICMP_ERROR_HEADER_BYTES, quote);
  writeU16(dst, icmp + 2, ~fold16(checksumAdd(dst, icmp, icmpLen, 0)) & 0xffff);
  return length;
}

/* ---------------- IPv6 ---------------- */

function ipv6Eligible(buf: Uint8Array, off: number, total: number): boolean {
  const src = off + 8;
  const dst = off + 24;
  if (buf[src] === IPV6_MULTICAST_OCTET || buf[dst] === IPV6_MULTICAST_OCTET) return false;
  if (isZero(buf, src, 16) || isLoopback6(buf, src) || isZero(buf, dst, 16)) return false;
  // Find the upper-layer protocol behind any extension headers: an ICMPv6 error is never answered.
  const end = off + total;
  let next = buf[off + 6]!;
  let p = off + IPV6_HEADER_BYTES;
  for (let i = 0; i < IPV6_MAX_EXTENSION_HEADERS; i++) {
    if (next === IPV6_HOP_BY_HOP || next === IPV6_ROUTING || next === IPV6_DEST_OPTS || next === IPV6_AH) {
      if (p + 2 > end) return false;
      const hlen = next === IPV6_AH ? (buf[p + 1]! + 2) * 4 : (buf[p + 1]! + 1) * 8;
      next = buf[p]!;
      p += hlen;
    } else if (next === IPV6_FRAGMENT) {
      if (p + IPV6_FRAGMENT_HEADER_BYTES > end) return false;
      // A later fragment carries no upper-layer header: not an error message we could recognise (kernel: answer).
      if ((((buf[p + 2]! << 8) | buf[p + 3]!) & IPV6_FRAGMENT_OFFSET_MASK) !== 0) return true;
      next = buf[p]!;
      p += IPV6_FRAGMENT_HEADER_BYTES;
    } else if (next === IPPROTO_ICMPV6) {
      return p < end && buf[p]! >= ICMPV6_INFO_MIN_TYPE;
    } else {
      return true;
    }
  }
  return false;
}

/** Writes the reply at dst[at] and returns its length. The packet was checked by ipv6Eligible. */
function buildIpv6(src: Uint8Array, off: number, total: number, dst: Uint8Array, at: number): number {
  const quote = Math.min(total, IPV6_QUOTE_MAX_BYTES);
  const icmpLen = ICMP_ERROR_HEADER_BYTES + quote;
  dst.fill(0, at, at + IPV6_HEADER_BYTES + ICMP_ERROR_HEADER_BYTES);
  dst[at] = 0x60;
  writeU16(dst, at + 4, icmpLen);
  dst[at + 6] = IPPROTO_ICMPV6;
  dst[at + 7] = DEFAULT_TTL;
  copy(src, off + 24, dst, at + 8, 16); // source: the address that was unreachable
  copy(src, off + 8, dst, at + 24, 16); // destination: whoever sent it
  const icmp = at + IPV6_HEADER_BYTES;
  dst[icmp] = ICMPV6_DEST_UNREACH;
  dst[icmp + 1] = ICMPV6_ADDR_UNREACH;
  copy(src, off, dst, icmp + ICMP_ERROR_HEADER_BYTES, quote);
  // The ICMPv6 checksum covers the pseudo-header (source, destination, length, next header 58) too.
  const initial = pseudoHeaderSum(dst, at + 8, 16, IPPROTO_ICMPV6, icmpLen);
  writeU16(dst, icmp + 2, ~fold16(checksumAdd(dst, icmp, icmpLen, initial)) & 0xffff);
  return IPV6_HEADER_BYTES + icmpLen;
}

/* ---------------- bytes ---------------- */

function isZero(buf: Uint8Array, at: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (buf[at + i] !== 0) return false;
  return true;
}

function isLoopback6(buf: Uint8Array, at: number): boolean {
  return isZero(buf, at, 15) && buf[at + 15] === 1;
}

/** A byte loop instead of set(subarray()): no view object per packet. */
function copy(src: Uint8Array, from: number, dst: Uint8Array, to: number, n: number): void {
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
}

function writeU16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >> 8) & 0xff;
  buf[at + 1] = v & 0xff;
}
