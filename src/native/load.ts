/**
 * The one module that loads the native addon (native/src/*.cc, built to native/build/Release/tunvpn.node). The
 * modules beside it type one concern each (tun.ts, udp.ts, netlink.ts, netns.ts, fdio.ts, poll.ts, checksum.ts,
 * crypto.ts, notify.ts) and hand out this one object seen through that type; nothing else loads the .node file.
 *
 * What the addon does: the system calls Node has no API for (TUN ioctls, batched UDP with GSO/GRO and packet info,
 * raw netlink sockets, network namespaces, uv_poll watchers on raw fds, unix datagrams) and the per-packet
 * computations worth one native call per batch (ChaCha20-Poly1305 through the OpenSSL inside Node, keyed BLAKE2s,
 * X25519, Internet checksums). No protocol logic: WireGuard's decisions stay in TypeScript.
 *
 * Conventions shared by every function:
 * - Failures throw a NativeError (errors.ts): `code` is the errno name ('EPERM', 'EBUSY', ...), `errno` the
 *   (positive) errno number, `syscall` what was attempted (e.g. 'ioctl(TUNSETIFF)'); the message reads
 *   "EPERM: ioctl(TUNSETIFF): ...".
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

let cached: object | undefined;

/**
 * The addon's exports, loaded on first use (so pure modules and unit tests never need it), untyped: the concern
 * modules give it their types. Throws Error when the addon is not built, or what dlopen throws.
 */
export function loadAddon(): object {
  if (!cached) {
    const require = createRequire(import.meta.url);
    cached = require(findAddon()) as object;
  }
  return cached;
}
