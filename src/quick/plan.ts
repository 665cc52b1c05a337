/**
 * What `tunvpn up` does to the system, as data: config → ordered steps. Pure (no netlink, no clock), so the order
 * and the wg-quick rules it follows are unit-tested without root. apply.ts carries the steps out. planReload diffs
 * the steps of two configs (a reload: only what changed is removed or added).
 *
 * The rules follow wg-quick's contract:
 * - addresses first, then MTU (MTU key, else the route MTU towards the peers minus 80), then link up;
 * - a route for every AllowedIPs prefix, longest prefix first, skipping prefixes already covered by one of the
 *   interface's own address prefixes (the kernel's connected route carries them);
 * - `Table = off` adds no route; `Table = N` puts every route in table N;
 * - with `Table = auto`, a /0 prefix becomes a "default route" step: a fwmark'ed socket, a dedicated table, and
 *   the rules `not fwmark T lookup T` and `lookup main suppress_prefixlength 0`, so the tunnel's own encrypted
 *   packets never route into the tunnel.
 */
import type { QuickConfig } from '../config/types.js';
import { formatIp, formatPrefix, networkOf, prefixContains, type Family, type Prefix } from '../net/ip.js';

/** wg-quick's default table (and fwmark) for full-tunnel routes when FwMark is not set. */
export const DEFAULT_TUNNEL_TABLE = 51820;
/** Bytes of WireGuard overhead subtracted from the route MTU: IPv6 40 + UDP 8 + WireGuard 32. */
export const MTU_OVERHEAD = 80;
/** The route MTU assumed when no route tells one. */
export const FALLBACK_LINK_MTU = 1500;

export type Step =
  | { op: 'address'; prefix: Prefix }
  | { op: 'mtu'; mtu: number }
  | { op: 'mtu-auto'; endpoints: string[] }
  | { op: 'up' }
  | { op: 'route'; prefix: Prefix; table?: number }
  /** Full tunnel for one family: fwmark on the socket, table T (free one chosen at apply time unless fixed). */
  | { op: 'default-route'; prefix: Prefix; fwMark?: number }
  | { op: 'dns'; servers: string[]; search: string[] };

/** `ip address` as iproute2 spells it: "ip -4 address add 10.0.0.1/24 dev wg0" (or delete). */
export function ipAddress(verb: 'add' | 'delete', prefix: Prefix, ifname: string): string {
  return `ip -${prefix.family} address ${verb} ${formatPrefix(prefix)} dev ${ifname}`;
}

/** `ip route` as iproute2 spells it: "ip -4 route add 10.0.0.0/24 dev wg0 table 51820" (no table: main). */
export function ipRoute(verb: 'add' | 'delete', prefix: Prefix, ifname: string, table?: number): string {
  return `ip -${prefix.family} route ${verb} ${formatPrefix(prefix)} dev ${ifname}${table !== undefined ? ` table ${table}` : ''}`;
}

/** The undo of the 'up' step, as iproute2 spells it. */
export function ipLinkSetDown(ifname: string): string {
  return `ip link set down dev ${ifname}`;
}

/** How a step is announced before apply.ts makes it, in the words of `ip` where it has some. */
export function describe(step: Step, ifname: string): string {
  switch (step.op) {
    case 'address':
      return ipAddress('add', step.prefix, ifname);
    case 'mtu':
      return `ip link set mtu ${step.mtu} dev ${ifname}`;
    case 'mtu-auto':
      return `ip link set mtu (route MTU towards ${step.endpoints.length ? step.endpoints.join(', ') : 'the default route'} − ${MTU_OVERHEAD}) dev ${ifname}`;
    case 'up':
      return `ip link set up dev ${ifname}`;
    case 'route':
      return ipRoute('add', step.prefix, ifname, step.table);
    case 'default-route':
      return `full tunnel for ${formatPrefix(step.prefix)}: fwmark, table, rules 'not fwmark' and 'suppress_prefixlength 0'`;
    case 'dns':
      return `resolvconf -a ${ifname}: nameservers ${step.servers.join(' ')}${step.search.length ? `, search ${step.search.join(' ')}` : ''}`;
  }
}

/** Endpoint hosts as given (hostnames resolve at apply time), for the automatic MTU. */
function endpointHosts(config: QuickConfig): string[] {
  return config.peers.flatMap((p) => (p.endpoint ? [p.endpoint.host] : []));
}

/** Every AllowedIPs prefix once (a prefix two peers list gets one route: it belongs to the last one), longest first. */
export function allowedPrefixes(config: QuickConfig): Prefix[] {
  const seen = new Set<string>();
  const all: Prefix[] = [];
  for (const peer of config.peers) {
    for (const p of peer.allowedIPs) {
      const key = formatPrefix(p);
      if (!seen.has(key)) {
        seen.add(key);
        all.push(p);
      }
    }
  }
  // Stable sort: longest prefix first, file order among equals (wg-quick sorts with `sort -nr -k 2 -t /`).
  return all.map((p, i) => ({ p, i })).sort((a, b) => b.p.bits - a.p.bits || a.i - b.i).map(({ p }) => p);
}

