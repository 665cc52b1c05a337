/**
 * The members as this node sees them: the member set the agent keeps from the registry's pairs (each validated,
 * hostile values refused and remembered with the reason, our own key only checked), and the view `tunvpn mesh
 * show` prints of each (agent snapshots and one-shot reads, survey.ts, alike).
 */
import { encodeKey } from '../crypto/keys.js';
import { shortKey, type Logger } from '../log.js';
import { formatIp, formatPrefix } from '../net/ip.js';
import { decodeMember, formatMemberEndpoint, publicKeyOfMemberKey, type MemberRecord } from './member.js';
import type { MemberOutcome, MeshState } from './reconcile.js';
import type { RegistryKv } from './registry.js';

/** The agent's state: idle (not started), syncing, synced (watching), outage (retrying), stopped. */
export type MeshAgentState = 'idle' | 'syncing' | 'synced' | 'outage' | 'stopped';

/** A member as `tunvpn mesh show` lists it. */
export interface MeshMemberView {
  name: string;
  /** base64 */
  publicKey: string;
  /** "AbCd…WxYz" */
  shortKey: string;
  endpoint?: string;
  /** Prefixes configured for it. */
  allowedIPs: string[];
  /** Prefixes it announced and was refused. */
  refusedAllowedIPs: string[];
  vtep?: string;
  status: MemberOutcome['status'];
  /** Seconds since the member's lease was granted, by its clock against ours (≥ 0), when it says. */
  leaseAgeSeconds?: number;
  /** etcd create revision of its key (decimal); absent for this node's own record, which the daemon does not read back. */
  createRevision?: string;
  /** Wall ms of the last handshake, when the caller supplied them. */
  latestHandshake?: number;
}

/** What `tunvpn mesh show` shows of one node's mesh (MeshAgent.snapshot, survey.ts). */
export interface MeshSnapshot {
  state: MeshAgentState;
  /** Wall ms when the state last changed. */
  since: number;
  self: MeshMemberView;
  /** Every other member, by name then key. */
  members: MeshMemberView[];
  /** Values under the members prefix that were refused, with the reason. */
  invalid: { key: string; reason: string }[];
  /** Current refusals, one log line each. */
  refusals: string[];
}

/** One other member: its record and where the registry holds it. */
export interface Member {
  record: MemberRecord;
  kv: Omit<RegistryKv, 'value'>;
}

/**
 * The other members, by etcd key, as read and watched under `${prefix}members/`; values that are not a valid
 * member record are kept apart in `invalid` (key → reason), each logged once while it stays wrong.
 */
export class MemberSet {
  readonly members = new Map<string, Member>();
  readonly invalid = new Map<string, string>();
  private warnedForeignOwnKey = false;

  /** `ownKey`: our own etcd key (never a member). */
  constructor(
    private readonly prefix: string,
    private readonly ownKey: string,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.members.size;
  }

  /** A full read: every pair in `kvs`, and what is no longer there forgotten. `ownLease`: our registration's. */
  load(kvs: readonly RegistryKv[], ownLease: string | undefined): void {
    const seen = new Set<string>();
    for (const kv of kvs) {
      seen.add(kv.key);
      this.accept(kv, ownLease);
    }
    for (const key of [...this.members.keys()]) if (!seen.has(key)) this.members.delete(key);
    for (const key of [...this.invalid.keys()]) if (!seen.has(key)) this.invalid.delete(key);
  }

  /** One pair from the registry into the set: validated, our own key checked, hostile values refused. */
  accept(kv: RegistryKv, ownLease: string | undefined): void {
    const { value, ...meta } = kv;
    if (kv.key === this.ownKey) {
      if (ownLease !== undefined && kv.lease !== ownLease && !this.warnedForeignOwnKey) {
        this.warnedForeignOwnKey = true;
        this.log.warn(`mesh: ${kv.key} was written under another lease: is this private key used by a second node?`);
      }
      return;
    }
    const fail = (reason: string) => {
      this.members.delete(kv.key);
      if (this.invalid.get(kv.key) !== reason) this.log.warn(`mesh: ignoring ${kv.key}: ${reason}`);
      this.invalid.set(kv.key, reason);
    };
    const key = publicKeyOfMemberKey(this.prefix, kv.key);
    if (!key.ok) return fail(key.reason);
    const decoded = decodeMember(key.value, value);
    if (!decoded.ok) return fail(decoded.reason);
    this.invalid.delete(kv.key);
    this.members.set(kv.key, { record: decoded.value, kv: meta });
  }

  /** The key was deleted (its lease ended, or a delete). */
  delete(key: string): void {
    this.members.delete(key);
    this.invalid.delete(key);
  }
}

/** What a member view is computed against: the clock, our key, what is applied, handshake times. */
export interface ViewContext {
  /** Wall ms. */
  nowMs: number;
  /** Our public key, base64. */
  ownKey: string;
  applied: MeshState;
  handshakes?: (publicKey: Uint8Array) => number | undefined;
}

/** One member as `mesh show` lists it (agent snapshots and one-shot reads, survey.ts, alike). Pure. */
export function memberView(ctx: ViewContext, record: MemberRecord, createRevision: bigint | undefined, outcome: MemberOutcome | undefined): MeshMemberView {
  const key = encodeKey(record.publicKey);
  const applied = ctx.applied.peers.get(key);
  const v: MeshMemberView = {
    name: record.name,
    publicKey: key,
    shortKey: shortKey(key),
    allowedIPs: (applied?.allowedIPs ?? outcome?.accepted ?? []).map((p) => formatPrefix(p)),
    refusedAllowedIPs: (outcome?.refused ?? []).map((p) => formatPrefix(p)),
    status: outcome?.status ?? (key === ctx.ownKey ? 'self' : 'refused'),
  };
  if (createRevision !== undefined) v.createRevision = createRevision.toString();
  const ep = applied?.endpoint ?? record.endpoint;
  if (ep) v.endpoint = formatMemberEndpoint(ep);
  if (record.vtep) v.vtep = formatIp(record.vtep);
  if (record.registeredAt !== undefined) v.leaseAgeSeconds = Math.max(0, Math.floor(ctx.nowMs / 1000 - record.registeredAt));
  const hs = ctx.handshakes && applied ? ctx.handshakes(record.publicKey) : undefined;
  if (hs !== undefined) v.latestHandshake = hs;
  return v;
}

/** Our own record's view: everything it announces is ours. */
export function selfView(ctx: ViewContext, self: MemberRecord): MeshMemberView {
  return memberView(ctx, self, undefined, { publicKey: ctx.ownKey, status: 'self', accepted: self.allowedIPs, refused: [] });
}

/** The order of `mesh show`: by name, then key. */
export function byNameThenKey(a: MeshMemberView, b: MeshMemberView): number {
  return a.name.localeCompare(b.name) || a.publicKey.localeCompare(b.publicKey);
}
