/**
 * `site show`: every object the site declares, as present, missing, or differs (with what differs).
 */
import { formatIp, formatPrefix, sameIp } from '../net/ip.js';
import type { DesiredSite } from './desired.js';
import { fdbLabel, linkDifferences, meshFollowed, movesIn } from './plan.js';
import { findLink, netnsState, samePrefix, type SystemState } from './state.js';

export type ObjectStatus = 'present' | 'missing' | 'differs';

export interface ObjectReport {
  /** "netns c1", "bridge br-lan", "veth eth0 (netns c1)", "route default via 192.168.50.1 (netns c1)", ... */
  object: string;
  status: ObjectStatus;
  /** What differs; empty unless status is 'differs'. */
  differences: string[];
}

export function compareSite(desired: DesiredSite, state: SystemState): ObjectReport[] {
  const out: ObjectReport[] = [];
  for (const name of desired.namespaces) {
    out.push({ object: `netns ${name}`, status: state.netns.has(name) ? 'present' : 'missing', differences: [] });
  }
  for (const l of desired.links) {
    const object = `${l.kind} ${l.name}${l.netns ? ` (netns ${l.netns})` : ''}`;
    const s = findLink(state, l.netns, l.name);
    if (!s) {
      const stray = movesIn(l) && findLink(state, undefined, l.hostName);
      out.push({ object, status: stray ? 'differs' : 'missing', differences: stray ? [`still on the host as ${l.hostName}`] : [] });
      continue;
    }
    const differences = linkDifferences(l, s).map((d) => d.text);
    out.push({ object, status: differences.length > 0 ? 'differs' : 'present', differences });
  }
  for (const r of desired.routes) {
    const object = `route ${r.dst.bits === 0 ? 'default' : formatPrefix(r.dst)} via ${formatIp(r.gateway)} dev ${r.dev}${r.netns ? ` (netns ${r.netns})` : ''}`;
    const routes = netnsState(state, r.netns)?.routes ?? [];
    const same = routes.find((x) => samePrefix(x.dst, r.dst));
    if (!same) out.push({ object, status: 'missing', differences: [] });
    else if (!same.gateway || !sameIp(same.gateway, r.gateway)) {
      out.push({ object, status: 'differs', differences: [`via ${same.gateway ? formatIp(same.gateway) : 'none'}`] });
    } else out.push({ object, status: 'present', differences: [] });
  }
  for (const f of desired.fdb) {
    const present = state.host.fdb.some((x) => x.dev === f.dev && x.lladdr === f.lladdr && x.dst !== undefined && sameIp(x.dst, f.dst));
    out.push({ object: fdbLabel(f), status: present ? 'present' : 'missing', differences: [] });
  }
  for (const m of desired.meshFollows) {
    const mesh = state.meshes?.get(m.tunnel);
    const object = `fdb of ${m.dev} kept by the mesh of ${m.tunnel}`;
    if (mesh && 'problem' in mesh) out.push({ object, status: 'differs', differences: [mesh.problem] });
    else out.push({ object, status: meshFollowed(state, m.tunnel, m.dev) ? 'present' : 'missing', differences: [] });
  }
  return out;
}

/** Human table: one line per object. */
export function formatReport(rows: ObjectReport[]): string {
  const width = Math.max(0, ...rows.map((r) => r.object.length));
  return rows
    .map((r) => `${r.object.padEnd(width)}  ${r.status}${r.differences.length > 0 ? `: ${r.differences.join(', ')}` : ''}`)
    .join('\n');
}
