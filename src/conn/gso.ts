/**
 * UDP GSO grouping: which datagrams of a send batch can go out as one sendmsg with a UDP_SEGMENT cmsg (the kernel,
 * or the NIC, cuts the concatenation back into datagrams of gso_size bytes).
 *
 * A group is a run of consecutive datagrams that:
 * - share one destination (the whole ADDR_SLOT is equal) and, when the batch has local slots, one source;
 * - have the first datagram's length (the segment size), except the last, which may be shorter and then ends
 *   the group;
 * - number at most GSO_MAX_SEGMENTS and total at most GSO_MAX_GROUP_BYTES.
 * A datagram that fits none starts a new group (a group of one is sent as a plain datagram).
 */
import { ADDR_SLOT } from '../net/addr-slot.js';

/** The kernel's UDP_MAX_SEGMENTS. */
export const GSO_MAX_SEGMENTS = 64;
/** Bytes per group: under the 65507-byte UDP payload limit with room to spare. */
export const GSO_MAX_GROUP_BYTES = 65_000;

/**
 * Groups datagrams 0..count-1 (lengths[i], destination addrs[i*ADDR_SLOT..], source locals[i*ADDR_SLOT..] when
 * given) and writes each group's size to groups[0..]; returns the number of groups. `groups` needs room for
 * `count` entries.
 */
export function gsoGroups(
  lengths: Int32Array,
  addrs: Uint8Array,
  count: number,
  groups: Int32Array,
  locals?: Uint8Array,
  maxSegments = GSO_MAX_SEGMENTS,
  maxBytes = GSO_MAX_GROUP_BYTES,
): number {
  if (groups.length < count) throw new RangeError(`groups has room for ${groups.length}, need ${count}`);
  let g = 0;
  let i = 0;
  while (i < count) {
    const first = i;
    const size = lengths[i]!;
    let bytes = size;
    i++;
    if (size > 0) {
      while (i < count && i - first < maxSegments) {
        const len = lengths[i]!;
        if (len > size || len < 1 || bytes + len > maxBytes || !sameSlot(addrs, first, i)) break;
        if (locals !== undefined && !sameSource(locals, first, i)) break;
        bytes += len;
        i++;
        if (len < size) break; // a shorter datagram ends the group
      }
    }
    groups[g++] = i - first;
  }
  return g;
}

/** Local slots name the same source: both none (family 0; the rest of the slot is ignored), or equal bytes. */
function sameSource(locals: Uint8Array, a: number, b: number): boolean {
  if (locals[a * ADDR_SLOT] === 0 && locals[b * ADDR_SLOT] === 0) return true;
  return sameSlot(locals, a, b);
}

function sameSlot(addrs: Uint8Array, a: number, b: number): boolean {
  const x = a * ADDR_SLOT;
  const y = b * ADDR_SLOT;
  for (let k = 0; k < ADDR_SLOT; k++) if (addrs[x + k] !== addrs[y + k]) return false;
  return true;
}
