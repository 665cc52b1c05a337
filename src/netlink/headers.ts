/**
 * The fixed family headers that follow nlmsghdr, paired format/parse. Parsers check the payload is at least the
 * header's size and return the attributes' start offset (the header size, already 4-aligned).
 */
import { FIB_RULE_HDR_LEN, IFADDRMSG_LEN, IFINFOMSG_LEN, NDMSG_LEN, RTMSG_LEN } from './constants.js';
import { HOST_LE } from './endian.js';
import { NetlinkDecodeError } from './errors.js';

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function need(p: Uint8Array, size: number, what: string): DataView {
  if (p.length < size) throw new NetlinkDecodeError(`${what}: ${p.length} bytes, want ${size}`);
  return view(p);
}

/** struct ifinfomsg { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change } */
export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}

export function formatIfInfoMsg(h: Partial<IfInfoMsg> = {}): Uint8Array {
  const b = new Uint8Array(IFINFOMSG_LEN);
  const v = view(b);
  v.setUint8(0, h.family ?? 0);
  v.setUint16(2, h.type ?? 0, HOST_LE);
  v.setInt32(4, h.index ?? 0, HOST_LE);
  v.setUint32(8, (h.flags ?? 0) >>> 0, HOST_LE);
  v.setUint32(12, (h.change ?? 0) >>> 0, HOST_LE);
  return b;
}

export function parseIfInfoMsg(p: Uint8Array): IfInfoMsg {
  const v = need(p, IFINFOMSG_LEN, 'ifinfomsg');
  return { family: v.getUint8(0), type: v.getUint16(2, HOST_LE), index: v.getInt32(4, HOST_LE), flags: v.getUint32(8, HOST_LE), change: v.getUint32(12, HOST_LE) };
}

/** struct ifaddrmsg { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index } */
export interface IfAddrMsg {
  family: number;
  prefixLen: number;
  flags: number;
  scope: number;
  index: number;
}

export function formatIfAddrMsg(h: IfAddrMsg): Uint8Array {
  const b = new Uint8Array(IFADDRMSG_LEN);
  const v = view(b);
  v.setUint8(0, h.family);
  v.setUint8(1, h.prefixLen);
  v.setUint8(2, h.flags & 0xff);
  v.setUint8(3, h.scope);
  v.setUint32(4, h.index, HOST_LE);
  return b;
}

export function parseIfAddrMsg(p: Uint8Array): IfAddrMsg {
  const v = need(p, IFADDRMSG_LEN, 'ifaddrmsg');
  return { family: v.getUint8(0), prefixLen: v.getUint8(1), flags: v.getUint8(2), scope: v.getUint8(3), index: v.getUint32(4, HOST_LE) };
}

/** struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags } */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

export function formatRtMsg(h: RtMsg): Uint8Array {
  const b = new Uint8Array(RTMSG_LEN);
  const v = view(b);
  [h.family, h.dstLen, h.srcLen, h.tos, h.table, h.protocol, h.scope, h.type].forEach((x, i) => v.setUint8(i, x));
  v.setUint32(8, h.flags >>> 0, HOST_LE);
  return b;
}

export function parseRtMsg(p: Uint8Array): RtMsg {
  const v = need(p, RTMSG_LEN, 'rtmsg');
  const u = (i: number) => v.getUint8(i);
  return { family: u(0), dstLen: u(1), srcLen: u(2), tos: u(3), table: u(4), protocol: u(5), scope: u(6), type: u(7), flags: v.getUint32(8, HOST_LE) };
}

/** struct fib_rule_hdr { u8 family, dst_len, src_len, tos, table, res1, res2, action; u32 flags } */
export interface FibRuleHdr {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  action: number;
  flags: number;
}

export function formatFibRuleHdr(h: FibRuleHdr): Uint8Array {
  const b = new Uint8Array(FIB_RULE_HDR_LEN);
  const v = view(b);
  [h.family, h.dstLen, h.srcLen, h.tos, h.table, 0, 0, h.action].forEach((x, i) => v.setUint8(i, x));
  v.setUint32(8, h.flags >>> 0, HOST_LE);
  return b;
}

export function parseFibRuleHdr(p: Uint8Array): FibRuleHdr {
  const v = need(p, FIB_RULE_HDR_LEN, 'fib_rule_hdr');
  const u = (i: number) => v.getUint8(i);
  return { family: u(0), dstLen: u(1), srcLen: u(2), tos: u(3), table: u(4), action: u(7), flags: v.getUint32(8, HOST_LE) };
}

/** struct ndmsg { u8 family; u8 pad1; u16 pad2; s32 ifindex; u16 state; u8 flags; u8 type } */
export interface NdMsg {
  family: number;
  index: number;
  state: number;
  flags: number;
  type: number;
}

export function formatNdMsg(h: NdMsg): Uint8Array {
  const b = new Uint8Array(NDMSG_LEN);
  const v = view(b);
  v.setUint8(0, h.family);
  v.setInt32(4, h.index, HOST_LE);
  v.setUint16(8, h.state, HOST_LE);
  v.setUint8(10, h.flags);
  v.setUint8(11, h.type);
  return b;
}

export function parseNdMsg(p: Uint8Array): NdMsg {
  const v = need(p, NDMSG_LEN, 'ndmsg');
  return { family: v.getUint8(0), index: v.getInt32(4, HOST_LE), state: v.getUint16(8, HOST_LE), flags: v.getUint8(10), type: v.getUint8(11) };
}
