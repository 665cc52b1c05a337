/**
 * Bridge FDB requests (RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH with AF_BRIDGE) and decoding. The main use:
 * `bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.2` (flood to a VXLAN remote) — NTF_SELF,
 * NUD_PERMANENT|NUD_NOARP, NLM_F_CREATE|NLM_F_APPEND, NDA_LLADDR + NDA_DST.
 */
import { formatIp } from '../net/ip.js';
import { attr, Attrs, attrU16be, attrU32, concat } from './attr.js';
import * as C from './constants.js';
import { NetlinkDecodeError } from './errors.js';
import { formatNdMsg, parseNdMsg } from './headers.js';
import type { NlMessage, NlRequest } from './message.js';
import { checkInt, checkIp, checkMac, formatMac, isMacLength } from './validate.js';

export interface FdbSpec {
  /** The device's index (a vxlan, or a bridge port). */
  index: number;
  mac: string;
  /** Remote VTEP address (vxlan). */
  dst?: string;
  /** VNI override (NDA_VNI). */
  vni?: number;
  /** UDP port override (NDA_PORT, network order). */
  port?: number;
}

export function fdbRequest(cmd: 'append' | 'delete', s: FdbSpec, dev: string | number = s.index): NlRequest {
  const what = `${cmd} fdb ${s.mac} dev ${dev}${s.dst !== undefined ? ` dst ${s.dst}` : ''}`;
  checkInt(what, 'index', s.index, 1, 0x7fffffff);
  const attrs = [attr(C.NDA_LLADDR, checkMac(what, s.mac))];
  if (s.dst !== undefined) attrs.push(attr(C.NDA_DST, checkIp(what, 'dst', s.dst).bytes));
  if (s.port !== undefined) attrs.push(attrU16be(C.NDA_PORT, checkInt(what, 'port', s.port, 1, 0xffff)));
  if (s.vni !== undefined) attrs.push(attrU32(C.NDA_VNI, checkInt(what, 'vni', s.vni, 0, 0xffffff)));
  const hdr = formatNdMsg({ family: C.AF_BRIDGE, index: s.index, state: C.NUD_PERMANENT | C.NUD_NOARP, flags: C.NTF_SELF, type: 0 });
  const isAppend = cmd === 'append';
  return {
    type: isAppend ? C.RTM_NEWNEIGH : C.RTM_DELNEIGH,
    flags: C.NLM_F_REQUEST | C.NLM_F_ACK | (isAppend ? C.NLM_F_CREATE | C.NLM_F_APPEND : 0),
    body: concat([hdr, ...attrs]),
    what,
  };
}

export function dumpFdbRequest(what = 'list fdb'): NlRequest {
  return {
    type: C.RTM_GETNEIGH,
    flags: C.NLM_F_REQUEST | C.NLM_F_DUMP,
    body: formatNdMsg({ family: C.AF_BRIDGE, index: 0, state: 0, flags: 0, type: 0 }),
    what,
    dump: true,
  };
}

export interface FdbEntry {
  index: number;
  mac: string;
  dst?: string;
  /** NUD_* */
  state: number;
  /** NTF_* */
  flags: number;
  /** The bridge the port belongs to (NDA_MASTER). */
  master?: number;
  vni?: number;
  port?: number;
  vlan?: number;
}

export function parseFdb(msg: NlMessage): FdbEntry {
  if (msg.type !== C.RTM_NEWNEIGH) throw new NetlinkDecodeError(`expected RTM_NEWNEIGH, got message type ${msg.type}`);
  const h = parseNdMsg(msg.payload);
  const a = new Attrs(msg.payload, C.NDMSG_LEN);
  const ll = a.bytes(C.NDA_LLADDR);
  if (!ll || !isMacLength(ll)) throw new NetlinkDecodeError(`fdb entry on link ${h.index} without a 6-byte NDA_LLADDR`);
  const e: FdbEntry = { index: h.index, mac: formatMac(ll), state: h.state, flags: h.flags };
  const dst = a.address(C.NDA_DST);
  if (dst) e.dst = formatIp(dst);
  const master = a.u32(C.NDA_MASTER);
  if (master !== undefined) e.master = master;
  const vni = a.u32(C.NDA_VNI);
  if (vni !== undefined) e.vni = vni;
  const port = a.u16be(C.NDA_PORT);
  if (port !== undefined) e.port = port;
  const vlan = a.u16(C.NDA_VLAN);
  if (vlan !== undefined) e.vlan = vlan;
  return e;
}
