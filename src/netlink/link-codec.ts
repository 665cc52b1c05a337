/**
 * Link requests (RTM_NEWLINK / RTM_DELLINK / RTM_GETLINK) and the decoding of link messages. Pure: interface
 * names referenced by a spec (parent, dev) arrive here already resolved to indices, and namespaces as fds.
 * Attribute order mirrors iproute2's so requests compare byte for byte with `ip link add ...`. What is particular
 * to a kind (its spec, its IFLA_INFO_DATA both ways) is in link-kinds.ts; this file knows no kind by name.
 */
import { attrChars, Attrs, attrNest, attrString, attrU32, concat } from './attr.js';
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
import { INFO_DATA_DECODERS, linkKindCodec, type LinkInfoData, type LinkSpec, type ResolvedRefs } from './link-kinds.js';
import { linkName, refIndex, type LinkRef } from './link-ref.js';
import { checkIfName, checkInt, formatMac } from './validate.js';

/** Largest MTU the kernel's u32 carries; real limits come from the device (IFLA_MAX_MTU). */
const MTU_MAX = 0x7fffffff;

export function describeCreate(spec: { name: string; kind: string }): string {
  return `create link ${spec.name} (${spec.kind})`;
}

/** IFLA_LINKINFO { KIND, [DATA { ... }] } */
function linkInfo(kind: string, data?: Uint8Array[]): Uint8Array {
  const parts = [attrChars(L.IFLA_INFO_KIND, kind)];
  if (data) parts.push(attrNest(L.IFLA_INFO_DATA, data));
  return attrNest(L.IFLA_LINKINFO, parts);
}

/** RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: fails with EEXIST if the name is taken. */
export function createLinkRequest(spec: LinkSpec, refs: ResolvedRefs = {}): NlRequest {
  const what = describeCreate(spec);
  const name = checkIfName(what, spec.name);
  const codec = linkKindCodec(spec.kind);
  if (!codec) throw new NetlinkArgumentError(`create link: unknown kind ${JSON.stringify(spec.kind)}`);
  const { pre, data } = codec.encode(what, spec, refs);
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
export interface LinkInfo extends Partial<LinkInfoData> {
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
    if (kind !== undefined) decodeInfoData(info, kind, li);
  }
  return info;
}

/** Kind-specific details (LinkInfoData) for the kinds INFO_DATA_DECODERS knows; others are left out. */
function decodeInfoData(info: LinkInfo, kind: string, linkinfo: Attrs): void {
  if (!Object.hasOwn(INFO_DATA_DECODERS, kind)) return;
  const k = kind as keyof LinkInfoData;
  const data = linkinfo.nested(L.IFLA_INFO_DATA);
  if (data) info[k] = INFO_DATA_DECODERS[k](data);
}
