/**
 * Route requests (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE) and decoding. Defaults follow iproute2:
 * protocol boot, scope universe with a gateway and link without, table main; tables above 255 go in RTA_TABLE.
 */
import { formatIp, formatPrefix, networkOf, type Family } from '../net/ip.js';
import { attr, Attrs, attrU32, concat } from './attr.js';
import * as C from './constants.js';
import { NetlinkArgumentError, NetlinkDecodeError } from './errors.js';
import { formatRtMsg, parseRtMsg } from './headers.js';
import type { NlMessage, NlRequest } from './message.js';
import { checkInt, checkIp, checkPrefix, U32_MAX } from './validate.js';

/** A route as given to add/replace/delete. `dev` must already be an index here (Rtnl resolves names). */
export interface RouteSpec {
  /** "10.9.0.0/16", "fd00::/64", "default" (IPv4) or "default6". */
  dst: string;
  gateway?: string;
  dev?: number;
  /** Routing table id (1..2^32-1); default main (254). */
  table?: number;
  /** RTA_PRIORITY. */
  metric?: number;
  /** Preferred source address (RTA_PREFSRC). */
  src?: string;
  /** RTPROT_*; default RTPROT_BOOT as `ip route add`. */
  proto?: number;
  /** RT_SCOPE_*; default universe with a gateway, link without. */
  scope?: number;
  /** RTN_*; default unicast. */
  type?: number;
}

export type RouteCommand = 'add' | 'replace' | 'delete';

function parseDst(op: string, dst: string) {
  if (dst === 'default' || dst === 'default4') return { family: 4 as Family, bytes: new Uint8Array(4), bits: 0 };
  if (dst === 'default6') return { family: 6 as Family, bytes: new Uint8Array(16), bits: 0 };
  return checkPrefix(op, 'destination', dst);
}

/** RTM_NEWROUTE / RTM_DELROUTE for `spec`; `devName` (the link spec.dev is the index of) only reads in messages. */
export function routeRequest(cmd: RouteCommand, spec: RouteSpec, devName?: string): NlRequest {
  const what = `${cmd} route ${spec.dst}${devName !== undefined ? ` dev ${devName}` : ''}${spec.table !== undefined ? ` table ${spec.table}` : ''}`;
  const dst = parseDst(what, spec.dst);
  const attrs: Uint8Array[] = [];
  if (dst.bits > 0) attrs.push(attr(C.RTA_DST, dst.bytes));
  if (spec.src !== undefined) attrs.push(attr(C.RTA_PREFSRC, checkIp(what, 'src', spec.src, dst.family).bytes));
  if (spec.gateway !== undefined) attrs.push(attr(C.RTA_GATEWAY, checkIp(what, 'gateway', spec.gateway, dst.family).bytes));
  const table = spec.table === undefined ? C.RT_TABLE_MAIN : checkInt(what, 'table', spec.table, 1, U32_MAX);
  if (table > C.RT_TABLE_MAX_IN_HEADER) attrs.push(attrU32(C.RTA_TABLE, table));
  if (spec.metric !== undefined) attrs.push(attrU32(C.RTA_PRIORITY, checkInt(what, 'metric', spec.metric, 0, U32_MAX)));
  if (spec.dev !== undefined) attrs.push(attrU32(C.RTA_OIF, checkInt(what, 'dev index', spec.dev, 1, 0x7fffffff)));
  if (cmd !== 'delete' && spec.gateway === undefined && spec.dev === undefined && spec.type === undefined) {
    throw new NetlinkArgumentError(`${what}: needs a gateway or a dev`);
  }
  const isDelete = cmd === 'delete';
  const defaultScope = isDelete ? C.RT_SCOPE_NOWHERE : spec.gateway !== undefined ? C.RT_SCOPE_UNIVERSE : C.RT_SCOPE_LINK;
  const hdr = formatRtMsg({
    family: dst.family === 4 ? C.AF_INET : C.AF_INET6,
    dstLen: dst.bits,
    srcLen: 0,
    tos: 0,
    table: table > C.RT_TABLE_MAX_IN_HEADER ? C.RT_TABLE_UNSPEC : table,
    protocol: spec.proto ?? (isDelete ? C.RTPROT_UNSPEC : C.RTPROT_BOOT),
    scope: spec.scope ?? defaultScope,
    type: spec.type ?? (isDelete ? C.RTN_UNSPEC : C.RTN_UNICAST),
    flags: 0,
  });
  const flags =
    C.NLM_F_REQUEST | C.NLM_F_ACK | (cmd === 'add' ? C.NLM_F_CREATE | C.NLM_F_EXCL : cmd === 'replace' ? C.NLM_F_CREATE | C.NLM_F_REPLACE : 0);
  const type = isDelete ? C.RTM_DELROUTE : C.RTM_NEWROUTE;
  return { type, flags, body: concat([hdr, ...attrs]), what };
}

