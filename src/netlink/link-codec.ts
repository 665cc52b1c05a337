/**
 * Link requests (RTM_NEWLINK / RTM_DELLINK / RTM_GETLINK) and the decoding of link messages. Pure: interface
 * names referenced by a spec (parent, dev) arrive here already resolved to indices, and namespaces as fds.
 * Attribute order mirrors iproute2's so requests compare byte for byte with `ip link add ...`.
 */
import { attr, attrChars, Attrs, attrNest, attrString, attrU16, attrU16be, attrU32, attrU32be, attrU8, concat } from './attr.js';
import {
  AF_UNSPEC,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
} from './constants.js';
import { formatIfInfoMsg, parseIfInfoMsg } from './headers.js';
import * as L from './if-link.js';
import type { NlMessage, NlRequest } from './message.js';
import { NetlinkArgumentError, NetlinkDecodeError } from './errors.js';
import { checkIfName, checkInt, checkIp, formatMac } from './validate.js';
import { formatIp } from '../net/ip.js';
import { MAX_PORT } from '../net/endpoint.js';

/**
 * A link known by its ifindex and its name: requests use the index (a name can be reused by another link), messages
 * the name, so an error reads "add address fd00::1/64 to wg0", not "... to 6".
 */
export interface IndexedLink {
  index: number;
  name: string;
}
/** A link referenced by name, by ifindex, or by both. */
export type LinkRef = string | number | IndexedLink;

/** How a link reads in messages: its name when the reference has one, else its index. */
export function linkName(ref: LinkRef): string {
  return typeof ref === 'object' ? ref.name : String(ref);
}

/** The ifindex a reference carries (undefined for a bare name, which the caller resolves). */
function refIndex(ref: LinkRef): number | undefined {
  return typeof ref === 'number' ? ref : typeof ref === 'object' ? ref.index : undefined;
}
/** A network namespace: a name under /run/netns, or an open fd of one. */
export type NetnsRef = string | number;

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
export type IpvlanMode = 'l2' | 'l3' | 'l3s';

interface LinkBase {
  name: string;
  mtu?: number;
}
export interface VethSpec extends LinkBase {
  kind: 'veth';
  peerName: string;
  /** Create the peer directly inside this namespace. */
  peerNetns?: NetnsRef;
}
export interface BridgeSpec extends LinkBase {
  kind: 'bridge';
}
export interface VxlanSpec extends LinkBase {
  kind: 'vxlan';
  /** VNI, 24 bits. */
  id: number;
  /** UDP destination port (IANA: 4789; the kernel's default is 8472). */
  dstPort: number;
  local?: string;
  /** Unicast remote; excludes `group`. */
  remote?: string;
  /** Multicast group; excludes `remote` (needs `dev`). */
  group?: string;
  dev?: LinkRef;
  learning?: boolean;
  ttl?: number;
}
export interface MacvlanSpec extends LinkBase {
  kind: 'macvlan';
  parent: LinkRef;
  mode: MacvlanMode;
}
export interface IpvlanSpec extends LinkBase {
  kind: 'ipvlan';
  parent: LinkRef;
  mode: IpvlanMode;
}
export interface VlanSpec extends LinkBase {
  kind: 'vlan';
  parent: LinkRef;
  /** 802.1Q VLAN id, 0..4095. */
  id: number;
}
export interface GeneveSpec extends LinkBase {
  kind: 'geneve';
  /** VNI, 24 bits. */
  id: number;
  remote: string;
  /** UDP destination port (kernel default 6081). */
  dstPort?: number;
}
/** Persistent tun/tap devices (made with TUNSETIFF + TUNSETPERSIST; this kernel refuses them over rtnetlink). */
export interface TunSpec extends LinkBase {
  kind: 'tun' | 'tap';
}
export type LinkSpec = VethSpec | BridgeSpec | VxlanSpec | MacvlanSpec | IpvlanSpec | VlanSpec | GeneveSpec | TunSpec;
export type LinkKind = LinkSpec['kind'];

/** Names already resolved by the caller (Rtnl): indices for parent/dev, an fd for the peer's namespace. */
export interface ResolvedRefs {
  parent?: number;
  dev?: number;
  peerNetnsFd?: number;
}

const MACVLAN_MODES: Record<MacvlanMode, number> = {
  private: L.MACVLAN_MODE_PRIVATE,
  vepa: L.MACVLAN_MODE_VEPA,
  bridge: L.MACVLAN_MODE_BRIDGE,
  passthru: L.MACVLAN_MODE_PASSTHRU,
  source: L.MACVLAN_MODE_SOURCE,
};
const IPVLAN_MODES: Record<IpvlanMode, number> = { l2: L.IPVLAN_MODE_L2, l3: L.IPVLAN_MODE_L3, l3s: L.IPVLAN_MODE_L3S };