function coveredByOwnAddress(prefix: Prefix, own: Prefix[]): boolean {
  return own.some((a) => prefixContains(networkOf(a), prefix));
}

export function planRoutes(config: QuickConfig): Step[] {
  const { table } = config.interface;
  if (table === 'off') return [];
  const steps: Step[] = [];
  const own = config.interface.addresses;
  for (const prefix of allowedPrefixes(config)) {
    if (typeof table === 'number') {
      steps.push({ op: 'route', prefix, table });
    } else if (prefix.bits === 0) {
      steps.push({ op: 'default-route', prefix, fwMark: config.interface.fwMark });
    } else if (!coveredByOwnAddress(prefix, own)) {
      steps.push({ op: 'route', prefix });
    }
  }
  return steps;
}

/** The interface steps of `up`, in order. TUN creation, sockets and hooks are the daemon's, around these. */
export function planUp(config: QuickConfig): Step[] {
  const iface = config.interface;
  const steps: Step[] = iface.addresses.map((prefix) => ({ op: 'address', prefix }));
  steps.push(iface.mtu !== undefined ? { op: 'mtu', mtu: iface.mtu } : { op: 'mtu-auto', endpoints: endpointHosts(config) });
  steps.push({ op: 'up' });
  if (iface.dns.servers.length || iface.dns.search.length) {
    steps.push({ op: 'dns', servers: iface.dns.servers.map((s) => formatIp(s)), search: iface.dns.search });
  }
  steps.push(...planRoutes(config));
  return steps;
}

/** wg-quick's MTU rule: the largest route MTU towards any endpoint (else the default route's), minus 80. */
export function autoMtu(routeMtus: number[], defaultRouteMtu: number | undefined): number {
  let mtu = Math.max(0, ...routeMtus);
  if (mtu === 0 && defaultRouteMtu) mtu = defaultRouteMtu;
  if (mtu === 0) mtu = FALLBACK_LINK_MTU;
  return mtu - MTU_OVERHEAD;
}

export function familiesOf(steps: Step[]): Family[] {
  const fams = new Set<Family>();
  for (const s of steps) if (s.op === 'default-route') fams.add(s.prefix.family);
  return [...fams];
}

/**
 * The identity of a step: the same key in two plans means the same system object (an address, a route in one
 * table, the full-tunnel rules of one family, the MTU, the DNS entry). apply.ts registers each step's undo under
 * its key, so a reload can take one step back alone.
 */
export function stepKey(step: Step): string {
  switch (step.op) {
    case 'address':
      return `address ${formatPrefix(step.prefix)}`;
    case 'mtu':
    case 'mtu-auto':
      return 'mtu';
    case 'up':
      return 'up';
    case 'route':
      return `route ${formatPrefix(step.prefix)} table ${step.table ?? 'main'}`;
    case 'default-route':
      return `default-route ${step.prefix.family}`;
    case 'dns':
      return 'dns';
  }
}

/** What a step sets, beyond its identity (the MTU value, DNS servers, the full tunnel's fwmark). */
function stepContent(step: Step): string {
  switch (step.op) {
    case 'mtu':
      return `mtu ${step.mtu}`;
    case 'mtu-auto':
      return `auto ${step.endpoints.join(',')}`;
    case 'default-route':
      return `fwmark ${step.fwMark ?? 'auto'}`;
    case 'dns':
      return `${step.servers.join(',')} search ${step.search.join(',')}`;
    default:
      return '';
  }
}

/** A reload's system changes: steps to take back (in this order) and steps to apply (in this order). */
export interface ReloadPlan {
  remove: Step[];
  add: Step[];
}

/**
 * The difference between the steps of the running config and of the new one: a step whose key disappears, or
 * whose content changes, is removed (newest first); a new or changed step is added (in plan order). Steps present
 * in both unchanged are left alone, so their addresses and routes are never touched. The MTU has no undo: a
 * changed MTU is only set again.
 */
export function planReload(running: QuickConfig, next: QuickConfig): ReloadPlan {
  const before = planUp(running);
  const after = planUp(next);
  const contentOf = (steps: Step[]) => new Map(steps.map((s) => [stepKey(s), stepContent(s)]));
  const was = contentOf(before);
  const will = contentOf(after);
  const remove = before
    .filter((s) => s.op !== 'mtu' && s.op !== 'mtu-auto' && will.get(stepKey(s)) !== stepContent(s))
    .reverse();
  const add = after.filter((s) => was.get(stepKey(s)) !== stepContent(s));
  return { remove, add };
}

/** How a removal is announced, in the words of `ip` (the counterpart of describe). */
export function describeRemoval(step: Step, ifname: string): string {
  switch (step.op) {
    case 'address':
      return ipAddress('delete', step.prefix, ifname);
    case 'route':
      return ipRoute('delete', step.prefix, ifname, step.table);
    case 'default-route':
      return `remove the full tunnel for ${formatPrefix(step.prefix)}: its route, and the rules 'not fwmark' and 'suppress_prefixlength 0'`;
    case 'dns':
      return `resolvconf -d tun.${ifname}`;
    case 'up':
      return ipLinkSetDown(ifname);
    case 'mtu':
    case 'mtu-auto':
      return `(MTU of ${ifname} stays)`;
  }
}
