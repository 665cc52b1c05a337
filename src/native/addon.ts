/**
 * The typed face of the native addon (native/src/*.cc, built to native/build/Release/tunvpn.node). The addon
 * does syscalls only: no protocol logic.
 *
 * Conventions shared by every function:
 * - Failures throw a NativeError: `code` is the errno name ('EPERM', 'EBUSY', ...), `errno` the (positive) errno
 *   number, `syscall` what was attempted (e.g. 'ioctl(TUNSETIFF)'); the message reads "EPERM: ioctl(TUNSETIFF): ...".
 * - Bad arguments (wrong type, out-of-range integer, arena/array too small for the batch) throw a TypeError
 *   (code 'ERR_INVALID_ARG_TYPE') or RangeError (code 'ERR_OUT_OF_RANGE') before any syscall.
 * - EAGAIN/EWOULDBLOCK never throws: batch calls return how many items they handled (possibly 0), and single
 *   writes return -1.
 * - Buffers are borrowed only for the duration of the call; nothing is retained.
 * - Every fd the addon opens is O_NONBLOCK and O_CLOEXEC.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

/**
 * A uv_poll watcher on an fd, driven by the Node event loop (no threadpool). One watcher per fd; close the
 * watcher before closing the fd. A started watcher keeps itself (and the event loop) alive until stop()/close().
 * The callback runs in a normal Node callback scope: an exception it throws is an ordinary uncaught exception.
 */
export interface FdWatcher {
  /** Start (or change) watching; events is a mask of POLL_READABLE | POLL_WRITABLE. */
  start(events: number): void;
  /** Stop watching; may be started again. */
  stop(): void;
  /** Stop and release the watcher. Does not close the fd. Idempotent; may be called from inside the callback. */
  close(): void;
}

/** Bytes per address slot in recvmmsg/sendmmsg address arenas; the layout is described in src/net/addr-slot.ts. */
export { ADDR_SLOT } from '../net/addr-slot.js';

/**
 * The send report of sendmmsg/sendmmsgGso (an Int32Array the addon adds to; native/src/udp.h): groups the kernel
 * would not segment and the errno of the last, and datagrams sent without the source their local slot named.
 */
export const SEND_REPORT_GROUPS_REFUSED = 0;
export const SEND_REPORT_REFUSED_ERRNO = 1;
export const SEND_REPORT_UNSOURCED = 2;
export const SEND_REPORT_LENGTH = 3;

export interface NativeAddon {
  readonly constants: {
    IFF_TUN: number;
    IFF_TAP: number;
    IFF_NO_PI: number;
    IFF_VNET_HDR: number;
    IFF_MULTI_QUEUE: number;
    TUN_F_CSUM: number;
    TUN_F_TSO4: number;
    TUN_F_TSO6: number;
    TUN_F_TSO_ECN: number;
    TUN_F_USO4: number;
    TUN_F_USO6: number;
    POLL_READABLE: number;
    POLL_WRITABLE: number;
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
    NETLINK_ROUTE: number;
  };

  // ---- TUN/TAP -------------------------------------------------------------------------------------
  /** open("/dev/net/tun") + TUNSETIFF with `flags` (IFF_TUN|IFF_NO_PI typical). Empty name: kernel picks. */
  tunOpen(name: string, flags: number): { fd: number; name: string };
  /** TUNSETOFFLOAD with TUN_F_* flags. */
  tunSetOffload(fd: number, flags: number): void;
  /** TUNSETVNETHDRSZ. */
  tunSetVnetHdrSize(fd: number, size: number): void;
  /** TUNSETPERSIST (a persistent device outlives the fd). */
  tunSetPersist(fd: number, persist: boolean): void;

