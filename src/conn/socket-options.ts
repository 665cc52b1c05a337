/**
 * Setting up a NativeBind's sockets: opening one IPv4 and one IPv6 (v6only) socket on the same port, and the
 * options set on them before any I/O: buffer sizes, packet info (the sticky source), SO_MARK. Feature probing is
 * offload-probe.ts; the I/O is native-receive.ts and native-send.ts.
 */
import type { Logger } from '../log.js';
import { isNativeError } from '../native/errors.js';
import type { NativeUdp } from '../native/udp.js';
import type { UdpSocket } from './udp-socket.js';

/**
 * Socket buffer size we ask for (the kernel doubles it for its bookkeeping, socket(7)); memory is only taken while
 * datagrams wait. wireguard-go asks for 7 MiB. More here because the first tenth of a second of a handshake flood
 * finds the event loop cold (code not yet optimised, the young generation growing): measured with 100,000
 * initiations/s, 7 MiB overflowed in that moment (about 3,700 datagrams dropped by the kernel, among them a
 * legitimate peer's initiation, which then waits 5 s for its retry), 16 MiB did not.
 */
export const SOCKET_BUFFER_BYTES = 16 << 20;
/** open(0): attempts at finding a port free on both families. */
const PORT_PICK_ATTEMPTS = 10;

/** Where to bind: `port` 0 lets the kernel pick one free on both families. */
export interface UdpListen {
  port: number;
  /** IPv4 address to bind ('' = any). */
  address4: string;
  /** IPv6 address to bind ('' = any). */
  address6: string;
  /** Open the IPv6 socket too (skipped with a warning when the kernel has no IPv6). */
  ipv6: boolean;
}

/**
 * Opens the IPv4 socket and, when asked, the IPv6 one on the same port. With port 0 the kernel's free IPv4 port
 * may be taken on IPv6: up to PORT_PICK_ATTEMPTS ports are tried. Returns the port and the fds (IPv4 first).
 * Throws Error "cannot open UDP port N: ..." (cause: the NativeError) when no socket could be opened.
 */
export function openUdpSockets(addon: NativeUdp, listen: UdpListen, log: Logger): { port: number; fds: Array<[4 | 6, number]> } {
  const { port } = listen;
  let lastError: unknown;
  for (let attempt = 0; attempt < (port === 0 ? PORT_PICK_ATTEMPTS : 1); attempt++) {
    let v4: { fd: number; port: number };
    try {
      v4 = addon.udpOpen(4, listen.address4, port, false);
    } catch (e) {
      lastError = e;
      break;
    }
    if (!listen.ipv6) return { port: v4.port, fds: [[4, v4.fd]] };
    try {
      const v6 = addon.udpOpen(6, listen.address6, v4.port, true);
      return { port: v4.port, fds: [[4, v4.fd], [6, v6.fd]] };
    } catch (e) {
      if (isNativeError(e) && e.code === 'EAFNOSUPPORT') {
        log.warn('IPv6 is not available: UDP bind is IPv4 only');
        return { port: v4.port, fds: [[4, v4.fd]] };
      }
      addon.close(v4.fd);
      lastError = e;
      // The kernel's free IPv4 port may be taken on IPv6: try another one.
      if (!(port === 0 && isNativeError(e) && e.code === 'EADDRINUSE')) break;
    }
  }
  const why = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`cannot open UDP port ${port}: ${why}`, { cause: lastError });
}

/** Asks for SOCKET_BUFFER_BYTES of receive and send buffer; what the kernel refuses is logged at debug. */
export function tuneBuffers(addon: NativeUdp, fd: number, log: Logger): void {
  const { SOL_SOCKET, SO_RCVBUFFORCE, SO_RCVBUF, SO_SNDBUFFORCE, SO_SNDBUF } = addon.constants;
  for (const [force, plain] of [
    [SO_RCVBUFFORCE, SO_RCVBUF],
    [SO_SNDBUFFORCE, SO_SNDBUF],
  ] as const) {
    try {
      // FORCE ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN; the plain option is capped by it.
      addon.setsockoptInt(fd, SOL_SOCKET, force, SOCKET_BUFFER_BYTES);
    } catch {
      try {
        addon.setsockoptInt(fd, SOL_SOCKET, plain, SOCKET_BUFFER_BYTES);
      } catch (e) {
        log.debug({ err: e }, 'could not enlarge socket buffer');
      }
    }
  }
}

/**
 * IP_PKTINFO (IPv4) / IPV6_RECVPKTINFO (IPv6): the kernel reports each datagram's local address and interface, the
 * sticky source replies go out from. Without it (an old kernel) the kernel chooses every source, as before. Sets
 * s.pktinfo; a refusal is logged as a warning, never thrown.
 */
export function enablePktinfo(addon: NativeUdp, s: UdpSocket, log: Logger): void {
  const c = addon.constants;
  try {
    if (s.family === 4) addon.setsockoptInt(s.fd, c.IPPROTO_IP, c.IP_PKTINFO, 1);
    else addon.setsockoptInt(s.fd, c.IPPROTO_IPV6, c.IPV6_RECVPKTINFO, 1);
    s.pktinfo = true;
  } catch (e) {
    log.warn({ err: e, family: s.family }, 'cannot learn local addresses (no packet info): replies leave from the address the kernel picks');
  }
}

/**
 * SO_MARK on every socket. The kernel reads the option as an int and keeps its bits as the u32 sk_mark, so a mark
 * of 2^31 or more goes down as its int32 bit pattern (`mark | 0`). Setting it needs CAP_NET_ADMIN (EPERM without
 * it); the Error thrown says so only when that is the errno.
 */
export function setSocketMark(addon: NativeUdp, sockets: readonly UdpSocket[], mark: number): void {
  const { SOL_SOCKET, SO_MARK } = addon.constants;
  for (const s of sockets) {
    try {
      addon.setsockoptInt(s.fd, SOL_SOCKET, SO_MARK, mark | 0);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      const hint = isNativeError(e) && e.code === 'EPERM' ? ' (needs CAP_NET_ADMIN)' : '';
      throw new Error(`cannot set fwmark 0x${mark.toString(16)} on the IPv${s.family} socket${hint}: ${why}`, { cause: e });
    }
  }
}
