/**
 * Mesh reconciliation, pure: (our identity, static peers, the state applied so far, the members etcd lists) in;
 * typed device actions and log-worthy refusals out. No clock, no I/O, no logger; the agent carries it out.
 *
 * Decisions, in the order they are taken:
 *   1. A member with our own public key is skipped silently (it is us; the agent watches our own record).
 *   2. A member with a static [Peer]'s public key is refused entirely: static configuration always wins.
 *   3. Members are considered in registration order: lowest etcd create revision first (the revision of the put
 *      that created the key: etcd's own total order of registrations), then by key. Each AllowedIPs prefix of a
 *      member is accepted or refused on its own; the member stays a peer with the prefixes it keeps (even none).
 *      A prefix is refused when it
 *        a. is a default route (/0): a member may not pull every other node's traffic;
 *        b. overlaps (equals, contains or lies inside) a static peer's prefix, unless that static prefix is a /0
 *           (the ordinary "everything else goes through the gateway" setup; the longer prefix wins there);
 *        c. overlaps one of our own AllowedIPs (what we announce is ours);
 *        d. overlaps a prefix already accepted for an earlier-registered member: first come, first served, so a
 *           newcomer can never take over part of a range another member routes. When the earlier member leaves,
 *           the next reconcile hands the prefix to the next claimant (an in-place update).
 *   4. VTEPs: an accepted member's VTEP is used unless it is our own VTEP or an earlier member's.
 *   5. Routes: one per accepted prefix, unless routing is off or the prefix lies inside one of the interface's own
 *      address networks (the kernel's connected route carries it) — the rule of quick/plan.ts.
 *
 * Actions come out in an order that is safe to apply one by one: VTEP removals, route removals, peer removals,
 * in-place updates (those that give prefixes up before those that take them), peer additions, route additions,
 * VTEP additions. A changed member is always an `update-peer` (the session survives), never remove + add.
 */
import { encodeKey } from '../crypto/keys.js';
import { shortKey } from '../log.js';
import { formatIp, formatPrefix, networkOf, prefixContains, type IpAddress, type Prefix } from '../net/ip.js';
import { PrefixClaims } from './claims.js';
import { formatMemberEndpoint, type MemberEndpoint, type MemberRecord } from './member.js';

/** A [Peer] from the configuration file, as far as clashes are concerned. */
export interface StaticPeer {
  publicKey: Uint8Array;
  allowedIPs: readonly Prefix[];
  /** How log lines name it, e.g. "[Peer] at site-a.conf:12". */
  label?: string;
}

/** One member as read from the registry: its record and the create revision of its key (etcd's int64). */
export interface MemberEntry {
  record: MemberRecord;
  createRevision: bigint;
}

/** A peer as the mesh configures it on the device. */
export interface MeshPeer {
  publicKey: Uint8Array;
  /** For log lines only. */
  name: string;
  endpoint?: MemberEndpoint;
  /** The accepted prefixes; the device's AllowedIPs for this peer are exactly these. */
  allowedIPs: Prefix[];
  /** Seconds; absent = off. */
  persistentKeepalive?: number;
}

/** What the mesh has applied to the device. Maps are keyed by base64 public key, formatPrefix, formatIp. */
export interface MeshState {
  peers: ReadonlyMap<string, MeshPeer>;
  routes: ReadonlyMap<string, Prefix>;
  vteps: ReadonlyMap<string, IpAddress>;
}

export type MeshAction =
  | { type: 'add-peer'; peer: MeshPeer }
  /**
   * Same key, changed settings, applied in place: endpoint set when `changed.endpoint`, the peer's AllowedIPs
   * replaced by `peer.allowedIPs` when `changed.allowedIPs`, keepalive set when `changed.persistentKeepalive`.
   */
  | { type: 'update-peer'; peer: MeshPeer; changed: PeerChanges }
  | { type: 'remove-peer'; peer: MeshPeer }
  | { type: 'add-route'; prefix: Prefix }
  | { type: 'remove-route'; prefix: Prefix }
  | { type: 'add-vtep'; address: IpAddress }
  | { type: 'remove-vtep'; address: IpAddress };

export interface PeerChanges {
  endpoint: boolean;
  allowedIPs: boolean;
  persistentKeepalive: boolean;
}

