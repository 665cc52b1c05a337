/**
 * The planner (pure): desired site + snapshot → ordered operations. Order for `up`:
 *   namespaces, link creation (bridges, vxlan/geneve/tap, veth pairs, links on a parent), moves into namespaces
 *   (with the rename to the final name), enslave, addresses, MTUs, up (loopback inside each namespace too),
 *   routes, FDB entries, and last the vxlans whose FDB a mesh keeps (`Remote = mesh`), handed to its daemon.
 * Each operation carries its description, whether it is already done in the snapshot, and the action undoing it
 * (from the snapshot's values: the MTU it had, the master it had). `planUp` keeps only what is not done, so a
 * state that already matches plans nothing. `planDown` removes exactly what the site declares and is present (a
 * mesh's daemon is told first to stop keeping an FDB that is about to go).
 */
import { formatIp, formatPrefix, sameIp } from '../net/ip.js';
import { describeAction, type Action } from './actions.js';
import { LOOPBACK, type DesiredKind, type DesiredLink, type DesiredSite } from './desired.js';
import { linkKind } from './kinds/index.js';
import { findLink, netnsState, samePrefix, type LinkState, type SystemState } from './state.js';

export interface Operation {
  description: string;
  action: Action;
  /** Restores what the action changed; undefined when deleting what the run created makes it unnecessary. */
  undo?: Action;
  /** Already true in the snapshot the plan was made against. */
  done: boolean;
}

/** IFLA_INFO_KIND the kernel reports for a desired link (its kind's `kernelKind`; loopback reports none). */
export function kernelKind(kind: DesiredKind): string | undefined {
  return kind === LOOPBACK ? undefined : linkKind(kind).kernelKind;
}

function op(action: Action, done: boolean, undo?: Action): Operation {
  return { description: describeAction(action), action, done, ...(undo && { undo }) };
}

function at(netns: string | undefined): { netns?: string } {
  return netns === undefined ? {} : { netns };
}

/** Where the link is now: at its final place, or still on the host under its creation name, or nowhere. */
export function locate(state: SystemState, l: DesiredLink): LinkState | undefined {
  return findLink(state, l.netns, l.name) ?? (movesIn(l) ? findLink(state, undefined, l.hostName) : undefined);
}

/** Whether the link is created on the host and then moved into its namespace (loopback is born there). */
export function movesIn(l: DesiredLink): boolean {
  return l.netns !== undefined && l.kind !== LOOPBACK;
}

/**
 * Differences that `up` must not repair: an existing link of another kind or with other identifying details,
 * and a missing undeclared host link the site depends on (Parent=, Dev=). Empty when `up` may proceed.
 */
export function findConflicts(desired: DesiredSite, state: SystemState): string[] {
  const out: string[] = [];
  for (const l of desired.links) {
    if (l.kind === LOOPBACK) continue;
    const s = locate(state, l);
    if (!s) continue;
    const d = linkDifferences(l, s).filter((x) => !x.repairable);
    if (d.length > 0) out.push(`${l.name}${l.netns ? ` (netns ${l.netns})` : ''} from ${l.origin}: ${d.map((x) => x.text).join(', ')}`);
  }
  for (const r of desired.routes) {
    const other = (netnsState(state, r.netns)?.routes ?? []).find((x) => samePrefix(x.dst, r.dst) && !(x.gateway && sameIp(x.gateway, r.gateway)));
    if (other) out.push(`route ${formatPrefix(r.dst)} in netns ${r.netns} already goes via ${other.gateway ? formatIp(other.gateway) : other.dev ?? 'elsewhere'}`);
  }
  for (const dep of desired.hostDependencies) {
    if (!findLink(state, undefined, dep.name)) out.push(`${dep.usedBy}: link ${dep.name} does not exist on the host`);
  }
  for (const m of desired.meshFollows) {
    const mesh = state.meshes?.get(m.tunnel);
    if (!mesh || 'problem' in mesh) out.push(`Remote = mesh of ${m.origin}: ${mesh && 'problem' in mesh ? mesh.problem : `no answer from the daemon of ${m.tunnel}`}`);
  }
  return out;
}

