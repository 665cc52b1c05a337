/** Unix datagrams (native/src/notify.cc): the transport of systemd's sd_notify(3); Node has no AF_UNIX datagrams. */
import { loadAddon } from './load.js';

export interface NativeNotify {
  /**
   * One datagram `data` to the AF_UNIX SOCK_DGRAM socket at `path` ("@name": abstract), from a socket opened and
   * closed for it: the transport of sd_notify(3). Returns the bytes sent; ENOENT, ECONNREFUSED, EAGAIN, ... throw.
   */
  unixDatagramSend(path: string, data: Uint8Array): number;
}

/** The addon's unix datagram send; loads the addon on first use (throws when it is not built). */
export function nativeNotify(): NativeNotify {
  return loadAddon() as NativeNotify;
}
