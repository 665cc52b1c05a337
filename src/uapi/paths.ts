/** Where UAPI sockets live, and which interface names may name one. */
import { join } from 'node:path';

/** wg(8) looks here for userspace interfaces. */
export const DEFAULT_SOCKET_DIR = '/var/run/wireguard';
export const SOCKET_SUFFIX = '.sock';
/** IFNAMSIZ - 1. */
export const MAX_IFACE_NAME_BYTES = 15;

/** Why `name` cannot be an interface name, or undefined when it can. */
export function ifaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'interface name is empty';
  if (Buffer.byteLength(name) > MAX_IFACE_NAME_BYTES) return `interface name longer than ${MAX_IFACE_NAME_BYTES} bytes`;
  if (name === '.' || name === '..' || /[/\s:\0]/.test(name)) return `invalid interface name ${JSON.stringify(name)}`;
  return undefined;
}

/** DIR/IFACE.sock; throws RangeError for an invalid interface name. */
export function socketPath(iface: string, dir = DEFAULT_SOCKET_DIR): string {
  const problem = ifaceNameProblem(iface);
  if (problem) throw new RangeError(problem);
  return join(dir, `${iface}${SOCKET_SUFFIX}`);
}
