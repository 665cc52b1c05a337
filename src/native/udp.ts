/**
 * Batched UDP sockets (native/src/udp.cc, udp_batch.cc, udp_offload.cc): recvmmsg/sendmmsg over address arenas of
 * ADDR_SLOT-byte slots (src/net/addr-slot.ts), UDP GSO/GRO, packet info for the sticky source, socket options, and
 * the interface index ↔ name lookups that IPv6 zones need.
 */
import type { NativeFdLifecycle } from './fd-lifecycle.js';
import { loadAddon } from './load.js';

/**
 * The send report of sendmmsg/sendmmsgGso (an Int32Array the addon adds to; native/src/udp.h): groups the kernel
 * would not segment and the errno of the last, and datagrams sent without the source their local slot named.
 */
export const SEND_REPORT_GROUPS_REFUSED = 0;
export const SEND_REPORT_REFUSED_ERRNO = 1;
export const SEND_REPORT_UNSOURCED = 2;
export const SEND_REPORT_LENGTH = 3;

/** The UDP socket calls, with what a socket fd needs from open to close (NativeFdLifecycle). */
export interface NativeUdp extends NativeFdLifecycle {
  /** socket(7), udp(7), ip(7), ipv6(7). */
  readonly constants: NativeFdLifecycle['constants'] & {
    SOL_SOCKET: number;
    SO_MARK: number;
    SO_RCVBUF: number;
    SO_SNDBUF: number;
    SO_RCVBUFFORCE: number;
    SO_SNDBUFFORCE: number;
    SOL_UDP: number;
    UDP_SEGMENT: number;
    UDP_GRO: number;
    /** Most datagrams the kernel segments from one UDP_SEGMENT send (64). */
    UDP_MAX_SEGMENTS: number;
    IPPROTO_IP: number;
    /** IPv4 socket option: report each datagram's local address and interface (ip(7)). */
    IP_PKTINFO: number;
    IPPROTO_IPV6: number;
    /** IPv6 socket option: report each datagram's local address and interface (ipv6(7)). */
    IPV6_RECVPKTINFO: number;
  };
  /**
   * A non-blocking UDP socket bound to address:port (port 0 = kernel picks; '' = any). family 6 sockets are
   * IPV6_V6ONLY when v6only is true. Returns the fd and the port actually bound.
   */
  udpOpen(family: 4 | 6, address: string, port: number, v6only: boolean): { fd: number; port: number };
  /** setsockopt with a C int value: -2^31..2^31-1 (pass an unsigned 32-bit option such as SO_MARK as `v | 0`). */
  setsockoptInt(fd: number, level: number, name: number, value: number): void;
  /** getsockopt of a C int option, as a signed 32-bit number (`>>> 0` gives an unsigned option's value). */
  getsockoptInt(fd: number, level: number, name: number): number;
  /** if_nametoindex(3): the index of interface `name` (at most 15 bytes) in this namespace; 0 when there is none. */
  ifNameToIndex(name: string): number;
  /** if_indextoname(3): the name of the interface with index `index` (1..2^32-1); undefined when there is none. */
  ifIndexToName(index: number): string | undefined;
  /**
   * recvmmsg: datagram i lands at arena[i*slotSize ...], its length in lengths[i], its source address in
   * addrs[i*ADDR_SLOT ...]. Returns the count (0 on EAGAIN). A datagram longer than slotSize is truncated and
   * reported with length -1 (to be dropped). IPv4-mapped IPv6 sources (dual-stack socket) are reported as
   * family 4. At most 64 datagrams per syscall; larger `max` loops while the socket keeps delivering.
   * With `locals`, local slot i (src/net/addr-slot.ts) gets the local address datagram i arrived on and the index of
   * the interface it arrived through, on a socket with IP_PKTINFO / IPV6_RECVPKTINFO on; family 0 when the kernel
   * did not say.
   */
  recvmmsg(fd: number, arena: Uint8Array, slotSize: number, lengths: Int32Array, addrs: Uint8Array, max: number, locals?: Uint8Array): number;
  /**
   * sendmmsg: datagram i is arena[offsets[i], offsets[i]+lengths[i]) to addrs[i*ADDR_SLOT ...]. Returns how many
   * were sent before EAGAIN. A per-datagram error other than EAGAIN (e.g. ENETUNREACH) skips that datagram and
   * counts it as handled, so one bad destination does not stall the batch. Family 4 destinations on an AF_INET6
   * socket are sent to ::ffff:a.b.c.d; family 6 destinations on an AF_INET socket are skipped that way too.
   * Every slot i < count must have family 4 or 6 (else RangeError before anything is sent).
   *
   * With `locals` (and then `report`, SEND_REPORT_LENGTH entries): a datagram whose local slot has a family is sent
   * from that address (IP_PKTINFO / IPV6_PKTINFO; the interface index is passed only for an IPv6 link-local source,
   * elsewhere the routing table picks the interface). When the kernel refuses the source (the address is no longer
   * on this host: EINVAL, or ENETUNREACH for IPv4 on current kernels), the datagram is sent again without one; if
   * that goes out, it and every later datagram of the batch with the same source have their local slot's family
   * byte set to 0 and are counted in report[SEND_REPORT_UNSOURCED]; if it fails the same way, the destination was at
   * fault: the datagram is dropped as any undeliverable one and keeps its source.
   */
  sendmmsg(
    fd: number,
    arena: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    addrs: Uint8Array,
    count: number,
    locals?: Uint8Array,
    report?: Int32Array,
  ): number;
  /**
   * sendmmsg with UDP_SEGMENT (UDP GSO). Datagrams 0..count-1 as in sendmmsg are sent in groups: group g is the
   * next groups[g] (1..UDP_MAX_SEGMENTS) datagrams, which must share one destination slot; a group of more than one
   * goes out as ONE message (one iovec per datagram) with a UDP_SEGMENT cmsg of the first datagram's length, so
   * every datagram but the last must have exactly that length and the last may be shorter, at most 65507 bytes in
   * all. Groups must cover exactly count datagrams (else RangeError before anything is sent; src/conn/gso.ts
   * builds valid groups). Returns how many datagrams were handled before EAGAIN, per-destination errors skip a
   * group as sendmmsg skips a datagram. When the kernel refuses the segmentation of a group (EIO: the route's
   * device cannot checksum; EINVAL/EMSGSIZE: a segment exceeds the path MTU) that group is sent as plain datagrams,
   * report[SEND_REPORT_GROUPS_REFUSED] is incremented and report[SEND_REPORT_REFUSED_ERRNO] set to the errno.
   * `locals` as in sendmmsg (a group must share one source; `report` then needs SEND_REPORT_LENGTH entries, else 2).
   */
  sendmmsgGso(
    fd: number,
    arena: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    addrs: Uint8Array,
    count: number,
    groups: Int32Array,
    groupCount: number,
    report: Int32Array,
    locals?: Uint8Array,
  ): number;
  /**
   * recvmmsg on a socket with UDP_GRO enabled: as recvmmsg, and segmentSizes[i] is the segment size the kernel
   * reported for message i (0 when it holds one datagram). A message of length L with segment size s > 0 is
   * ceil(L / s) datagrams back to back, each s bytes but the last. Use slots of 64 KiB so nothing is truncated.
   * `locals` as in recvmmsg (one local slot per message: every datagram of a message arrived on the same one).
   */
  recvmmsgGro(
    fd: number,
    arena: Uint8Array,
    slotSize: number,
    lengths: Int32Array,
    addrs: Uint8Array,
    segmentSizes: Int32Array,
    max: number,
    locals?: Uint8Array,
  ): number;
}

/** The addon's UDP calls; loads the addon on first use (throws when it is not built). */
export function nativeUdp(): NativeUdp {
  return loadAddon() as NativeUdp;
}
