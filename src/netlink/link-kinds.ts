/**
 * Link kinds, each with its create spec and its IFLA_INFO_DATA codec, in one table (`LINK_KIND_CODECS`): the
 * attributes it sends in RTM_NEWLINK, the links and namespaces its spec names (resolved by LinkOps before
 * encoding), and for some kinds the decoding of what the kernel reports (`INFO_DATA_DECODERS`). Attribute order
 * mirrors iproute2's so requests compare byte for byte with `ip link add ...` (test/netlink/codec.test.ts).
 * Adding a kind: its spec interface, a member of `LinkSpec`, and its entry in the table.
 */
import { attr, attrNest, attrString, attrU16, attrU16be, attrU32, attrU32be, attrU8, type Attrs } from './attr.js';
import { NetlinkArgumentError } from './errors.js';
import { formatIfInfoMsg } from './headers.js';
import * as L from './if-link.js';
import { linkName, refIndex, type LinkRef, type NetnsRef } from './link-ref.js';
import { checkIfName, checkInt, checkIp } from './validate.js';
import { formatIp } from '../net/ip.js';
import { MAX_PORT } from '../net/endpoint.js';

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

/** Names in a spec that the caller resolves before encoding: links to ifindices, a namespace name to an fd. */
export interface SpecReferences {
  parent?: LinkRef;
  dev?: LinkRef;
  peerNetns?: NetnsRef;
}

/** Names already resolved by the caller (Rtnl): indices for parent/dev, an fd for the peer's namespace. */
export interface ResolvedRefs {
  parent?: number;
  dev?: number;
  peerNetnsFd?: number;
}

/** A kind's part of RTM_NEWLINK: attributes before IFLA_IFNAME (`pre`, e.g. IFLA_LINK) and IFLA_INFO_DATA's. */
export interface KindAttrs {
  pre: Uint8Array[];
  data?: Uint8Array[];
}

/** One link kind on the wire. */
export interface LinkKindCodec<S extends LinkSpec> {
  /** How the kernel makes it: RTM_NEWLINK, or TUNSETIFF + TUNSETPERSIST on /dev/net/tun (tun, tap). */
  readonly createdBy: 'rtnetlink' | 'tunsetiff';
  /** The links and namespace the spec names, for the caller to resolve into `ResolvedRefs`. */
  references?(spec: S): SpecReferences;
  /** Its attributes; throws NetlinkArgumentError (message starting with `op`) for values the kernel would refuse. */
  encode(op: string, spec: S, refs: ResolvedRefs): KindAttrs;
}

const MACVLAN_MODES: Record<MacvlanMode, number> = {
  private: L.MACVLAN_MODE_PRIVATE,
  vepa: L.MACVLAN_MODE_VEPA,
  bridge: L.MACVLAN_MODE_BRIDGE,
  passthru: L.MACVLAN_MODE_PASSTHRU,
  source: L.MACVLAN_MODE_SOURCE,
};
const IPVLAN_MODES: Record<IpvlanMode, number> = { l2: L.IPVLAN_MODE_L2, l3: L.IPVLAN_MODE_L3, l3s: L.IPVLAN_MODE_L3S };

/** VXLAN and Geneve network identifiers are 24-bit (RFC 7348, RFC 8926). */
const VNI_MAX = 0xffffff;
/** 802.1Q VLAN ids are 12-bit. */
const VLAN_ID_MAX = 4095;
const TTL_MAX = 255;

function resolvedIndex(op: string, field: string, ref: LinkRef, resolved: number | undefined): number {
  const index = refIndex(ref) ?? resolved;
  if (index === undefined) throw new NetlinkArgumentError(`${op}: ${field} ${JSON.stringify(linkName(ref))} was not resolved to an index`);
  return checkInt(op, `${field} index`, index, 1, 0x7fffffff);
}

/** An address payload (4 or 16 bytes). */
const attrBytes = (type: number, b: Uint8Array): Uint8Array => attr(type, b);

/** IFLA_LINK = the parent's index, before IFLA_IFNAME (as `ip link add link PARENT ...`). */
function parentAttr(op: string, spec: { parent: LinkRef }, refs: ResolvedRefs): Uint8Array {
  return attrU32(L.IFLA_LINK, resolvedIndex(op, 'parent', spec.parent, refs.parent));
}

const tunsetiff: LinkKindCodec<TunSpec> = {
  createdBy: 'tunsetiff',
  encode(op, spec) {
    throw new NetlinkArgumentError(`${op}: ${spec.kind} devices are created with TUNSETIFF, not rtnetlink`);
  },
};

