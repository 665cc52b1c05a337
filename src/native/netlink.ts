/** Raw netlink sockets (native/src/netlink.cc): the framing and the families are TypeScript (src/netlink/). */
import type { NativeFdLifecycle } from './fd-lifecycle.js';
import { loadAddon } from './load.js';

/** The netlink socket calls, with what a socket fd needs from open to close (NativeFdLifecycle). */
export interface NativeNetlink extends NativeFdLifecycle {
  readonly constants: NativeFdLifecycle['constants'] & {
    /** linux/netlink.h. */
    NETLINK_ROUTE: number;
  };
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
}

/** The addon's netlink socket calls; loads the addon on first use (throws when it is not built). */
export function nativeNetlink(): NativeNetlink {
  return loadAddon() as NativeNetlink;
}
