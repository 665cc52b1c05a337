/**
 * Which UDP offloads a socket can use, probed once at open (as wireguard-go's features_linux.go):
 * UDP_SEGMENT (GSO) is there when getsockopt knows it; UDP_GRO when setsockopt takes it (which also turns it on).
 */
import type { Logger } from '../log.js';
import type { NativeUdp } from '../native/udp.js';
import type { UdpSocket } from './udp-socket.js';

/** Sets s.gso and s.gro to what the kernel (and the addon) offer; what is missing is logged at debug. */
export function probeUdpOffloads(addon: NativeUdp, s: UdpSocket, log: Logger): void {
  const { SOL_UDP, UDP_SEGMENT, UDP_GRO } = addon.constants;
  if (typeof addon.sendmmsgGso === 'function') {
    try {
      addon.getsockoptInt(s.fd, SOL_UDP, UDP_SEGMENT);
      s.gso = true;
    } catch (e) {
      log.debug({ err: e, family: s.family }, 'no UDP GSO');
    }
  }
  if (typeof addon.recvmmsgGro === 'function') {
    try {
      addon.setsockoptInt(s.fd, SOL_UDP, UDP_GRO, 1);
      s.gro = true;
    } catch (e) {
      log.debug({ err: e, family: s.family }, 'no UDP GRO');
    }
  }
}
