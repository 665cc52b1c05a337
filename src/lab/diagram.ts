/** An ASCII picture of the lab as built: namespaces, links, addresses, tunnel. Pure. */
import { allowedIps } from './configs.js';
import type { Daemon } from './daemons.js';
import type { LabPlan } from './plan.js';

/** What runs at a tunnel end: a daemon, or nothing ('veth': the LAN is routed over the underlay). */
export type EndKind = Daemon | 'veth';

const LINK = '-----';
const TUNNEL = '=====';
const NONE = '     ';

export function labDiagram(plan: LabPlan, a: EndKind, b: EndKind): string {
  const { wg, links, underlay, lan, tunnel, ns } = plan;
  const tunnelled = a !== 'veth';
  const u = underlay.prefix;
  const l = lan.prefix;
  // Each row: cell a, connector a-b, cell b, connector b-c, cell c.
  const rows: string[][] = [];
  if (tunnelled) {
    rows.push([`${wg.a} (${a})`, NONE, `${wg.b} (${b})`, NONE, '']);
    rows.push([`  ${tunnel.a}/32`, TUNNEL, `  ${tunnel.b}/32`, NONE, '']);
  }
  rows.push([`${links.aToB} ${underlay.a}/${u}`, LINK, `${links.bToA} ${underlay.b}/${u}`, NONE, '']);
  rows.push(['', NONE, `${links.bToC} ${lan.b}/${l}`, LINK, `${links.cToB} ${lan.c}/${l}`]);
  rows.push(['', NONE, 'ip_forward = 1', NONE, `default via ${lan.b}`]);

  const width = Math.max(...rows.flatMap((r) => [r[0]!, r[2]!, r[4]!]).map((c) => c.length), ...Object.values(ns).map((n) => n.length)) + 2;
  const cell = (s: string) => `| ${s.padEnd(width - 2)} |`;
  const border = `+${'-'.repeat(width)}+`;
  const gap = NONE;
  const out: string[] = [];
  out.push([ns.a, ns.b, ns.c].map((n) => ` ${n.padEnd(width + 1)}`).join(gap));
  out.push([border, border, border].join(gap));
  for (const r of rows) out.push(`${cell(r[0]!)}${r[1]}${cell(r[2]!)}${r[3]}${cell(r[4]!)}`);
  out.push([border, border, border].join(gap));
  if (tunnelled) {
    out.push(`${TUNNEL} WireGuard tunnel (UDP ${underlay.a}:${plan.ports.a} <-> ${underlay.b}:${plan.ports.b}, MTU ${plan.mtu})`);
    out.push(`a's peer AllowedIPs: ${allowedIps(plan, 'a').join(', ')}    b's peer AllowedIPs: ${allowedIps(plan, 'b').join(', ')}`);
  } else {
    out.push(`no tunnel: a routes ${lan.subnet}/${l} via ${underlay.b}`);
  }
  return `${out.join('\n')}\n`;
}
