/**
 * The `peers` scenario's results (issue 12: many peers in one daemon) and their side-by-side table. Pure: the
 * numbers come from peers.ts.
 *
 * Per round and path (the daemon at both tunnel ends of a fresh lab) two runs:
 *   scale     iperf3 TCP a → c with the lab's one peer; `wg addconf` of N idle peers at b, timed (the UAPI set)
 *             with b's resident memory before and after; `wg show b dump`, timed; iperf3 again with the N idle
 *             peers at both ends.
 *   simulate  M peers simulated from one process on b's LAN (peersim.ts) handshake with b and get an
 *             echo reply through it; the time until the last one, and b's resident memory.
 */
import type { HostInfo } from '../common/host.js';
import type { PeerSimReport } from './peersim.js';
import type { ResidentMemory } from '../../src/lab/rss.js';
import type { FloodPath } from '../options.js';
import { formatColumns, formatGbps } from '../common/format.js';
import { median } from '../common/stats.js';
import { MS_PER_S } from '../../src/protocol/constants.js';

/** The issue's targets: set time and RSS against wireguard-go, throughput with idle peers, simulated handshakes. */
export const PEERS_TARGETS = { setRatio: 1.0, rssRatio: 1.0, idleThroughputRatio: 0.95, simulateSeconds: 10 } as const;
const KIB_PER_MIB = 1024;

export interface ScaleRun {
  path: FloodPath;
  round: number;
  status: 'ok' | 'failed';
  reason?: string;
  /** Idle peers added. */
  peers?: number;
  /** iperf3 TCP x1 receiver goodput with the lab's one peer, bits per second. */
  oneBitsPerSecond?: number;
  /** The same with the N idle peers added at both ends. */
  manyBitsPerSecond?: number;
  /** `wg addconf` of the N peers at b, seconds. */
  setSeconds?: number;
  /** `wg show IFACE dump` at b with the N peers, seconds. */
  dumpSeconds?: number;
  /** b's daemon before the peers came, and a second after. */
  memoryBefore?: ResidentMemory;
  memoryAfter?: ResidentMemory;
}

export interface SimulateRun {
  path: FloodPath;
  round: number;
  status: 'ok' | 'failed';
  reason?: string;
  sim?: PeerSimReport;
  /** b's daemon with the simulated peers configured, before and after the run. */
  memoryBefore?: ResidentMemory;
  memoryAfter?: ResidentMemory;
}

export interface PeersBenchReport {
  date: string;
  host: HostInfo;
  rounds: number;
  /** Idle peers (scale runs) and simulated peers (simulate runs). */
  peers: number;
  simulate: number;
  seconds: number;
  wireguardGo: { binary: string; version: string } | null;
  scale: ScaleRun[];
  simulations: SimulateRun[];
}

/** Per path, the medians of the scale runs that finished (undefined fields when none did). */
export interface ScaleSummary {
  path: FloodPath;
  runs: number;
  setSeconds?: number;
  dumpSeconds?: number;
  rssMiB?: number;
  oneBitsPerSecond?: number;
  manyBitsPerSecond?: number;
  /** Median over rounds of many / one. */
  idleRatio?: number;
}

export interface SimulateSummary {
  path: FloodPath;
  runs: number;
  /** Median over rounds of the peers that got their packet through, and of the time the last one took (s). */
  packets?: number;
  lastSeconds?: number;
  p50Seconds?: number;
  cookieReplies?: number;
  rssMiB?: number;
}

function med(values: Array<number | undefined>): number | undefined {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length ? median(v) : undefined;
}

export function summarizeScale(runs: readonly ScaleRun[], path: FloodPath): ScaleSummary {
  const ok = runs.filter((r) => r.path === path && r.status === 'ok');
  return {
    path,
    runs: ok.length,
    setSeconds: med(ok.map((r) => r.setSeconds)),
    dumpSeconds: med(ok.map((r) => r.dumpSeconds)),
    rssMiB: med(ok.map((r) => r.memoryAfter && r.memoryAfter.rssKiB / KIB_PER_MIB)),
    oneBitsPerSecond: med(ok.map((r) => r.oneBitsPerSecond)),
    manyBitsPerSecond: med(ok.map((r) => r.manyBitsPerSecond)),
    idleRatio: med(ok.map((r) => (r.manyBitsPerSecond !== undefined && r.oneBitsPerSecond ? r.manyBitsPerSecond / r.oneBitsPerSecond : undefined))),
  };
}

