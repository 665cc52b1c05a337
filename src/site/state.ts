/**
 * A snapshot of the system as far as a site cares: links (with the kind details a site declares), addresses,
 * routes and bridge FDB entries, for the host and for each existing namespace. Produced by a SiteSystem
 * (netlink or in-memory), read by the planner and by `site show`. Kind details are optional: a reader that
 * cannot tell leaves them out, and comparisons then only look at what is known.
 */
import { sameIp, type IpAddress, type Prefix } from '../net/ip.js';

/** Attributes that identify what a link is; a mismatch here is a conflict, not something to repair. */
export interface LinkDetails {
  /** VXLAN/Geneve VNI or VLAN id. */
  id?: number;
  /** UDP destination port (vxlan, geneve). */
  port?: number;
  local?: string;
  remote?: string;
  /** Lower device (vxlan Dev, vlan/macvlan/ipvlan Parent), by name on the host. */
  parent?: string;
  mode?: string;
}

export interface LinkState {
  name: string;
  /** rtnetlink IFLA_INFO_KIND ('bridge', 'vxlan', 'veth', 'tun', ...); undefined when the kernel reports none. */
  kind?: string;
  /** Name of the master device (bridge) in the same namespace. */
  master?: string;
  mtu: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  addresses: Prefix[];
  details?: LinkDetails;
}

export interface RouteState {
  dst: Prefix;
  gateway?: IpAddress;
  dev?: string;
}

/** A bridge forwarding entry: on a vxlan the all-zero lladdr with a dst is a head-end replication target. */
export interface FdbState {
  dev: string;
  lladdr: string;
  dst?: IpAddress;
}

export interface NetnsState {
  links: LinkState[];
  routes: RouteState[];
  fdb: FdbState[];
}

export interface SystemState {
  host: NetnsState;
  /** Only namespaces that exist (of those asked for). */
  netns: Map<string, NetnsState>;
  /**
   * MTU of the host device that routes to an underlay address (keyed by formatted address), for a vxlan/geneve
   * without Dev. Optional: without it the kernel's default of 1500 minus the encapsulation overhead is assumed.
   */
  underlayMtu?: Map<string, number>;
  /**
   * For each tunvpn interface a site's `Remote = mesh` names (and only those): the vxlan devices its daemon keeps
   * the FDB of, or `problem` when no daemon with a mesh answers there (not running, no [Mesh], not tunvpn).
   */
  meshes?: Map<string, { following: string[] } | { problem: string }>;
}

export function emptyNetns(): NetnsState {
  return { links: [], routes: [], fdb: [] };
}

export function emptyState(): SystemState {
  return { host: emptyNetns(), netns: new Map() };
}

/** The namespace's state, or undefined when the namespace does not exist. `undefined` netns is the host. */
export function netnsState(state: SystemState, netns: string | undefined): NetnsState | undefined {
  return netns === undefined ? state.host : state.netns.get(netns);
}

export function findLink(state: SystemState, netns: string | undefined, name: string): LinkState | undefined {
  return netnsState(state, netns)?.links.find((l) => l.name === name);
}

export function samePrefix(a: Prefix, b: Prefix): boolean {
  return a.bits === b.bits && sameIp(a, b);
}