export interface Difference {
  text: string;
  /** Whether `site up` fixes it (master, MTU, up, addresses) rather than refusing. */
  repairable: boolean;
}

export function linkDifferences(l: DesiredLink, s: LinkState): Difference[] {
  const out: Difference[] = [];
  const kind = kernelKind(l.kind);
  if (kind !== undefined && s.kind !== undefined && s.kind !== kind) out.push({ text: `kind ${s.kind}, want ${kind}`, repairable: false });
  for (const key of ['id', 'port', 'local', 'remote', 'parent', 'mode'] as const) {
    const want = l.details[key];
    const have = s.details?.[key];
    if (want !== undefined && have !== undefined && want !== have) out.push({ text: `${key} ${have}, want ${want}`, repairable: false });
  }
  if (l.master !== undefined && s.master !== l.master) out.push({ text: `master ${s.master ?? 'none'}, want ${l.master}`, repairable: true });
  if (l.mtu !== undefined && s.mtu !== l.mtu) out.push({ text: `mtu ${s.mtu}, want ${l.mtu}`, repairable: true });
  if (!s.up) out.push({ text: 'down, want up', repairable: true });
  for (const p of l.addresses) {
    if (!s.addresses.some((a) => samePrefix(a, p))) out.push({ text: `address ${formatPrefix(p)} missing`, repairable: true });
  }
  return out;
}

/** Every operation of `up`, done or not, in order. */
export function planAll(desired: DesiredSite, state: SystemState): Operation[] {
  const ops: Operation[] = [];
  for (const name of desired.namespaces) {
    ops.push(op({ op: 'netns-add', name }, state.netns.has(name), { op: 'netns-del', name }));
  }
  for (const l of desired.links) {
    if (!l.spec) continue;
    ops.push(op({ op: 'link-add', name: l.hostName, spec: l.spec }, locate(state, l) !== undefined, { op: 'link-del', name: l.hostName }));
  }
  for (const l of desired.links) {
    if (!movesIn(l)) continue;
    const move: Action = { op: 'link-move', name: l.hostName, to: l.netns, newName: l.name };
    ops.push(op(move, findLink(state, l.netns, l.name) !== undefined, { op: 'link-move', netns: l.netns, name: l.name, newName: l.hostName }));
  }
  for (const l of desired.links) {
    if (l.master === undefined) continue;
    const s = locate(state, l);
    const undo: Action | undefined = s ? { op: 'link-set-master', ...at(l.netns), name: l.name, master: s.master ?? null } : undefined;
    ops.push(op({ op: 'link-set-master', ...at(l.netns), name: l.name, master: l.master }, s?.master === l.master, undo));
  }
  for (const l of desired.links) {
    const s = findLink(state, l.netns, l.name);
    for (const prefix of l.addresses) {
      const done = s !== undefined && s.addresses.some((a) => samePrefix(a, prefix));
      ops.push(op({ op: 'addr-add', ...at(l.netns), name: l.name, prefix }, done, { op: 'addr-del', ...at(l.netns), name: l.name, prefix }));
    }
  }
  for (const l of desired.links) {
    if (l.mtu === undefined) continue;
    const s = findLink(state, l.netns, l.name);
    const undo: Action | undefined = s ? { op: 'link-set-mtu', ...at(l.netns), name: l.name, mtu: s.mtu } : undefined;
    ops.push(op({ op: 'link-set-mtu', ...at(l.netns), name: l.name, mtu: l.mtu }, s?.mtu === l.mtu, undo));
  }
  for (const l of desired.links) {
    const s = findLink(state, l.netns, l.name);
    const undo: Action | undefined = s ? { op: 'link-set-up', ...at(l.netns), name: l.name, up: false } : undefined;
    ops.push(op({ op: 'link-set-up', ...at(l.netns), name: l.name, up: true }, s?.up === true, undo));
  }
  for (const r of desired.routes) {
    const routes = netnsState(state, r.netns)?.routes ?? [];
    const done = routes.some((x) => samePrefix(x.dst, r.dst) && x.gateway !== undefined && sameIp(x.gateway, r.gateway));
    const action: Action = { op: 'route-add', ...at(r.netns), dst: r.dst, gateway: r.gateway, dev: r.dev };
    ops.push(op(action, done, { ...action, op: 'route-del' }));
  }
  for (const f of desired.fdb) {
    const done = state.host.fdb.some((x) => x.dev === f.dev && x.lladdr === f.lladdr && x.dst !== undefined && sameIp(x.dst, f.dst));
    const action: Action = { op: 'fdb-add', dev: f.dev, lladdr: f.lladdr, dst: f.dst };
    ops.push(op(action, done, { ...action, op: 'fdb-del' }));
  }
  for (const m of desired.meshFollows) {
    ops.push(op({ op: 'mesh-follow', tunnel: m.tunnel, dev: m.dev, vtep: m.vtep }, meshFollowed(state, m.tunnel, m.dev), { op: 'mesh-unfollow', tunnel: m.tunnel, dev: m.dev }));
  }
  return ops;
}

