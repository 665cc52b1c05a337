/**
 * What a site file declares, after parsing and validation. Every declaration keeps the line of its section header
 * so later stages can still point at the file. Namespace fields name a declared [Namespace]; `undefined` means the
 * host (the namespace `site up` runs in, or the one the caller hands in).
 */
import type { IpAddress, Prefix } from '../net/ip.js';

/** VXLAN and Geneve network identifiers are 24-bit. */
export const VNI_MAX = 2 ** 24 - 1;
/** 802.1Q VLAN ids 0 and 4095 are reserved. */
export const VLAN_ID_MIN = 1;
export const VLAN_ID_MAX = 4094;
/** IANA ports. */
export const VXLAN_DEFAULT_PORT = 4789;
export const GENEVE_DEFAULT_PORT = 6081;
/** Smallest MTU the kernel accepts for IPv4 (68) and the largest an ethernet-like device takes (ETH_MAX_MTU). */
export const MTU_MIN = 68;
export const MTU_MAX = 65535;

export const MACVLAN_MODES = ['private', 'vepa', 'bridge', 'passthru', 'source'] as const;
export type MacvlanMode = (typeof MACVLAN_MODES)[number];
export const IPVLAN_MODES = ['l2', 'l3', 'l3s'] as const;
export type IpvlanMode = (typeof IPVLAN_MODES)[number];

interface Decl {
  name: string;
  /** Line of the section header. */
  line: number;
}

export interface BridgeDecl extends Decl {
  kind: 'bridge';
  address?: Prefix;
  mtu?: number;
}

export interface VxlanDecl extends Decl {
  kind: 'vxlan';
  id: number;
  local?: IpAddress;
  /** Unicast head-end replication: one all-zero FDB entry per remote. Empty with `mesh`. */
  remotes: IpAddress[];
  /**
   * `Remote = mesh`: the remotes are the VTEPs of the mesh of `dev` (a tunvpn interface with a [Mesh] section),
   * whose daemon keeps the FDB entries as members come and go; `local` is this node's VTEP. See docs/mesh.md.
   */
  mesh?: boolean;
  dstPort: number;
  bridge?: string;
  /** Underlying device (the tunnel interface); must exist on the host at apply time. */
  dev?: string;
  address?: Prefix;
  mtu?: number;
}

export interface GeneveDecl extends Decl {
  kind: 'geneve';
  id: number;
  remote: IpAddress;
  dstPort: number;
  bridge?: string;
  address?: Prefix;
  mtu?: number;
}

export interface TapDecl extends Decl {
  kind: 'tap';
  bridge?: string;
  address?: Prefix;
  mtu?: number;
}

export interface VethDecl extends Decl {
  kind: 'veth';
  peer: string;
  namespace?: string;
  peerNamespace?: string;
  address?: Prefix;
  peerAddress?: Prefix;
  /** Enslave the `Name` end (which must then be on the host) to this bridge. */
  bridge?: string;
  mtu?: number;
}

export interface MacvlanDecl extends Decl {
  kind: 'macvlan';
  parent: string;
  mode: MacvlanMode;
  namespace?: string;
  address?: Prefix;
  mtu?: number;
}

export interface IpvlanDecl extends Decl {
  kind: 'ipvlan';
  parent: string;
  mode: IpvlanMode;
  namespace?: string;
  address?: Prefix;
  mtu?: number;
}

export interface VlanDecl extends Decl {
  kind: 'vlan';
  parent: string;
  id: number;
  namespace?: string;
  address?: Prefix;
  mtu?: number;
}

export type LinkDecl = BridgeDecl | VxlanDecl | GeneveDecl | TapDecl | VethDecl | MacvlanDecl | IpvlanDecl | VlanDecl;

export interface NamespaceDecl extends Decl {
  kind: 'namespace';
  /** Joined to this bridge by a veth pair: host end `vethHostName(name)`, inside end `NAMESPACE_IFNAME`. */
  bridge?: string;
  address?: Prefix;
  gateway?: IpAddress;
  mtu?: number;
}

export interface Site {
  file: string;
  namespaces: NamespaceDecl[];
  /** In file order. */
  links: LinkDecl[];
}
