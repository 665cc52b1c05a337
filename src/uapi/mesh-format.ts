/**
 * tunvpn's two mesh extensions of the configuration protocol (neither is ever sent by `wg`):
 *
 * `mesh=1` asks a daemon whose interface is in a mesh (a [Mesh] section) for the members it sees. The reply is
 * `key=value` lines like a get reply, then `errno=0` and the empty line:
 *
 *     state=synced                    the agent's state: idle, syncing, synced, outage, stopped
 *     since=1767225600000             wall ms when that state began
 *     note=…                          a line of explanation (e.g. why the agent has not started), optional
 *     vtep_device=vx-lan              a vxlan whose FDB follows the mesh (site `Remote = mesh`), repeated
 *     self=<base64 key>               this node's record; the keys below describe it until the next self/member
 *     member=<base64 key>             one other member; the keys below describe it
 *       name=site-b  status=peer|refused|self  endpoint=10.40.0.12:51820  allowed_ip=10.50.0.12/32 (repeated)
 *       refused_allowed_ip=… (repeated)  vtep=10.50.0.12  lease_age=12 (s)  create_revision=7
 *       latest_handshake=1767225612345 (wall ms, only when there was one)
 *     invalid=<etcd key> <reason>     a value under the members prefix that was refused, repeated
 *     refusal=<log line>              something a member asked for and did not get, repeated
 *
 * A daemon without a mesh answers `errno=95` (EOPNOTSUPP) alone.
 *
 * `vtep=1` registers a vxlan device with the daemon's mesh (or, with remove=true, takes it away), body lines then
 * the empty line, as a set:
 *
 *     device=vx-lan                   the vxlan, in the daemon's network namespace
 *     address=10.50.0.11              this node's VTEP (the vxlan's local address); absent with remove
 *     remove=true                     optional
 *
 * answered like reload=1: `message=` lines, then `errno=N` (0 done; EINVAL refused, nothing changed; EOPNOTSUPP no
 * mesh here) and the empty line.
 *
 * Every text value is written on one line, as UTF-8, with control characters (newlines included) replaced by '?':
 * some come from etcd and are not trusted. Parsers return undefined for anything that is not such a reply; they never
 * throw.
 */
import { CONTROL_CHARACTERS, formatErrnoReply, formatReloadReply, parseReloadReply } from './text-format.js';
import { EOPNOTSUPP } from './errors.js';
import { ifnameProblem } from '../net/ifname.js';
import { formatIp, parseIp, type IpAddress } from '../net/ip.js';

/** One member (or this node) as `mesh=1` reports it. Mirrors the mesh agent's member view. */
export interface MeshMemberStatus {
  name: string;
  /** base64 */
  publicKey: string;
  status: string;
  endpoint?: string;
  allowedIPs: string[];
  refusedAllowedIPs: string[];
  vtep?: string;
  leaseAgeSeconds?: number;
  /** Decimal etcd create revision of its key; absent for this node's own record. */
  createRevision?: string;
  /** Wall ms of the latest handshake, when there was one. */
  latestHandshake?: number;
}

export interface MeshStatus {
  state: string;
  /** Wall ms. */
  since: number;
  note?: string;
  /** Vxlan devices whose FDB follows the mesh. */
  vtepDevices: string[];
  self?: MeshMemberStatus;
  members: MeshMemberStatus[];
  invalid: { key: string; reason: string }[];
  refusals: string[];
}

/** What a `vtep=1` request asks. */
export type VtepRequest = { device: string; remove: false; address: IpAddress } | { device: string; remove: true };

/** Longest text value written, in characters (a refusal line is well under 200). */
const MAX_VALUE_CHARS = 1024;

/** One line: control characters (newlines included) become '?', as in reload replies; the rest goes as UTF-8. */
function clean(text: string): string {
  const one = text.replace(CONTROL_CHARACTERS, '?');
  return one.length > MAX_VALUE_CHARS ? one.slice(0, MAX_VALUE_CHARS) : one;
}

function member(kind: 'self' | 'member', m: MeshMemberStatus): string {
  let out = `${kind}=${clean(m.publicKey)}\nname=${clean(m.name)}\nstatus=${clean(m.status)}\n`;
  if (m.endpoint !== undefined) out += `endpoint=${clean(m.endpoint)}\n`;
  for (const p of m.allowedIPs) out += `allowed_ip=${clean(p)}\n`;
  for (const p of m.refusedAllowedIPs) out += `refused_allowed_ip=${clean(p)}\n`;
  if (m.vtep !== undefined) out += `vtep=${clean(m.vtep)}\n`;
  if (m.leaseAgeSeconds !== undefined && Number.isSafeInteger(m.leaseAgeSeconds)) out += `lease_age=${m.leaseAgeSeconds}\n`;
  if (m.createRevision !== undefined) out += `create_revision=${clean(m.createRevision)}\n`;
  if (m.latestHandshake !== undefined && Number.isSafeInteger(m.latestHandshake)) out += `latest_handshake=${m.latestHandshake}\n`;
  return out;
}