const VNI_MAX = 0xffffff;
const VLAN_ID_MAX = 4095;
const TTL_MAX = 255;
/** Largest MTU the kernel's u32 carries; real limits come from the device (IFLA_MAX_MTU). */
const MTU_MAX = 0x7fffffff;

export function describeCreate(spec: { name: string; kind: string }): string {
  return `create link ${spec.name} (${spec.kind})`;
}

function resolvedIndex(op: string, field: string, ref: LinkRef, resolved: number | undefined): number {
  const index = refIndex(ref) ?? resolved;
  if (index === undefined) throw new NetlinkArgumentError(`${op}: ${field} ${JSON.stringify(linkName(ref))} was not resolved to an index`);
  return checkInt(op, `${field} index`, index, 1, 0x7fffffff);
}

/** IFLA_LINKINFO { KIND, [DATA { ... }] } */
function linkInfo(kind: string, data?: Uint8Array[]): Uint8Array {
  const parts = [attrChars(L.IFLA_INFO_KIND, kind)];
  if (data) parts.push(attrNest(L.IFLA_INFO_DATA, data));
  return attrNest(L.IFLA_LINKINFO, parts);
}

function kindAttrs(op: string, spec: LinkSpec, refs: ResolvedRefs): { pre: Uint8Array[]; data?: Uint8Array[] } {
  switch (spec.kind) {
    case 'veth': {
      const peer = [formatIfInfoMsg(), attrString(L.IFLA_IFNAME, checkIfName(op, spec.peerName, 'peer name'))];
      if (spec.peerNetns !== undefined) {
        const fd = typeof spec.peerNetns === 'number' ? spec.peerNetns : refs.peerNetnsFd;
        if (fd === undefined) throw new NetlinkArgumentError(`${op}: peer namespace ${JSON.stringify(spec.peerNetns)} was not opened`);
        peer.push(attrU32(L.IFLA_NET_NS_FD, checkInt(op, 'peer namespace fd', fd, 0, 0x7fffffff)));
      }
      return { pre: [], data: [attrNest(L.VETH_INFO_PEER, peer)] };
    }
    case 'bridge':
      return { pre: [] };
    case 'vxlan': {
      const data: Uint8Array[] = [];
      if (spec.dev !== undefined) data.push(attrU32(L.IFLA_VXLAN_LINK, resolvedIndex(op, 'dev', spec.dev, refs.dev)));
      data.push(attrU32(L.IFLA_VXLAN_ID, checkInt(op, 'vxlan id', spec.id, 0, VNI_MAX)));
      if (spec.local !== undefined) {
        const a = checkIp(op, 'local', spec.local);
        data.push(attrBytes(a.family === 4 ? L.IFLA_VXLAN_LOCAL : L.IFLA_VXLAN_LOCAL6, a.bytes));
      }
      if (spec.remote !== undefined && spec.group !== undefined) throw new NetlinkArgumentError(`${op}: give remote or group, not both`);
      const peer = spec.remote ?? spec.group;
      if (peer !== undefined) {
        const a = checkIp(op, spec.remote !== undefined ? 'remote' : 'group', peer);
        data.push(attrBytes(a.family === 4 ? L.IFLA_VXLAN_GROUP : L.IFLA_VXLAN_GROUP6, a.bytes));
      }
      if (spec.ttl !== undefined) data.push(attrU8(L.IFLA_VXLAN_TTL, checkInt(op, 'ttl', spec.ttl, 0, TTL_MAX)));
      if (spec.learning !== undefined) data.push(attrU8(L.IFLA_VXLAN_LEARNING, spec.learning ? 1 : 0));
      data.push(attrU16be(L.IFLA_VXLAN_PORT, checkInt(op, 'dstPort', spec.dstPort, 1, MAX_PORT)));
      return { pre: [], data };
    }
    case 'macvlan': {
      const mode = MACVLAN_MODES[spec.mode];
      if (mode === undefined) throw new NetlinkArgumentError(`${op}: unknown macvlan mode ${JSON.stringify(spec.mode)}`);
      return { pre: [attrU32(L.IFLA_LINK, resolvedIndex(op, 'parent', spec.parent, refs.parent))], data: [attrU32(L.IFLA_MACVLAN_MODE, mode)] };
    }
    case 'ipvlan': {
      const mode = IPVLAN_MODES[spec.mode];
      if (mode === undefined) throw new NetlinkArgumentError(`${op}: unknown ipvlan mode ${JSON.stringify(spec.mode)}`);
      return {
        pre: [attrU32(L.IFLA_LINK, resolvedIndex(op, 'parent', spec.parent, refs.parent))],
        data: [attrU16(L.IFLA_IPVLAN_MODE, mode), attrU16(L.IFLA_IPVLAN_FLAGS, 0)],
      };
    }
    case 'vlan':
      return {
        pre: [attrU32(L.IFLA_LINK, resolvedIndex(op, 'parent', spec.parent, refs.parent))],
        data: [attrU16(L.IFLA_VLAN_ID, checkInt(op, 'vlan id', spec.id, 0, VLAN_ID_MAX))],
      };
    case 'geneve': {
      const a = checkIp(op, 'remote', spec.remote);
      // As iproute2: label, ttl and tos are sent explicitly (0 = kernel default / inherit).
      const data = [
        attrU32(L.IFLA_GENEVE_ID, checkInt(op, 'geneve id', spec.id, 0, VNI_MAX)),
        attrBytes(a.family === 4 ? L.IFLA_GENEVE_REMOTE : L.IFLA_GENEVE_REMOTE6, a.bytes),
        attrU32be(L.IFLA_GENEVE_LABEL, 0),
        attrU8(L.IFLA_GENEVE_TTL, 0),
        attrU8(L.IFLA_GENEVE_TOS, 0),
      ];
      if (spec.dstPort !== undefined) data.push(attrU16be(L.IFLA_GENEVE_PORT, checkInt(op, 'dstPort', spec.dstPort, 1, MAX_PORT)));
      return { pre: [], data };
    }
    case 'tun':
    case 'tap':
      throw new NetlinkArgumentError(`${op}: ${spec.kind} devices are created with TUNSETIFF, not rtnetlink`);
    default: {
      const kind: never = spec;
      throw new NetlinkArgumentError(`create link: unknown kind ${JSON.stringify((kind as { kind: unknown }).kind)}`);
    }
  }
}