  // ---- generic fd I/O ------------------------------------------------------------------------------
  close(fd: number): void;
  /** write(2) of buf[offset, offset+length). Returns bytes written, or -1 on EAGAIN. */
  write(fd: number, buf: Uint8Array, offset: number, length: number): number;
  /**
   * Reads up to `max` packets with read(2): packet i lands at arena[i*slotSize ...], its length in lengths[i].
   * Stops at the first EAGAIN. Returns the number of packets read (0 if none was ready). A hard error throws
   * only when nothing was read yet; otherwise the next call reports it.
   */
  readBatch(fd: number, arena: Uint8Array, slotSize: number, lengths: Int32Array, max: number): number;
  /**
   * Writes packets i < count (arena[offsets[i], offsets[i]+lengths[i])) with write(2) each.
   * Returns how many were written before an EAGAIN (== count when all were). A hard error (e.g. EINVAL for a
   * malformed packet, EIO while the device is down) throws if it hits packet 0; on a later packet the count so
   * far is returned, so the next call, starting at that packet, throws for it.
   */
  writeBatch(fd: number, arena: Uint8Array, offsets: Int32Array, lengths: Int32Array, count: number): number;
  /**
   * Batched writev(2), for writes that need a header or gather several slices (a TUN with IFF_VNET_HDR: a
   * virtio_net_hdr, then a packet, or a GRO super-packet gathered from the first segment and the payloads of the
   * rest). Write w is heads[w*headSize, +headSize) (nothing when headSize is 0) followed by the next parts[w]
   * (1..128) slices arena[offsets[j], offsets[j]+lengths[j]), slices being consumed in order across writes.
   * Returns how many writes were done before EAGAIN; hard errors as writeBatch.
   */
  writevBatch(
    fd: number,
    heads: Uint8Array,
    headSize: number,
    arena: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    parts: Int32Array,
    count: number,
  ): number;
  /** A uv_poll watcher; callback(events) on readiness, or callback(-errno) on a poll error. */
  watch(fd: number, callback: (events: number) => void): FdWatcher;

  // ---- sockets -------------------------------------------------------------------------------------
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

  // ---- netlink -------------------------------------------------------------------------------------
  /**
   * socket(AF_NETLINK, SOCK_RAW, protocol), bound with nl_pid = 0 (kernel assigns), NETLINK_EXT_ACK and
   * NETLINK_CAP_ACK on, 1 MiB receive buffer. Returns the fd and the port id the kernel assigned.
   */
  netlinkOpen(protocol: number): { fd: number; portId: number };
  /** send(2) to the kernel. Returns bytes sent, or -1 on EAGAIN. */
  send(fd: number, buf: Uint8Array): number;
  /**
   * recv(2) into buf. Returns bytes received, or -1 on EAGAIN; ENOBUFS throws like any error. A message larger
   * than buf is consumed and throws EMSGSIZE.
   */
  recv(fd: number, buf: Uint8Array): number;

  // ---- network namespaces ----------------------------------------------------------------------------
  /**
   * As iproute2: the parent directory (e.g. /run/netns) is created and made a shared mount point once, then
   * unshare(CLONE_NEWNET) + bind mount at path in the calling thread, which then switches back. Throws EEXIST if
   * path exists; on any failure the file is removed again.
   */
  netnsCreate(path: string): void;
  /** umount2(path, MNT_DETACH) + unlink(path). A missing path throws ENOENT; a file that is not mounted is unlinked. */
  netnsDelete(path: string): void;
  /**
   * Runs fn with the calling thread switched (setns) into the namespace at nsPath, then switches back, also when
   * fn throws. Sockets created inside stay in that namespace. fn must be synchronous.
   */
  withNetns<T>(nsPath: string, fn: () => T): T;

  // ---- Internet checksum (RFC 1071) -----------------------------------------------------------------------
  /**
   * For each i < count: sums[i] (a partial sum, 0..2^31-1, e.g. of a pseudo-header) becomes the 16-bit ones'
   * complement sum (folded, not complemented) of the big-endian words of buf[offsets[i], +lengths[i]) plus sums[i].
   * Every range is checked first (RangeError). Returns count.
   */
  checksumBatch(buf: Uint8Array, offsets: Int32Array, lengths: Int32Array, sums: Int32Array, count: number): number;