export function summarizeSimulate(runs: readonly SimulateRun[], path: FloodPath): SimulateSummary {
  const ok = runs.filter((r) => r.path === path && r.status === 'ok' && r.sim);
  return {
    path,
    runs: ok.length,
    packets: med(ok.map((r) => r.sim!.packets)),
    lastSeconds: med(ok.map((r) => (r.sim!.packetMs && r.sim!.packets === r.sim!.peers ? r.sim!.packetMs.max / MS_PER_S : undefined))),
    p50Seconds: med(ok.map((r) => (r.sim!.packetMs ? r.sim!.packetMs.p50 / MS_PER_S : undefined))),
    cookieReplies: med(ok.map((r) => r.sim!.cookieReplies)),
    rssMiB: med(ok.map((r) => r.memoryAfter && r.memoryAfter.rssKiB / KIB_PER_MIB)),
  };
}

const num = (v: number | undefined, digits: number, unit = ''): string => (v === undefined ? '—' : `${v.toFixed(digits)}${unit}`);
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || !b ? '—' : `${(a / b).toFixed(2)}×`);

/** The report as text: one column per path, then tunvpn / wireguard-go, then the target. */
export function formatPeersTable(report: PeersBenchReport): string {
  const paths = [...new Set([...report.scale, ...report.simulations].map((r) => r.path))];
  const s = Object.fromEntries(paths.map((p) => [p, summarizeScale(report.scale, p)])) as Partial<Record<FloodPath, ScaleSummary>>;
  const m = Object.fromEntries(paths.map((p) => [p, summarizeSimulate(report.simulations, p)])) as Partial<Record<FloodPath, SimulateSummary>>;
  const t = s.tunvpn;
  const w = s['wireguard-go'];
  const rows: string[][] = [['', ...paths, 'tunvpn/wg-go', 'target']];
  const row = (label: string, f: (p: FloodPath) => string, r: string, target: string) => rows.push([label, ...paths.map(f), r, target]);
  if (report.scale.length) {
    row(`wg addconf ${report.peers} peers`, (p) => num(s[p]?.setSeconds, 2, ' s'), ratio(t?.setSeconds, w?.setSeconds), `≤ ${PEERS_TARGETS.setRatio.toFixed(1)}×`);
    row('RSS with them', (p) => num(s[p]?.rssMiB, 0, ' MiB'), ratio(t?.rssMiB, w?.rssMiB), `≤ ${PEERS_TARGETS.rssRatio.toFixed(1)}×`);
    row('wg show dump', (p) => num(s[p]?.dumpSeconds, 2, ' s'), ratio(t?.dumpSeconds, w?.dumpSeconds), '');
    row('TCP x1, one peer', (p) => (s[p]?.oneBitsPerSecond === undefined ? '—' : formatGbps(s[p].oneBitsPerSecond)), ratio(t?.oneBitsPerSecond, w?.oneBitsPerSecond), '');
    row(`TCP x1, +${report.peers} idle`, (p) => (s[p]?.manyBitsPerSecond === undefined ? '—' : formatGbps(s[p].manyBitsPerSecond)), ratio(t?.manyBitsPerSecond, w?.manyBitsPerSecond), '');
    row('  idle / one', (p) => num(s[p]?.idleRatio, 2, '×'), '', `≥ ${PEERS_TARGETS.idleThroughputRatio}×`);
  }
  if (report.simulations.length) {
    row(`simulated peers through`, (p) => (m[p]?.packets === undefined ? '—' : `${m[p].packets}/${report.simulate}`), '', `${report.simulate}`);
    row('  last one after', (p) => num(m[p]?.lastSeconds, 2, ' s'), ratio(m.tunvpn?.lastSeconds, m['wireguard-go']?.lastSeconds), `≤ ${PEERS_TARGETS.simulateSeconds} s`);
    row('  median after', (p) => num(m[p]?.p50Seconds, 2, ' s'), '', '');
    row('  cookie replies', (p) => num(m[p]?.cookieReplies, 0), '', '');
    row('  RSS', (p) => num(m[p]?.rssMiB, 0, ' MiB'), ratio(m.tunvpn?.rssMiB, m['wireguard-go']?.rssMiB), '');
  }
  const head = [
    `peers bench ${report.date}: ${report.host.cpus} CPUs, kernel ${report.host.kernel}, node ${report.host.node}`,
    `wireguard-go: ${report.wireguardGo ? `${report.wireguardGo.version} (${report.wireguardGo.binary})` : 'not run'}`,
    `${report.rounds} round(s); medians; iperf3 ${report.seconds} s per test`,
    '',
  ];
  const failures = [...report.scale, ...report.simulations].filter((r) => r.status === 'failed').map((r) => `round ${r.round} ${r.path}: ${r.reason ?? 'failed'}`);
  return `${[...head, ...formatColumns(rows, 1), ...(failures.length ? ['', 'failed:', ...failures] : [])].join('\n')}\n`;
}