/** An address payload (4 or 16 bytes). */
const attrBytes = (type: number, b: Uint8Array): Uint8Array => attr(type, b);

/** RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: fails with EEXIST if the name is taken. */
export function createLinkRequest(spec: LinkSpec, refs: ResolvedRefs = {}): NlRequest {
  const what = describeCreate(spec);
  const name = checkIfName(what, spec.name);
  const { pre, data } = kindAttrs(what, spec, refs);
  const attrs = [...pre, attrString(L.IFLA_IFNAME, name)];
  if (spec.mtu !== undefined) attrs.push(attrU32(L.IFLA_MTU, checkInt(what, 'mtu', spec.mtu, 1, MTU_MAX)));
  attrs.push(linkInfo(spec.kind, data));
  return { type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body: concat([formatIfInfoMsg(), ...attrs]), what };
}

/** What `setLinkRequest` can change in one request. */
export interface LinkChange {
  up?: boolean;
  mtu?: number;
  /** A bridge's ifindex to enslave to; 0 releases (nomaster). */
  master?: number;
  /** Move into the namespace behind this fd. */
  netnsFd?: number;
  /** Rename. */
  name?: string;
}

/** RTM_NEWLINK on an existing index (no CREATE): `ip link set`. */
export function setLinkRequest(index: number, change: LinkChange, what: string): NlRequest {
  checkInt(what, 'index', index, 1, 0x7fffffff);
  const attrs: Uint8Array[] = [];
  if (change.name !== undefined) attrs.push(attrString(L.IFLA_IFNAME, checkIfName(what, change.name, 'new name')));
  if (change.mtu !== undefined) attrs.push(attrU32(L.IFLA_MTU, checkInt(what, 'mtu', change.mtu, 1, MTU_MAX)));
  if (change.master !== undefined) attrs.push(attrU32(L.IFLA_MASTER, checkInt(what, 'master', change.master, 0, 0x7fffffff)));
  if (change.netnsFd !== undefined) attrs.push(attrU32(L.IFLA_NET_NS_FD, checkInt(what, 'namespace fd', change.netnsFd, 0, 0x7fffffff)));
  const hdr = formatIfInfoMsg({
    index,
    flags: change.up ? L.IFF_UP : 0,
    change: change.up === undefined ? 0 : L.IFF_UP,
  });
  return { type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK, body: concat([hdr, ...attrs]), what };
}

export function deleteLinkRequest(index: number, what: string): NlRequest {
  checkInt(what, 'index', index, 1, 0x7fffffff);
  return { type: RTM_DELLINK, flags: NLM_F_REQUEST | NLM_F_ACK, body: formatIfInfoMsg({ index }), what };
}

