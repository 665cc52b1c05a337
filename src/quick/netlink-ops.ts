/**
 * InterfaceOps over our rtnetlink module. Deletions tolerate "already gone" (the TUN device's removal takes its
 * addresses and routes with it, so undoing them afterwards finds nothing), every other kernel refusal is an error.
 */
import { writeFile } from 'node:fs/promises';
import { ignoreGone, isNetlinkError, type LinkRef, type Rtnl } from '../netlink/index.js';
import { formatIp, formatPrefix, type IpAddress, type Prefix } from '../net/ip.js';
import type { InterfaceOps, RuleSpec } from './apply.js';

function toRule(r: RuleSpec) {
  return { family: r.family, table: r.table, fwmark: r.fwMark, invert: r.invert, suppressPrefixLength: r.suppressPrefixLength };
}

/**
 * The operations on the interface `ifname` (the one `up` made): each acts on the ifindex it is given, which is that
 * interface's, and an error names the interface ("add address fd00::1/64 to wg0: ..."), not its index.
 */
export function netlinkInterfaceOps(rtnl: Rtnl, ifname: string): InterfaceOps {
  const dev = (index: number): LinkRef => ({ index, name: ifname });
  const linkMtu = async (index: number) => (await rtnl.links.get(index)).mtu;
  const routeMtu = async (route: { mtu?: number; dev?: number }) => {
    if (route.mtu) return route.mtu;
    return route.dev ? linkMtu(route.dev) : undefined;
  };
  return {
    addAddress: (ifindex: number, prefix: Prefix) =>
      rtnl.addresses.add(dev(ifindex), formatPrefix(prefix), { nodad: prefix.family === 6 }),
    deleteAddress: (ifindex, prefix) => ignoreGone(rtnl.addresses.delete(dev(ifindex), formatPrefix(prefix))),
    setMtu: (ifindex, mtu) => rtnl.links.set(dev(ifindex), { mtu }),
    setUp: (ifindex, up) => (up ? rtnl.links.up(dev(ifindex)) : ignoreGone(rtnl.links.down(dev(ifindex)))),
    addRoute: (ifindex, prefix, table) => rtnl.routes.add({ dst: formatPrefix(prefix), dev: dev(ifindex), table }),
    deleteRoute: (ifindex, prefix, table) => ignoreGone(rtnl.routes.delete({ dst: formatPrefix(prefix), dev: dev(ifindex), table })),
    tableInUse: async (table) => {
      for (const family of [4, 6] as const) {
        if ((await rtnl.routes.list({ family, table })).length > 0) return true;
      }
      return false;
    },
    addRule: (r) => rtnl.rules.add(toRule(r)),
    deleteRule: (r) => ignoreGone(rtnl.rules.delete(toRule(r))),
    routeMtuTowards: async (dst: IpAddress) => {
      try {
        return await routeMtu(await rtnl.routes.get(formatIp(dst)));
      } catch (e) {
        if (isNetlinkError(e)) return undefined; // no route (ENETUNREACH): ignore this endpoint, as wg-quick does
        throw e;
      }
    },
    enableSrcValidMark: () => writeFile('/proc/sys/net/ipv4/conf/all/src_valid_mark', '1\n'),
    defaultRouteMtu: async () => {
      const routes = await rtnl.routes.list({ family: 4, table: 254 });
      const def = routes.find((r) => r.dst === '0.0.0.0/0');
      return def ? routeMtu(def) : undefined;
    },
  };
}
