/**
 * FIB rule requests (RTM_NEWRULE / RTM_DELRULE / RTM_GETRULE) and decoding. What wg-quick's full-tunnel mode
 * needs: `ip rule add not fwmark M table T` and `ip rule add table main suppress_prefixlength 0`.
 */
import { Attrs, attrU32, concat } from './attr.js';
import * as C from './constants.js';
import { NetlinkDecodeError } from './errors.js';
import { formatFibRuleHdr, parseFibRuleHdr } from './headers.js';
import type { NlMessage, NlRequest } from './message.js';
import { checkInt, U32_MAX } from './validate.js';

export interface RuleSpec {
  family: 4 | 6;
  /** FRA_PRIORITY ("pref"); the kernel picks one below the last rule when absent. */
  priority?: number;
  /** Lookup table; default main. */
  table?: number;
  fwmark?: number;
  /** FRA_FWMASK; the kernel uses 0xffffffff when a mark is given without one. */
  fwmask?: number;
  /** FIB_RULE_INVERT: the selector is negated ("not fwmark ..."). */
  invert?: boolean;
  /** FRA_SUPPRESS_PREFIXLEN: ignore lookup results with a prefix this long or shorter. */
  suppressPrefixLength?: number;
}

function describe(cmd: string, r: RuleSpec): string {
  const parts = [`${cmd} rule`];
  if (r.priority !== undefined) parts.push(`pref ${r.priority}`);
  if (r.invert) parts.push('not');
  if (r.fwmark !== undefined) parts.push(`fwmark 0x${r.fwmark.toString(16)}${r.fwmask !== undefined ? `/0x${r.fwmask.toString(16)}` : ''}`);
  parts.push(`table ${r.table ?? 'main'}`);
  if (r.suppressPrefixLength !== undefined) parts.push(`suppress_prefixlength ${r.suppressPrefixLength}`);
  return `${parts.join(' ')} (IPv${r.family})`;
}

export function ruleRequest(cmd: 'add' | 'delete', r: RuleSpec): NlRequest {
  const what = describe(cmd, r);
  if (r.family !== 4 && r.family !== 6) checkInt(what, 'family (4 or 6)', r.family, 4, 4);
  const maxPrefix = r.family === 4 ? 32 : 128;
  const table = r.table === undefined ? C.RT_TABLE_MAIN : checkInt(what, 'table', r.table, 1, U32_MAX);
  const attrs: Uint8Array[] = [];
  if (r.priority !== undefined) attrs.push(attrU32(C.FRA_PRIORITY, checkInt(what, 'priority', r.priority, 0, U32_MAX)));
  if (r.fwmark !== undefined) attrs.push(attrU32(C.FRA_FWMARK, checkInt(what, 'fwmark', r.fwmark, 0, U32_MAX)));
  if (r.fwmask !== undefined) attrs.push(attrU32(C.FRA_FWMASK, checkInt(what, 'fwmask', r.fwmask, 0, U32_MAX)));
  if (table > C.RT_TABLE_MAX_IN_HEADER) attrs.push(attrU32(C.FRA_TABLE, table));
  if (r.suppressPrefixLength !== undefined) {
    attrs.push(attrU32(C.FRA_SUPPRESS_PREFIXLEN, checkInt(what, 'suppressPrefixLength', r.suppressPrefixLength, 0, maxPrefix)));
  }
  const hdr = formatFibRuleHdr({
    family: r.family === 4 ? C.AF_INET : C.AF_INET6,
    dstLen: 0,
    srcLen: 0,
    tos: 0,
    table: table > C.RT_TABLE_MAX_IN_HEADER ? C.RT_TABLE_UNSPEC : table,
    action: C.FR_ACT_TO_TBL,
    flags: r.invert ? C.FIB_RULE_INVERT : 0,
  });
  const isAdd = cmd === 'add';
  return {
    type: isAdd ? C.RTM_NEWRULE : C.RTM_DELRULE,
    flags: C.NLM_F_REQUEST | C.NLM_F_ACK | (isAdd ? C.NLM_F_CREATE | C.NLM_F_EXCL : 0),
    body: concat([hdr, ...attrs]),
    what,
  };
}

export function dumpRulesRequest(family: 4 | 6, what = `list IPv${family} rules`): NlRequest {
  const hdr = formatFibRuleHdr({ family: family === 4 ? C.AF_INET : C.AF_INET6, dstLen: 0, srcLen: 0, tos: 0, table: 0, action: 0, flags: 0 });
  return { type: C.RTM_GETRULE, flags: C.NLM_F_REQUEST | C.NLM_F_DUMP, body: hdr, what, dump: true };
}

export interface RuleInfo {
  family: 4 | 6;
  priority: number;
  table: number;
  /** FR_ACT_* */
  action: number;
  invert: boolean;
  fwmark?: number;
  fwmask?: number;
  suppressPrefixLength?: number;
}

/** The kernel reports "no suppress_prefixlength" as -1 (or leaves the attribute out). */
const SUPPRESS_UNSET = 0xffffffff;

export function parseRule(msg: NlMessage): RuleInfo {
  if (msg.type !== C.RTM_NEWRULE) throw new NetlinkDecodeError(`expected RTM_NEWRULE, got message type ${msg.type}`);
  const h = parseFibRuleHdr(msg.payload);
  if (h.family !== C.AF_INET && h.family !== C.AF_INET6) throw new NetlinkDecodeError(`rule family ${h.family} is not IPv4/IPv6`);
  const a = new Attrs(msg.payload, C.FIB_RULE_HDR_LEN);
  const info: RuleInfo = {
    family: h.family === C.AF_INET ? 4 : 6,
    priority: a.u32(C.FRA_PRIORITY) ?? 0,
    table: a.u32(C.FRA_TABLE) ?? h.table,
    action: h.action,
    invert: (h.flags & C.FIB_RULE_INVERT) !== 0,
  };
  const mark = a.u32(C.FRA_FWMARK);
  if (mark !== undefined) info.fwmark = mark;
  const mask = a.u32(C.FRA_FWMASK);
  if (mask !== undefined) info.fwmask = mask;
  const sup = a.u32(C.FRA_SUPPRESS_PREFIXLEN);
  if (sup !== undefined && sup !== SUPPRESS_UNSET) info.suppressPrefixLength = sup;
  return info;
}