/** Whether the daemon of `tunnel` keeps the FDB of `dev` already. */
export function meshFollowed(state: SystemState, tunnel: string, dev: string): boolean {
  const mesh = state.meshes?.get(tunnel);
  return mesh !== undefined && 'following' in mesh && mesh.following.includes(dev);
}

/** What `up` has to do: the operations not yet done, in order. Empty when the state matches the site. */
export function planUp(desired: DesiredSite, state: SystemState): Operation[] {
  return planAll(desired, state).filter((o) => !o.done);
}

export interface DownPlan {
  operations: Operation[];
  /** Objects the site declares that exist but are not what it declares (left alone). */
  skipped: string[];
}

/**
 * What `down` has to do: FDB entries, then every link the site creates (wherever it is: at its final place or
 * still under its host creation name; a veth pair goes with its first end), then the namespaces. Only objects
 * that are present and of the declared kind; nothing else is touched.
 */
export function planDown(desired: DesiredSite, state: SystemState): DownPlan {
  const operations: Operation[] = [];
  const skipped: string[] = [];
  for (const m of desired.meshFollows) {
    if (meshFollowed(state, m.tunnel, m.dev)) operations.push(op({ op: 'mesh-unfollow', tunnel: m.tunnel, dev: m.dev }, false));
  }
  for (const f of desired.fdb) {
    const present = state.host.fdb.some((x) => x.dev === f.dev && x.lladdr === f.lladdr && x.dst !== undefined && sameIp(x.dst, f.dst));
    if (present) operations.push(op({ op: 'fdb-del', dev: f.dev, lladdr: f.lladdr, dst: f.dst }, false));
  }
  // Reverse creation order: links on a parent, veth pairs, tunnels, then bridges.
  for (const l of [...desired.links].reverse()) {
    if (!l.spec) continue;
    const final = findLink(state, l.netns, l.name);
    const temp = movesIn(l) ? findLink(state, undefined, l.hostName) : undefined;
    for (const [s, netns] of [[final, l.netns], [temp, undefined]] as const) {
      if (!s) continue;
      const kind = kernelKind(l.kind);
      if (kind !== undefined && s.kind !== undefined && s.kind !== kind) {
        skipped.push(`${s.name}${netns ? ` (netns ${netns})` : ''} is a ${s.kind}, not the ${kind} ${l.origin} declares`);
        continue;
      }
      operations.push(op({ op: 'link-del', ...at(netns), name: s.name }, false));
    }
  }
  for (const name of [...desired.namespaces].reverse()) {
    if (state.netns.has(name)) operations.push(op({ op: 'netns-del', name }, false));
  }
  return { operations, skipped };
}

/** "vx-lan fdb 00:00:00:00:00:00 dst 10.213.0.2" — a stable label for an FDB entry. */
export function fdbLabel(f: { dev: string; lladdr: string; dst: { family: 4 | 6; bytes: Uint8Array } }): string {
  return `fdb ${f.lladdr} dst ${formatIp(f.dst)} on ${f.dev}`;
}
