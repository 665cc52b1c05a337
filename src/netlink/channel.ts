/**
 * The raw NETLINK_ROUTE socket under NetlinkSocket: the only part that touches the addon. An interface, so the
 * socket's framing/queueing logic is testable against a scripted fake kernel without root.
 */
import { nativeNetlink as native } from '../native/netlink.js';
import type { FdWatcher } from '../native/poll.js';

export interface NetlinkChannel {
  /** The port id the kernel assigned (replies carry it in nlmsg_pid). */
  readonly portId: number;
  /** Sends one datagram; returns bytes sent, or -1 when the socket would block. */
  send(buf: Uint8Array): number;
  /** Receives one datagram into buf; returns its length, or -1 when none is ready. Throws (e.g. ENOBUFS). */
  recv(buf: Uint8Array): number;
  /** A readiness watcher; callback(events) when readable, callback(-errno) on a poll error. */
  watch(callback: (events: number) => void): FdWatcher;
  /** Releases the socket. */
  close(): void;
  /** The POLL_READABLE bit for watch().start(). */
  readonly pollReadable: number;
}

/**
 * Opens a NETLINK_ROUTE socket, inside the namespace at netnsPath when given (the socket stays bound to that
 * namespace for its whole life, whatever thread later uses it).
 */
export function openNativeChannel(netnsPath?: string): NetlinkChannel {
  const addon = native();
  const open = () => addon.netlinkOpen(addon.constants.NETLINK_ROUTE);
  const { fd, portId } = netnsPath === undefined ? open() : addon.withNetns(netnsPath, open);
  let closed = false;
  return {
    portId,
    pollReadable: addon.constants.POLL_READABLE,
    send: (buf) => addon.send(fd, buf),
    recv: (buf) => addon.recv(fd, buf),
    watch: (cb) => addon.watch(fd, cb),
    close() {
      if (closed) return;
      closed = true;
      addon.close(fd);
    },
  };
}