/** The reply to `mesh=1`. */
export function formatMeshReply(s: MeshStatus): string {
  let out = `state=${clean(s.state)}\nsince=${Number.isSafeInteger(s.since) ? s.since : 0}\n`;
  if (s.note !== undefined) out += `note=${clean(s.note)}\n`;
  for (const d of s.vtepDevices) out += `vtep_device=${clean(d)}\n`;
  if (s.self) out += member('self', s.self);
  for (const m of s.members) out += member('member', m);
  for (const i of s.invalid) out += `invalid=${clean(i.key).replaceAll(' ', '?')} ${clean(i.reason)}\n`;
  for (const r of s.refusals) out += `refusal=${clean(r)}\n`;
  return `${out}errno=0\n\n`;
}

/** The reply of a daemon that has no mesh. */
export function formatNoMeshReply(): string {
  return formatErrnoReply('get', EOPNOTSUPP);
}

const INTEGER = /^[0-9]{1,16}$/;

/**
 * Parses a `mesh=1` reply: the status, `null` when the daemon has no mesh (errno=95), undefined when the text is
 * not a mesh reply.
 */
export function parseMeshReply(text: string): MeshStatus | null | undefined {
  const lines = text.split('\n');
  if (lines.at(-1) !== '' || lines.at(-2) !== '') return undefined;
  const last = lines.at(-3);
  if (last === `errno=${EOPNOTSUPP}` && lines.length === 3) return null;
  if (last !== 'errno=0') return undefined;
  const status: MeshStatus = { state: '', since: 0, vtepDevices: [], members: [], invalid: [], refusals: [] };
  let current: MeshMemberStatus | undefined;
  for (const line of lines.slice(0, -3)) {
    const eq = line.indexOf('=');
    if (eq <= 0) return undefined;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'self' || key === 'member') {
      current = { name: '', publicKey: value, status: '', allowedIPs: [], refusedAllowedIPs: [] };
      if (key === 'self') status.self = current;
      else status.members.push(current);
      continue;
    }
    if (current) {
      switch (key) {
        case 'name':
          current.name = value;
          continue;
        case 'status':
          current.status = value;
          continue;
        case 'endpoint':
          current.endpoint = value;
          continue;
        case 'allowed_ip':
          current.allowedIPs.push(value);
          continue;
        case 'refused_allowed_ip':
          current.refusedAllowedIPs.push(value);
          continue;
        case 'vtep':
          current.vtep = value;
          continue;
        case 'lease_age':
          if (!INTEGER.test(value)) return undefined;
          current.leaseAgeSeconds = Number(value);
          continue;
        case 'create_revision':
          if (!INTEGER.test(value)) return undefined;
          current.createRevision = value;
          continue;
        case 'latest_handshake':
          if (!INTEGER.test(value)) return undefined;
          current.latestHandshake = Number(value);
          continue;
      }
    }
    switch (key) {
      case 'state':
        status.state = value;
        break;
      case 'since':
        if (!INTEGER.test(value)) return undefined;
        status.since = Number(value);
        break;
      case 'note':
        status.note = value;
        break;
      case 'vtep_device':
        status.vtepDevices.push(value);
        break;
      case 'invalid': {
        const sp = value.indexOf(' ');
        status.invalid.push(sp < 0 ? { key: value, reason: '' } : { key: value.slice(0, sp), reason: value.slice(sp + 1) });
        break;
      }
      case 'refusal':
        status.refusals.push(value);
        break;
      default:
        return undefined;
    }
  }
  return status;
}

/** The `vtep=1` request text. */
export function formatVtepRequest(req: VtepRequest): string {
  return req.remove ? `vtep=1\ndevice=${req.device}\nremove=true\n\n` : `vtep=1\ndevice=${req.device}\naddress=${formatIp(req.address)}\n\n`;
}

/** Validates the body lines of a `vtep=1` request; a message for the caller when they are wrong. */
export function parseVtepRequest(lines: readonly string[]): { ok: true; value: VtepRequest } | { ok: false; message: string } {
  let device: string | undefined;
  let address: IpAddress | undefined;
  let remove = false;
  for (const line of lines) {
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    const value = eq < 0 ? '' : line.slice(eq + 1);
    switch (key) {
      case 'device': {
        const problem = ifnameProblem(value);
        if (problem) return { ok: false, message: `device: ${problem}` };
        device = value;
        break;
      }
      case 'address': {
        const ip = parseIp(value);
        if (!ip) return { ok: false, message: `address ${JSON.stringify(clean(value))} is not an IP address` };
        address = ip;
        break;
      }
      case 'remove':
        if (value !== 'true') return { ok: false, message: 'remove must be "true"' };
        remove = true;
        break;
      default:
        return { ok: false, message: `unknown key ${JSON.stringify(clean(key))} in a vtep request` };
    }
  }
  if (device === undefined) return { ok: false, message: 'a vtep request needs device=' };
  if (remove) return address === undefined ? { ok: true, value: { device, remove: true } } : { ok: false, message: 'remove=true takes no address' };
  if (!address) return { ok: false, message: 'a vtep request needs address= (or remove=true)' };
  return { ok: true, value: { device, remove: false, address } };
}

/** The reply to `vtep=1` (the same shape as reload=1's). */
export function formatVtepReply(errno: number, messages: readonly string[]): string {
  return formatReloadReply(errno, messages);
}

export function parseVtepReply(text: string): { errno: number; messages: string[] } | undefined {
  return parseReloadReply(text);
}