/** RTM_GETLINK for one link, by index or by name; fails with ENODEV when there is none. */
export function getLinkRequest(ref: LinkRef, what: string): NlRequest {
  const index = refIndex(ref);
  const body =
    index !== undefined
      ? formatIfInfoMsg({ index: checkInt(what, 'index', index, 1, 0x7fffffff) })
      : concat([formatIfInfoMsg(), attrString(L.IFLA_IFNAME, checkIfName(what, linkName(ref)))]);
  return { type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_ACK, body, what };
}

export function dumpLinksRequest(what = 'list links'): NlRequest {
  return { type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_DUMP, body: formatIfInfoMsg({ family: AF_UNSPEC }), what, dump: true };
}

/** A link as the kernel reports it. */
export interface LinkInfo {
  index: number;
  name: string;
  /** IFLA_INFO_KIND ('veth', 'bridge', 'vxlan', 'tun', ...); absent for plain devices like lo. */
  kind?: string;
  mtu: number;
  /** IFF_* flags. */
  flags: number;
  /** IFF_UP is set (administratively up). */
  up: boolean;
  /** The bridge (or other master) this link is enslaved to. */
  master?: number;
  operstate: L.OperState;
  /** "aa:bb:cc:dd:ee:ff"; absent for devices without a link-layer address (tun). */
  mac?: string;
  /** IFLA_LINK: a veth's peer index, or a vlan/macvlan's parent (in linkNetnsId's namespace when set). */
  link?: number;
  /** The namespace id (as seen from here) in which `link` lives. */
  linkNetnsId?: number;
  /** Kind-specific details the decoder understands. */
  vxlan?: { id?: number; dstPort?: number; local?: string; remote?: string; dev?: number; learning?: boolean };
}

function sizedMac(b: Uint8Array | undefined): string | undefined {
  if (b === undefined || b.length === 0) return undefined;
  return formatMac(b);
}

/** Decodes an RTM_NEWLINK message (a dump entry or a get reply). */
export function parseLink(msg: NlMessage): LinkInfo {
  if (msg.type !== RTM_NEWLINK) throw new NetlinkDecodeError(`expected RTM_NEWLINK, got message type ${msg.type}`);
  const hdr = parseIfInfoMsg(msg.payload);
  const a = new Attrs(msg.payload, 16);
  const name = a.string(L.IFLA_IFNAME);
  if (name === undefined) throw new NetlinkDecodeError(`link ${hdr.index} without IFLA_IFNAME`);
  const operValue = a.u8(L.IFLA_OPERSTATE) ?? 0;
  const info: LinkInfo = {
    index: hdr.index,
    name,
    mtu: a.u32(L.IFLA_MTU) ?? 0,
    flags: hdr.flags,
    up: (hdr.flags & L.IFF_UP) !== 0,
    operstate: L.OPERSTATES[operValue] ?? 'UNKNOWN',
  };
  const master = a.u32(L.IFLA_MASTER);
  if (master) info.master = master;
  const mac = sizedMac(a.bytes(L.IFLA_ADDRESS));
  if (mac !== undefined) info.mac = mac;
  const link = a.u32(L.IFLA_LINK);
  if (link) info.link = link;
  const nsid = a.s32(L.IFLA_LINK_NETNSID);
  if (nsid !== undefined) info.linkNetnsId = nsid;
  const li = a.nested(L.IFLA_LINKINFO);
  if (li) {
    const kind = li.string(L.IFLA_INFO_KIND);
    if (kind !== undefined) info.kind = kind;
    if (kind === 'vxlan') {
      const d = li.nested(L.IFLA_INFO_DATA);
      if (d) info.vxlan = parseVxlanData(d);
    }
  }
  return info;
}

function parseVxlanData(d: Attrs): NonNullable<LinkInfo['vxlan']> {
  const out: NonNullable<LinkInfo['vxlan']> = {};
  const id = d.u32(L.IFLA_VXLAN_ID);
  if (id !== undefined) out.id = id;
  const port = d.u16be(L.IFLA_VXLAN_PORT);
  if (port !== undefined) out.dstPort = port;
  const local = d.address(L.IFLA_VXLAN_LOCAL) ?? d.address(L.IFLA_VXLAN_LOCAL6);
  if (local) out.local = formatIp(local);
  const remote = d.address(L.IFLA_VXLAN_GROUP) ?? d.address(L.IFLA_VXLAN_GROUP6);
  if (remote) out.remote = formatIp(remote);
  const dev = d.u32(L.IFLA_VXLAN_LINK);
  if (dev) out.dev = dev;
  const learning = d.u8(L.IFLA_VXLAN_LEARNING);
  if (learning !== undefined) out.learning = learning !== 0;
  return out;
}