export type RefusalReason =
  | 'static-key'
  | 'default-route'
  | 'static-overlap'
  | 'own-overlap'
  | 'member-overlap'
  | 'own-vtep'
  | 'member-vtep';

/** Something a member asked for and did not get. `id` is stable while the cause lasts (for logging it once). */
export interface Refusal {
  id: string;
  reason: RefusalReason;
  /** base64 public key of the refused member. */
  publicKey: string;
  name: string;
  /** The refused prefix (overlaps, default route). */
  prefix?: Prefix;
  /** One log line, keys abbreviated. */
  message: string;
}

export interface ReconcileInput {
  ownPublicKey: Uint8Array;
  /** What this node announces; members may not claim any of it. */
  ownAllowedIPs: readonly Prefix[];
  ownVtep?: IpAddress;
  staticPeers: readonly StaticPeer[];
  /** Every member currently registered (decoded and valid), in any order; our own record may be among them. */
  members: Iterable<MemberEntry>;
  previous: MeshState;
  /** Keepalive given to every mesh peer, seconds; absent = off. */
  persistentKeepalive?: number;
  /** undefined = add no routes (Table = off); else the interface's addresses (whose networks need no route). */
  routes?: { interfaceAddresses: readonly Prefix[] };
}

/** Per member: what it was given and what it was refused (for `mesh show`). */
export interface MemberOutcome {
  publicKey: string;
  /** 'peer': configured (with `accepted` prefixes); 'refused': not a peer; 'self': our own record. */
  status: 'peer' | 'refused' | 'self';
  accepted: Prefix[];
  refused: Prefix[];
}

export interface ReconcileResult {
  actions: MeshAction[];
  refusals: Refusal[];
  outcomes: Map<string, MemberOutcome>;
}

export const emptyMeshState = (): MeshState => ({ peers: new Map(), routes: new Map(), vteps: new Map() });