export function dumpRoutesRequest(family: 4 | 6, what = `list IPv${family} routes`): NlRequest {
  const hdr = formatRtMsg({ family: family === 4 ? C.AF_INET : C.AF_INET6, dstLen: 0, srcLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 });
  return { type: C.RTM_GETROUTE, flags: C.NLM_F_REQUEST | C.NLM_F_DUMP, body: hdr, what, dump: true };
}

/** RTM_GETROUTE for one address: which way the kernel would send a packet to it (`ip route get`). */
export function getRouteRequest(address: string): NlRequest {
  const what = `get route to ${address}`;
  const a = checkIp(what, 'destination', address);
  const hdr = formatRtMsg({ family: a.family === 4 ? C.AF_INET : C.AF_INET6, dstLen: a.bytes.length * 8, srcLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 });
  return { type: C.RTM_GETROUTE, flags: C.NLM_F_REQUEST | C.NLM_F_ACK, body: concat([hdr, attr(C.RTA_DST, a.bytes)]), what };
}

export interface RouteInfo {
  family: 4 | 6;
  /** "10.9.0.0/16"; the default route is "0.0.0.0/0" or "::/0". */
  dst: string;
  gateway?: string;
  /** Output interface index (RTA_OIF). */
  dev?: number;
  table: number;
  metric?: number;
  /** Preferred source (RTA_PREFSRC). */
  src?: string;
  proto: number;
  scope: number;
  type: number;
  /** RTA_METRICS / RTAX_MTU when the route carries one. */
  mtu?: number;
}

export function parseRoute(msg: NlMessage): RouteInfo {
  if (msg.type !== C.RTM_NEWROUTE) throw new NetlinkDecodeError(`expected RTM_NEWROUTE, got message type ${msg.type}`);
  const h = parseRtMsg(msg.payload);
  if (h.family !== C.AF_INET && h.family !== C.AF_INET6) throw new NetlinkDecodeError(`route family ${h.family} is not IPv4/IPv6`);
  const family: Family = h.family === C.AF_INET ? 4 : 6;
  const len = family === 4 ? 4 : 16;
  if (h.dstLen > len * 8) throw new NetlinkDecodeError(`route dst_len ${h.dstLen} too long for IPv${family}`);
  const a = new Attrs(msg.payload, C.RTMSG_LEN);
  const addr = (type: number) => {
    const b = a.address(type);
    if (b && b.length !== len) throw new NetlinkDecodeError(`route attribute ${type}: ${b.length}-byte address in an IPv${family} route`);
    return b;
  };
  const dstBytes = addr(C.RTA_DST) ?? new Uint8Array(len);
  const info: RouteInfo = {
    family,
    dst: formatPrefix(networkOf({ family, bytes: dstBytes, bits: h.dstLen })),
    table: a.u32(C.RTA_TABLE) ?? h.table,
    proto: h.protocol,
    scope: h.scope,
    type: h.type,
  };
  const gw = addr(C.RTA_GATEWAY);
  if (gw) info.gateway = formatIp(gw);
  const oif = a.u32(C.RTA_OIF);
  if (oif !== undefined) info.dev = oif;
  const metric = a.u32(C.RTA_PRIORITY);
  if (metric !== undefined) info.metric = metric;
  const src = addr(C.RTA_PREFSRC);
  if (src) info.src = formatIp(src);
  const mtu = a.nested(C.RTA_METRICS)?.u32(C.RTAX_MTU);
  if (mtu !== undefined) info.mtu = mtu;
  return info;
}
