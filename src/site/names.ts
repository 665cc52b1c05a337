/**
 * Interface and namespace names: validity rules and the deterministic names the site derives (veth host ends,
 * temporary names for links created on the host and then moved into a namespace).
 */
import { IFNAME_MAX_BYTES, ifnameProblem } from '../net/ifname.js';

export { ifnameProblem };

/** The interface a [Namespace] sees inside: the namespace end of its veth pair. */
export const NAMESPACE_IFNAME = 'eth0';
const VETH_HOST_PREFIX = 've-';
const MOVE_TEMP_PREFIX = 'tvm-';
/** Hex digits of the name hash used when a derived name would be too long. */
const HASH_HEX_DIGITS = 6;
/** Namespace names are file names under /run/netns; keep them portable and short enough for derived names. */
export const NETNS_NAME_MAX_CHARS = 64;
const NETNS_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function netnsNameProblem(name: string): string | undefined {
  if (name.length > NETNS_NAME_MAX_CHARS) return `namespace name "${name}" is longer than ${NETNS_NAME_MAX_CHARS} characters`;
  if (!NETNS_NAME_RE.test(name)) return `namespace name "${name}" may only contain letters, digits, '_', '.', '-'`;
  return undefined;
}

/** FNV-1a 32-bit: a stable, dependency-free hash for derived names (not security relevant). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function hashHex(text: string): string {
  return fnv1a(text).toString(16).padStart(8, '0').slice(0, HASH_HEX_DIGITS);
}

/**
 * Host end of a namespace's veth pair: `ve-<ns>` when that fits in 15 characters, otherwise `ve-` + the first
 * characters of the namespace + a hash of the whole name, so long (e.g. per-test prefixed) names stay distinct.
 */
export function vethHostName(netns: string): string {
  const plain = VETH_HOST_PREFIX + netns;
  if (plain.length <= IFNAME_MAX_BYTES) return plain;
  const keep = IFNAME_MAX_BYTES - VETH_HOST_PREFIX.length - HASH_HEX_DIGITS;
  return VETH_HOST_PREFIX + netns.slice(0, keep) + hashHex(netns);
}

/**
 * Name a link carries on the host between its creation and its move into `netns` (where it is renamed to its
 * final name), so that e.g. an `eth0` destined for a namespace never collides with the host's own `eth0`.
 */
export function moveTempName(netns: string, name: string): string {
  return MOVE_TEMP_PREFIX + fnv1a(`${netns}/${name}`).toString(16).padStart(8, '0');
}
