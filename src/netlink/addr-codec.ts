/** Address requests (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR) and decoding. Byte-compatible with `ip addr`. */
import { formatIp, formatPrefix, type Prefix } from '../net/ip.js';
import { attr, Attrs, concat } from './attr.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_F_NODAD,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  IFADDRMSG_LEN,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  RT_SCOPE_UNIVERSE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from './constants.js';
import { NetlinkDecodeError } from './errors.js';
import { formatIfAddrMsg, parseIfAddrMsg } from './headers.js';
import type { NlMessage, NlRequest } from './message.js';
import { checkInt, checkPrefix } from './validate.js';

export interface AddressOptions {
  /** IPv6 only: skip duplicate address detection, so the address is usable at once (IFA_F_NODAD). */
  nodad?: boolean;
}

export const familyOf = (p: { family: 4 | 6 }) => (p.family === 4 ? AF_INET : AF_INET6);

/** The ifaddrmsg + IFA_LOCAL + IFA_ADDRESS shared by add and delete (as iproute2 sends them). */
function addrBody(index: number, p: Prefix, flags: number): Uint8Array {
  return concat([
    formatIfAddrMsg({ family: familyOf(p), prefixLen: p.bits, flags, scope: RT_SCOPE_UNIVERSE, index }),
    attr(IFA_LOCAL, p.bytes),
    attr(IFA_ADDRESS, p.bytes),
  ]);
}

/** RTM_NEWADDR (CREATE|EXCL): `ip addr add CIDR dev IFINDEX [nodad]`. */
export function addAddressRequest(index: number, cidr: string, opts: AddressOptions = {}, dev: string | number = index): NlRequest {
  const what = `add address ${cidr} to ${dev}`;
  checkInt(what, 'index', index, 1, 0x7fffffff);
  const p = checkPrefix(what, 'address', cidr);
  const flags = opts.nodad && p.family === 6 ? IFA_F_NODAD : 0;
  return { type: RTM_NEWADDR, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body: addrBody(index, p, flags), what };
}

export function deleteAddressRequest(index: number, cidr: string, dev: string | number = index): NlRequest {
  const what = `delete address ${cidr} from ${dev}`;
  checkInt(what, 'index', index, 1, 0x7fffffff);
  const p = checkPrefix(what, 'address', cidr);
  return { type: RTM_DELADDR, flags: NLM_F_REQUEST | NLM_F_ACK, body: addrBody(index, p, 0), what };
}

export function dumpAddressesRequest(family: 0 | 4 | 6 = 0, what = 'list addresses'): NlRequest {
  const af = family === 0 ? AF_UNSPEC : family === 4 ? AF_INET : AF_INET6;
  return { type: RTM_GETADDR, flags: NLM_F_REQUEST | NLM_F_DUMP, body: formatIfAddrMsg({ family: af, prefixLen: 0, flags: 0, scope: 0, index: 0 }), what, dump: true };
}

export interface AddressInfo {
  index: number;
  family: 4 | 6;
  /** The local address (IFA_LOCAL, else IFA_ADDRESS). */
  address: string;
  prefixLen: number;
  /** "10.0.0.1/24" */
  cidr: string;
  scope: number;
  /** IFA_F_* (from IFA_FLAGS when present: it carries the bits above 8). */
  flags: number;
  label?: string;
}

export function parseAddress(msg: NlMessage): AddressInfo {
  if (msg.type !== RTM_NEWADDR) throw new NetlinkDecodeError(`expected RTM_NEWADDR, got message type ${msg.type}`);
  const h = parseIfAddrMsg(msg.payload);
  if (h.family !== AF_INET && h.family !== AF_INET6) throw new NetlinkDecodeError(`address family ${h.family} is not IPv4/IPv6`);
  const family = h.family === AF_INET ? 4 : 6;
  const a = new Attrs(msg.payload, IFADDRMSG_LEN);
  const bytes = a.address(IFA_LOCAL) ?? a.address(IFA_ADDRESS);
  if (!bytes) throw new NetlinkDecodeError(`address on link ${h.index} without IFA_LOCAL/IFA_ADDRESS`);
  if (bytes.length !== (family === 4 ? 4 : 16)) throw new NetlinkDecodeError(`IPv${family} address of ${bytes.length} bytes`);
  const info: AddressInfo = {
    index: h.index,
    family,
    address: formatIp(bytes),
    prefixLen: h.prefixLen,
    cidr: formatPrefix({ family, bytes, bits: h.prefixLen }),
    scope: h.scope,
    flags: a.u32(IFA_FLAGS) ?? h.flags,
  };
  const label = a.string(IFA_LABEL);
  if (label !== undefined) info.label = label;
  return info;
}