/** Computes the actions that take the device from `previous` to what the members ask for. Pure. */
export function reconcile(input: ReconcileInput): ReconcileResult {
  const ownKey = encodeKey(input.ownPublicKey);
  const staticKeys = new Map<string, StaticPeer>();
  for (const p of input.staticPeers) staticKeys.set(encodeKey(p.publicKey), p);
  const refusals: Refusal[] = [];
  const outcomes = new Map<string, MemberOutcome>();

  // Owners are "static peer …", "this node", "member site-a (AbCd…)". A static /0 claims nothing here (rule 3b).
  const fixedClaims = new PrefixClaims<string>();
  for (const prefix of input.ownAllowedIPs) fixedClaims.add(networkOf(prefix), 'this node');
  for (const p of input.staticPeers) {
    const owner = `static peer ${p.label ?? shortKey(encodeKey(p.publicKey))}`;
    for (const prefix of p.allowedIPs) if (prefix.bits > 0) fixedClaims.add(networkOf(prefix), owner);
  }

  const ordered = [...input.members]
    .map((m) => ({ ...m, key: encodeKey(m.record.publicKey) }))
    .sort((a, b) => {
      if (a.createRevision !== b.createRevision) return a.createRevision < b.createRevision ? -1 : 1;
      return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
    });

  const memberClaims = new PrefixClaims<string>();
  const desiredPeers = new Map<string, MeshPeer>();
  const desiredVteps = new Map<string, { address: IpAddress; owner: string }>();
  const ownVtep = input.ownVtep ? formatIp(input.ownVtep) : undefined;

  for (const { record, key } of ordered) {
    if (outcomes.has(key)) continue; // one key, one member (a registry never lists a key twice)
    const who = `member ${record.name} (${shortKey(key)})`;
    const refuse = (reason: RefusalReason, message: string, prefix?: Prefix, other = '') => {
      const id = `${reason}|${key}|${prefix ? formatPrefix(prefix) : ''}|${other}`;
      refusals.push({ id, reason, publicKey: key, name: record.name, message: `${who}: ${message}`, ...(prefix ? { prefix } : {}) });
    };
    if (key === ownKey) {
      outcomes.set(key, { publicKey: key, status: 'self', accepted: [], refused: [] });
      continue;
    }
    const staticPeer = staticKeys.get(key);
    if (staticPeer) {
      refuse('static-key', `refused: static peer ${staticPeer.label ?? shortKey(key)} has the same public key (static configuration wins)`);
      outcomes.set(key, { publicKey: key, status: 'refused', accepted: [], refused: [...record.allowedIPs] });
      continue;
    }

    const accepted: Prefix[] = [];
    const refused: Prefix[] = [];
    for (const prefix of record.allowedIPs) {
      const text = formatPrefix(prefix);
      if (prefix.bits === 0) {
        refuse('default-route', `AllowedIPs ${text} refused: a mesh member may not claim a default route`, prefix);
        refused.push(prefix);
        continue;
      }
      const fixed = fixedClaims.overlapping(prefix);
      if (fixed) {
        const reason = fixed.owner === 'this node' ? 'own-overlap' : 'static-overlap';
        refuse(reason, `AllowedIPs ${text} refused: overlaps ${formatPrefix(fixed.prefix)} of ${fixed.owner}`, prefix, formatPrefix(fixed.prefix));
        refused.push(prefix);
        continue;
      }
      const earlier = memberClaims.overlapping(prefix);
      if (earlier) {
        refuse(
          'member-overlap',
          `AllowedIPs ${text} refused: overlaps ${formatPrefix(earlier.prefix)} of ${earlier.owner}, registered earlier`,
          prefix,
          `${formatPrefix(earlier.prefix)}|${earlier.owner}`,
        );
        refused.push(prefix);
        continue;
      }
      accepted.push(prefix);
    }
    for (const prefix of accepted) memberClaims.add(prefix, who);

    if (record.vtep) {
      const text = formatIp(record.vtep);
      const taken = desiredVteps.get(text);
      if (text === ownVtep) refuse('own-vtep', `VTEP ${text} refused: it is this node's own VTEP`);
      else if (taken) refuse('member-vtep', `VTEP ${text} refused: already the VTEP of ${taken.owner}, registered earlier`, undefined, taken.owner);
      else {
        desiredVteps.set(text, { address: record.vtep, owner: who });
      }
    }

    const peer: MeshPeer = { publicKey: record.publicKey, name: record.name, allowedIPs: accepted };
    if (record.endpoint) peer.endpoint = record.endpoint;
    if (input.persistentKeepalive) peer.persistentKeepalive = input.persistentKeepalive;
    desiredPeers.set(key, peer);
    outcomes.set(key, { publicKey: key, status: 'peer', accepted, refused });
  }

  // Routes wanted: every accepted prefix not covered by an interface address network.
  const desiredRoutes = new Map<string, Prefix>();
  if (input.routes) {
    const own = input.routes.interfaceAddresses.map((a) => networkOf(a));
    for (const peer of desiredPeers.values()) {
      for (const prefix of peer.allowedIPs) {
        if (!own.some((n) => prefixContains(n, prefix))) desiredRoutes.set(formatPrefix(prefix), prefix);
      }
    }
  }

  const prev = input.previous;
  const actions: MeshAction[] = [];
  for (const [text, address] of prev.vteps) if (!desiredVteps.has(text)) actions.push({ type: 'remove-vtep', address });
  for (const [text, prefix] of prev.routes) if (!desiredRoutes.has(text)) actions.push({ type: 'remove-route', prefix });
  for (const [key, peer] of prev.peers) if (!desiredPeers.has(key)) actions.push({ type: 'remove-peer', peer });
  const shrinking: MeshAction[] = [];
  const growing: MeshAction[] = [];
  const adds: MeshAction[] = [];
  for (const [key, peer] of desiredPeers) {
    const before = prev.peers.get(key);
    if (!before) {
      adds.push({ type: 'add-peer', peer });
      continue;
    }
    const changed = peerChanges(before, peer);
    if (!changed.endpoint && !changed.allowedIPs && !changed.persistentKeepalive) continue;
    const now = new Set(peer.allowedIPs.map((p) => formatPrefix(p)));
    const gives = before.allowedIPs.some((p) => !now.has(formatPrefix(p)));
    (gives ? shrinking : growing).push({ type: 'update-peer', peer, changed });
  }
  actions.push(...shrinking, ...growing, ...adds);
  for (const [text, prefix] of desiredRoutes) if (!prev.routes.has(text)) actions.push({ type: 'add-route', prefix });
  for (const [text, v] of desiredVteps) if (!prev.vteps.has(text)) actions.push({ type: 'add-vtep', address: v.address });

  return { actions, refusals, outcomes };
}

