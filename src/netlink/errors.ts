/** Errors of the netlink layer: kernel refusals (NetlinkError), malformed bytes (NetlinkDecodeError), bad input. */
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}
// Linux aliases: prefer the names the kernel and iproute2 print.
const PREFERRED: Record<string, number> = { EOPNOTSUPP: 95, EAGAIN: 11, EDEADLK: 35 };
for (const [name, value] of Object.entries(PREFERRED)) {
  if (errnoNames.has(value)) errnoNames.set(value, name);
}

/** 'EEXIST' for 17; 'E<n>' for numbers this platform does not name. */
export function errnoName(errno: number): string {
  return errnoNames.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

/** A short human description ("file already exists"), or the name when none is known. */
export function errnoDescription(errno: number): string {
  return getSystemErrorMap().get(-Math.abs(errno))?.[1] ?? errnoName(errno);
}

/**
 * The kernel refused a request (NLMSG_ERROR with a negative error), or the socket failed under it.
 * `op` names what was asked ("create link vx0 (vxlan)"); `extack` is the kernel's NLMSGERR_ATTR_MSG text.
 * message: "create link gn0 (geneve): EOPNOTSUPP: Unknown device type".
 */
export class NetlinkError extends Error {
  override name = 'NetlinkError';
  readonly code: string;
  readonly errno: number;
  constructor(
    readonly op: string,
    errno: number,
    readonly extack?: string,
  ) {
    const code = errnoName(errno);
    super(`${op}: ${code}: ${extack || errnoDescription(errno)}`);
    this.errno = Math.abs(errno);
    this.code = code;
  }
}

/** Bytes from the kernel (or a test) that do not parse: a length past the end, a wrong-sized attribute, ... */
export class NetlinkDecodeError extends Error {
  override name = 'NetlinkDecodeError';
  readonly code = 'ERR_NETLINK_DECODE';
}

/** A caller's argument was refused before anything was sent. */
export class NetlinkArgumentError extends Error {
  override name = 'NetlinkArgumentError';
  readonly code = 'ERR_INVALID_ARG_VALUE';
}

export function isNetlinkError(e: unknown, code?: string): e is NetlinkError {
  return e instanceof NetlinkError && (code === undefined || e.code === code);
}

/** errno names meaning "it is not there (any more)": what a delete of something already removed gets. */
export const ALREADY_GONE: ReadonlySet<string> = new Set(['ENODEV', 'ENOENT', 'ESRCH', 'EADDRNOTAVAIL', 'ENXIO']);

/** Awaits a delete, treating "already gone" as success; any other error propagates. */
export async function ignoreGone(p: Promise<void>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (isNetlinkError(e) && ALREADY_GONE.has(e.code)) return;
    throw e;
  }
}