  // ---- keyed BLAKE2s (RFC 7693; WireGuard's MAC) -------------------------------------------------------------
  /**
   * out (16 or 32 bytes: the digest size) becomes Keyed-BLAKE2s(key, data[dataOffset, +dataLength)); key is 1..32
   * bytes. RangeError otherwise, or when the range lies outside data. Returns out.length.
   */
  blake2sMac(key: Uint8Array, data: Uint8Array, dataOffset: number, dataLength: number, out: Uint8Array): number;

  // ---- X25519 (RFC 7748) -------------------------------------------------------------------------------------
  /**
   * out = X25519(privateKey, publicKey) (all 32 bytes, else RangeError). Returns false, with out zeroed, when the
   * result would be all zeros (a low-order public key).
   */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array, out: Uint8Array): boolean;
  /** out = the X25519 public key of privateKey (both 32 bytes, else RangeError). */
  x25519PublicKey(privateKey: Uint8Array, out: Uint8Array): void;

  // ---- transport AEAD (ChaCha20-Poly1305, RFC 8439; OpenSSL inside Node) -----------------------------------
  /**
   * For each job i < count: lengths[i] plaintext bytes at src[srcOffsets[i]] followed by padded[i] - lengths[i]
   * zero bytes (0..15) are encrypted into dst at dstOffsets[i] (padded[i] bytes, then the 16-byte tag), with the
   * 32-byte key keys[32i..] and the 12-byte nonce nonces[12i..]. Every job is range-checked before any runs
   * (RangeError). Returns count.
   */
  aeadSealBatch(
    src: Uint8Array, srcOffsets: Int32Array, lengths: Int32Array, padded: Int32Array,
    dst: Uint8Array, dstOffsets: Int32Array, keys: Uint8Array, nonces: Uint8Array, count: number,
  ): number;
  /**
   * For each job i < count: authenticates lengths[i] bytes at src[srcOffsets[i]] (ciphertext, then the tag) and
   * decrypts them into dst at dstOffsets[i] (lengths[i] - 16 bytes); results[i] = 1 if the tag verified, else 0.
   * Range-checked like aeadSealBatch. Returns how many verified.
   */
  aeadOpenBatch(
    src: Uint8Array, srcOffsets: Int32Array, lengths: Int32Array, dst: Uint8Array, dstOffsets: Int32Array,
    keys: Uint8Array, nonces: Uint8Array, count: number, results: Uint8Array,
  ): number;
  /**
   * Shares every later batch (of more than 16 jobs) among `threads` threads in all, 1..64 (1: the calling thread
   * alone; the helpers run only the cipher, on the batch's memory, while the caller waits). Process-wide.
   * Returns threads.
   */
  aeadSetThreads(threads: number): number;
  /** open(path, O_RDONLY|O_CLOEXEC) of a namespace file, e.g. for IFLA_NET_NS_FD. Close with close(). */
  openNetnsFd(nsPath: string): number;

  // ---- systemd notification ----------------------------------------------------------------------------
  /**
   * One datagram `data` to the AF_UNIX SOCK_DGRAM socket at `path` ("@name": abstract), from a socket opened and
   * closed for it: the transport of sd_notify(3). Returns the bytes sent; ENOENT, ECONNREFUSED, EAGAIN, ... throw.
   */
  unixDatagramSend(path: string, data: Uint8Array): number;
}

function findAddon(): string {
  // Works from src/ (ts loaders) and from dist/src/ (compiled): walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'native', 'build', 'Release', 'tunvpn.node');
    if (existsSync(candidate)) return candidate;
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) break;
    dir = dirname(dir);
  }
  throw new Error('tunvpn native addon not built: run `npm ci` (or `npm run build`) in the project root');
}

let cached: NativeAddon | undefined;

/** Loads the addon on first use, so pure modules and unit tests never need it. */
export function native(): NativeAddon {
  if (!cached) {
    const require = createRequire(import.meta.url);
    cached = require(findAddon()) as NativeAddon;
  }
  return cached;
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).code === 'string' && typeof (e as NativeError).errno === 'number';
}
