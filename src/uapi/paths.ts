/** Where UAPI sockets live, and which interface names may name one. */
import { join } from 'node:path';
import { ifnameProblem } from '../net/ifname.js';

/** wg(8) looks here for userspace interfaces. */
export const DEFAULT_SOCKET_DIR = '/var/run/wireguard';
export const SOCKET_SUFFIX = '.sock';

/** DIR/IFACE.sock; throws RangeError for an invalid interface name. */
export function socketPath(iface: string, dir = DEFAULT_SOCKET_DIR): string {
  const problem = ifnameProblem(iface);
  if (problem) throw new RangeError(problem);
  return join(dir, `${iface}${SOCKET_SUFFIX}`);
}