/**
 * What differs between the applied peer and the wanted one. A member that stops announcing an endpoint does not
 * clear the device's (a device endpoint cannot be unset, and roaming may have learnt a better one): only a new,
 * different endpoint counts.
 */
export function peerChanges(before: MeshPeer, after: MeshPeer): PeerChanges {
  const endpoint = after.endpoint !== undefined && (before.endpoint === undefined || formatMemberEndpoint(before.endpoint) !== formatMemberEndpoint(after.endpoint));
  const a = before.allowedIPs.map((p) => formatPrefix(p)).sort();
  const b = after.allowedIPs.map((p) => formatPrefix(p)).sort();
  const allowedIPs = a.length !== b.length || a.some((t, i) => t !== b[i]);
  const persistentKeepalive = (before.persistentKeepalive ?? 0) !== (after.persistentKeepalive ?? 0);
  return { endpoint, allowedIPs, persistentKeepalive };
}

/** The state after one action was applied successfully (the agent advances action by action). Pure. */
export function advance(state: MeshState, action: MeshAction): MeshState {
  switch (action.type) {
    case 'add-peer':
    case 'update-peer': {
      const peers = new Map(state.peers);
      const before = state.peers.get(encodeKey(action.peer.publicKey));
      const peer = !action.peer.endpoint && before?.endpoint ? { ...action.peer, endpoint: before.endpoint } : action.peer;
      peers.set(encodeKey(action.peer.publicKey), peer);
      return { ...state, peers };
    }
    case 'remove-peer': {
      const peers = new Map(state.peers);
      peers.delete(encodeKey(action.peer.publicKey));
      return { ...state, peers };
    }
    case 'add-route':
    case 'remove-route': {
      const routes = new Map(state.routes);
      if (action.type === 'add-route') routes.set(formatPrefix(action.prefix), action.prefix);
      else routes.delete(formatPrefix(action.prefix));
      return { ...state, routes };
    }
    case 'add-vtep':
    case 'remove-vtep': {
      const vteps = new Map(state.vteps);
      if (action.type === 'add-vtep') vteps.set(formatIp(action.address), action.address);
      else vteps.delete(formatIp(action.address));
      return { ...state, vteps };
    }
  }
}

/** One line per action, for logs ("[#] mesh: add peer site-b (AbCd…WxYz) 10.0.0.2:51820 10.50.0.12/32"). */
export function describeAction(action: MeshAction): string {
  const peerText = (p: MeshPeer) => `${p.name} (${shortKey(encodeKey(p.publicKey))})`;
  const ips = (p: MeshPeer) => (p.allowedIPs.length ? p.allowedIPs.map((x) => formatPrefix(x)).join(', ') : '(no AllowedIPs)');
  switch (action.type) {
    case 'add-peer':
      return `add peer ${peerText(action.peer)}${action.peer.endpoint ? ` endpoint ${formatMemberEndpoint(action.peer.endpoint)}` : ''} allowed-ips ${ips(action.peer)}`;
    case 'update-peer': {
      const parts: string[] = [];
      if (action.changed.endpoint && action.peer.endpoint) parts.push(`endpoint ${formatMemberEndpoint(action.peer.endpoint)}`);
      if (action.changed.allowedIPs) parts.push(`allowed-ips ${ips(action.peer)}`);
      if (action.changed.persistentKeepalive) parts.push(`persistent-keepalive ${action.peer.persistentKeepalive ?? 'off'}`);
      return `update peer ${peerText(action.peer)} in place: ${parts.join(', ')}`;
    }
    case 'remove-peer':
      return `remove peer ${peerText(action.peer)}`;
    case 'add-route':
      return `add route ${formatPrefix(action.prefix)}`;
    case 'remove-route':
      return `remove route ${formatPrefix(action.prefix)}`;
    case 'add-vtep':
      return `add VTEP ${formatIp(action.address)}`;
    case 'remove-vtep':
      return `remove VTEP ${formatIp(action.address)}`;
  }
}