/** Every kind's codec, by IFLA_INFO_KIND. */
export const LINK_KIND_CODECS: { readonly [K in LinkKind]: LinkKindCodec<Extract<LinkSpec, { kind: K }>> } = {
  veth: {
    createdBy: 'rtnetlink',
    references: (spec) => (spec.peerNetns === undefined ? {} : { peerNetns: spec.peerNetns }),
    encode(op, spec, refs) {
      const peer = [formatIfInfoMsg(), attrString(L.IFLA_IFNAME, checkIfName(op, spec.peerName, 'peer name'))];
      if (spec.peerNetns !== undefined) {
        const fd = typeof spec.peerNetns === 'number' ? spec.peerNetns : refs.peerNetnsFd;
        if (fd === undefined) throw new NetlinkArgumentError(`${op}: peer namespace ${JSON.stringify(spec.peerNetns)} was not opened`);
        peer.push(attrU32(L.IFLA_NET_NS_FD, checkInt(op, 'peer namespace fd', fd, 0, 0x7fffffff)));
      }
      return { pre: [], data: [attrNest(L.VETH_INFO_PEER, peer)] };
    },
  },
  bridge: { createdBy: 'rtnetlink', encode: () => ({ pre: [] }) },
  vxlan: {
    createdBy: 'rtnetlink',
    references: (spec) => (spec.dev === undefined ? {} : { dev: spec.dev }),
    encode(op, spec, refs) {
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
    },
  },
  macvlan: {
    createdBy: 'rtnetlink',
    references: (spec) => ({ parent: spec.parent }),
    encode(op, spec, refs) {
      const mode = MACVLAN_MODES[spec.mode];
      if (mode === undefined) throw new NetlinkArgumentError(`${op}: unknown macvlan mode ${JSON.stringify(spec.mode)}`);
      return { pre: [parentAttr(op, spec, refs)], data: [attrU32(L.IFLA_MACVLAN_MODE, mode)] };
    },
  },
  ipvlan: {
    createdBy: 'rtnetlink',
    references: (spec) => ({ parent: spec.parent }),
    encode(op, spec, refs) {
      const mode = IPVLAN_MODES[spec.mode];
      if (mode === undefined) throw new NetlinkArgumentError(`${op}: unknown ipvlan mode ${JSON.stringify(spec.mode)}`);
      return { pre: [parentAttr(op, spec, refs)], data: [attrU16(L.IFLA_IPVLAN_MODE, mode), attrU16(L.IFLA_IPVLAN_FLAGS, 0)] };
    },
  },
  vlan: {
    createdBy: 'rtnetlink',
    references: (spec) => ({ parent: spec.parent }),
    encode: (op, spec, refs) => ({
      pre: [parentAttr(op, spec, refs)],
      data: [attrU16(L.IFLA_VLAN_ID, checkInt(op, 'vlan id', spec.id, 0, VLAN_ID_MAX))],
    }),
  },
  geneve: {
    createdBy: 'rtnetlink',
    encode(op, spec) {
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
    },
  },
  tun: tunsetiff,
  tap: tunsetiff,
};

/** The codec of `kind`, or undefined for a kind this table does not know. */
export function linkKindCodec(kind: string): LinkKindCodec<LinkSpec> | undefined {
  return Object.hasOwn(LINK_KIND_CODECS, kind) ? LINK_KIND_CODECS[kind as LinkKind] : undefined;
}

/** What a vxlan's IFLA_INFO_DATA says, as far as the decoder understands it. */
export interface VxlanInfo {
  id?: number;
  dstPort?: number;
  local?: string;
  remote?: string;
  /** IFLA_VXLAN_LINK: the underlying device's index. */
  dev?: number;
  learning?: boolean;
}

/** Kind-specific details `parseLink` decodes from IFLA_INFO_DATA, by IFLA_INFO_KIND (a LinkInfo field each). */
export interface LinkInfoData {
  vxlan: VxlanInfo;
}

function parseVxlanData(d: Attrs): VxlanInfo {
  const out: VxlanInfo = {};
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

/** The IFLA_INFO_DATA decoders: one per kind in LinkInfoData. */
export const INFO_DATA_DECODERS: { readonly [K in keyof LinkInfoData]: (data: Attrs) => LinkInfoData[K] } = {
  vxlan: parseVxlanData,
};
