/**
 * The system's interface names and indexes, for IPv6 zones ("fe80::1%eth0"): if_nametoindex(3) and
 * if_indextoname(3) through the addon, in the calling process's network namespace (the one its sockets send from).
 */
import { nativeUdp } from '../native/udp.js';
import type { Zones } from '../net/endpoint.js';
import { ifnameProblem } from '../net/ifname.js';

export const systemZones: Zones = {
  indexOf(name: string): number | undefined {
    if (ifnameProblem(name) !== undefined) return undefined;
    const index = nativeUdp().ifNameToIndex(name);
    return index > 0 ? index : undefined;
  },
  nameOf(index: number): string | undefined {
    if (!Number.isInteger(index) || index < 1 || index > 0xffff_ffff) return undefined;
    return nativeUdp().ifIndexToName(index);
  },
};
