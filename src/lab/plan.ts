/**
 * The lab's names and addresses, computed from a per-run tag: pure, no I/O.
 *
 *      ns a                         ns b                          ns c
 *   [tunnel 10.213.K.1] ~~~~~~~ [tunnel 10.213.K.2]
 *   to-b 172.31.K.1/30 ─ veth ─ to-a 172.31.K.2/30
 *                               to-c 10.214.K.1/24 ─ veth ─ to-b 10.214.K.2/24 (default via 10.214.K.1)
 *
 * With a LAN host (the flood scenario's attacker, namespace f), b's LAN side becomes a bridge, as on a router with
 * a built-in switch:
 *
 *                               lan 10.214.K.1/24 (bridge: to-c, to-f)
 *                                 to-c ─ veth ─ to-b 10.214.K.2/24                     ns c
 *                                 to-f ─ veth ─ to-b 10.214.K.3/24, more from .10 up    ns f
 *
 * Everything lives inside the three namespaces, so the ranges cannot collide with the host's routes; K only makes
 * the numbers differ between runs to ease reading logs. Namespace and interface names carry the tag, because
 * /var/run/wireguard (the UAPI sockets) is shared by all namespaces.
 */
import { randomBytes } from 'node:crypto';

/** The three namespaces of the lab. */
export type LabNode = 'a' | 'b' | 'c';
export const LAB_NODES: readonly LabNode[] = ['a', 'b', 'c'];

/** WireGuard's usual port; a listens one above so both ends are easy to tell apart in captures. */
export const LISTEN_PORT_B = 51820;
export const LISTEN_PORT_A = 51821;
/** Tunnel MTU: 1500 (veth) minus 80 bytes of WireGuard-over-IPv6 overhead, wg-quick's default. */
export const TUNNEL_MTU = 1420;
/** The LAN host's extra source addresses start at this host number (.1 b, .2 c, .3 the host itself). */
export const LAN_SOURCES_FIRST_HOST = 10;
/** Host numbers .10 to .254 of the /24: the most extra source addresses the LAN host can have. */
export const LAN_SOURCES_MAX = 254 - LAN_SOURCES_FIRST_HOST + 1;
/** Tag: 6 lowercase hex digits, so "tv" + tag + end letter stays within IFNAMSIZ-1 = 15 bytes. */
const TAG_RE = /^[0-9a-f]{6}$/;

/**
 * What topology.ts builds: the three namespaces, the veth names (aToB in a ⇄ bToA in b, bToC in b ⇄ cToB in c),
 * the underlay a ⇄ b and the LAN b ⇄ c (addresses as dotted quads, prefixes in bits). makePlan fills it for the
 * lab; the netns tests fill it with addresses of their own.
 */
export interface NamespacePlan {
  ns: Record<LabNode, string>;
  /** veth names (each unique inside its own namespace). */
  links: { aToB: string; bToA: string; bToC: string; cToB: string };
  underlay: { a: string; b: string; prefix: number };
  lan: { subnet: string; b: string; c: string; prefix: number };
}

/**
 * A host on b's LAN: namespace, its veth (named to-b inside f, to-f inside b), its address, the bridge that then
 * carries b's LAN address, and the first of the extra source addresses it may be given (consecutive, inside the
 * LAN's /24).
 */
export interface LanHostPlan {
  ns: string;
  bToHost: string;
  hostToB: string;
  bridge: string;
  address: string;
  firstSource: string;
}

/** The whole lab: its namespaces and links, the tunnel on top, and the LAN host it may add. */
export interface LabPlan extends NamespacePlan {
  tag: string;
  /** Third octet of every lab subnet, 0..255, derived from the tag. */
  k: number;
  /** WireGuard interface names at a and b (unique per run: the UAPI socket directory is global). */
  wg: { a: string; b: string };
  tunnel: { a: string; b: string };
  ports: { a: number; b: number };
  mtu: number;
  /** The host on b's LAN, built only when asked for (Lab option lanHost). */
  lanHost: LanHostPlan;
}

export function randomTag(): string {
  return randomBytes(3).toString('hex');
}

export function makePlan(tag: string = randomTag()): LabPlan {
  if (!TAG_RE.test(tag)) throw new Error(`lab tag must be 6 lowercase hex digits, got ${JSON.stringify(tag)}`);
  const k = parseInt(tag.slice(-2), 16);
  return {
    tag,
    k,
    ns: { a: `tvlab-${tag}-a`, b: `tvlab-${tag}-b`, c: `tvlab-${tag}-c` },
    links: { aToB: 'to-b', bToA: 'to-a', bToC: 'to-c', cToB: 'to-b' },
    wg: { a: `tv${tag}a`, b: `tv${tag}b` },
    underlay: { a: `172.31.${k}.1`, b: `172.31.${k}.2`, prefix: 30 },
    lan: { subnet: `10.214.${k}.0`, b: `10.214.${k}.1`, c: `10.214.${k}.2`, prefix: 24 },
    tunnel: { a: `10.213.${k}.1`, b: `10.213.${k}.2` },
    ports: { a: LISTEN_PORT_A, b: LISTEN_PORT_B },
    mtu: TUNNEL_MTU,
    lanHost: {
      ns: `tvlab-${tag}-f`,
      bToHost: 'to-f',
      hostToB: 'to-b',
      bridge: 'lan',
      address: `10.214.${k}.3`,
      firstSource: `10.214.${k}.${LAN_SOURCES_FIRST_HOST}`,
    },
  };
}

/** The prefix every namespace of a lab with this tag starts with (for leak checks). */
export function nsPrefix(tag: string): string {
  return `tvlab-${tag}-`;
}
