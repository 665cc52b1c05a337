/**
 * The flood scenario's results (issue 13) and their side-by-side table. Pure: the numbers come from flood.ts.
 *
 * Each run is one path (the daemon at both tunnel ends) and one source mode, in a fresh lab, measured twice the
 * same way: the quiet phase, then the flood phase with the flood running. A phase has two segments:
 *   1. ping a → c every 0.1 s for `seconds`, while a fresh peer (wireguard-go in c, a new key) is added to b over
 *      the UAPI and its first handshake is timed (cap HANDSHAKE_CAP_MS); b's CPU is sampled around this segment,
 *      which carries almost no tunnel traffic, so in the flood phase it is the flood's cost;
 *   2. iperf3 TCP x1 a → c for `seconds`.
 * The flooder is a separate process per segment, so its datagram count matches the segment it ran in.
 */
import type { HostInfo } from '../common/host.js';
import type { FloodReport } from './flooder.js';
import type { HandshakeTiming } from './freshpeer.js';
import type { ResidentMemory } from '../../src/lab/rss.js';
import type { UdpCounters } from './snmp.js';
import type { FloodMode, FloodPath } from '../options.js';
import { formatColumns } from '../common/format.js';
import type { RttStats } from '../common/stats.js';

/** How long a fresh peer's first handshake may take before it counts as failed (ms). */
export const HANDSHAKE_CAP_MS = 10_000;
/** The targets. */
export const TARGETS = { pingLossPercent: 1, throughputRatio: 0.8, handshakeMs: 5_000 } as const;
const DATAGRAMS_PER_UNIT = 100_000;
const KIB_PER_MIB = 1024;

export interface CpuWindow {
  /** b's daemon utime+stime over the window, seconds. */
  cpuSeconds: number;
  wallSeconds: number;
}

export interface PhaseResult {
  ping: RttStats;
  /** The fresh peer's first handshake, or why it could not be timed (a `wg` command failed). */
  handshake: HandshakeTiming | { error: string };
  /** iperf3 TCP x1 a → c receiver goodput, or why it failed. */
  throughput: { bitsPerSecond: number; retransmits: number | null } | { error: string };
  /** b's daemon during segment 1 (ping and handshake) and segment 2 (iperf3). */
  cpu: { ping: CpuWindow; throughput: CpuWindow };
  /** b's daemon resident memory at the start and the end of the phase. */
  memory: { before: ResidentMemory; after: ResidentMemory };
  /** b's namespace UDP counters, change over the phase. */
  udp: UdpCounters;
  /** The flooder's reports, flood phase only. */
  flood?: { ping: FloodReport; throughput: FloodReport };
}

export interface FloodRun {
  path: FloodPath;
  mode: FloodMode;
  /** Source addresses the flood came from. */
  sources: number;
  status: 'ok' | 'failed';
  reason?: string;
  quiet?: PhaseResult;
  flood?: PhaseResult;
}

export interface FloodBenchReport {
  date: string;
  host: HostInfo;
  /** Seconds per measurement. */
  seconds: number;
  /** Flood datagrams per second asked for. */
  rate: number;
  wireguardGo: { binary: string; version: string } | null;
  runs: FloodRun[];
}

/** The numbers the table shows for one run; undefined where a measure is missing. */
export interface FloodVerdict {
  floodRate?: number;
  pingLossQuietPercent?: number;
  pingLossFloodPercent?: number;
  rttFloodP50Ms?: number;
  rttFloodP99Ms?: number;
  gbpsQuiet?: number;
  gbpsFlood?: number;
  throughputRatio?: number;
  handshakeQuietMs?: number | null;
  handshakeFloodMs?: number | null;
  uapiFloodMs?: number;
  cpuQuietPercent?: number;
  cpuFloodPercent?: number;
  /** b's CPU seconds per 100k flood datagrams sent (segment 1 of the flood phase). */
  coreSecondsPer100k?: number;
  rcvbufDrops?: number;
  rssBeforeMiB?: number;
  rssAfterMiB?: number;
  rssPeakMiB?: number;
}

const percentCore = (w: CpuWindow) => (w.wallSeconds > 0 ? (w.cpuSeconds / w.wallSeconds) * 100 : undefined);
const gbps = (p: PhaseResult) => ('error' in p.throughput ? 0 : p.throughput.bitsPerSecond / 1e9);
const handshakeMs = (p: PhaseResult) => ('error' in p.handshake ? undefined : p.handshake.handshakeMs);

export function floodVerdict(run: FloodRun): FloodVerdict {
  const v: FloodVerdict = {};
  const { quiet, flood } = run;
  if (quiet) {
    v.pingLossQuietPercent = quiet.ping.loss * 100;
    v.gbpsQuiet = gbps(quiet);
    v.handshakeQuietMs = handshakeMs(quiet);
    v.cpuQuietPercent = percentCore(quiet.cpu.ping);
    v.rssBeforeMiB = quiet.memory.before.rssKiB / KIB_PER_MIB;
  }
  if (flood) {
    v.pingLossFloodPercent = flood.ping.loss * 100;
    v.rttFloodP50Ms = flood.ping.medianMs ?? undefined;
    v.rttFloodP99Ms = flood.ping.p99Ms ?? undefined;
    v.gbpsFlood = gbps(flood);
    v.handshakeFloodMs = handshakeMs(flood);
    if (!('error' in flood.handshake)) v.uapiFloodMs = flood.handshake.uapiMs;
    v.cpuFloodPercent = percentCore(flood.cpu.ping);
    v.rcvbufDrops = flood.udp.rcvbufErrors;
    v.rssAfterMiB = flood.memory.after.rssKiB / KIB_PER_MIB;
    v.rssPeakMiB = flood.memory.after.peakKiB / KIB_PER_MIB;
    if (flood.flood) {
      const f = flood.flood;
      const sent = f.ping.sent + f.throughput.sent;
      const secs = f.ping.seconds + f.throughput.seconds;
      v.floodRate = secs > 0 ? sent / secs : undefined;
      if (f.ping.sent > 0) v.coreSecondsPer100k = (flood.cpu.ping.cpuSeconds * DATAGRAMS_PER_UNIT) / f.ping.sent;
    }
  }
  if (v.gbpsQuiet !== undefined && v.gbpsFlood !== undefined && v.gbpsQuiet > 0) v.throughputRatio = v.gbpsFlood / v.gbpsQuiet;
  return v;
}

const fixed = (digits: number, suffix = '') => (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(digits)}${suffix}`);
/** Milliseconds with 3 significant digits at most decimals 2: "0.45", "12.3", "1717". */
const rtt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ms = (x: number | null | undefined) => (x === undefined ? '-' : x === null ? `none in ${HANDSHAKE_CAP_MS / 1000} s` : x.toFixed(0));

/** Table rows: label, target, and how to show a verdict's field. */
const ROWS: Array<[string, string, (v: FloodVerdict) => string]> = [
  ['flood datagrams/s sent', '', (v) => fixed(0)(v.floodRate)],
  ['ping loss quiet %', '', (v) => fixed(1)(v.pingLossQuietPercent)],
  ['ping loss flood %', `≤ ${TARGETS.pingLossPercent}`, (v) => fixed(1)(v.pingLossFloodPercent)],
  ['ping RTT flood p50/p99 ms', '', (v) => (v.rttFloodP50Ms === undefined ? '-' : `${rtt(v.rttFloodP50Ms)}/${rtt(v.rttFloodP99Ms!)}`)],
  ['TCP x1 quiet Gbit/s', '', (v) => fixed(3)(v.gbpsQuiet)],
  ['TCP x1 flood Gbit/s', '', (v) => fixed(3)(v.gbpsFlood)],
  ['throughput flood/quiet', `≥ ${TARGETS.throughputRatio}`, (v) => fixed(2, 'x')(v.throughputRatio)],
  ['fresh peer handshake quiet ms', '', (v) => ms(v.handshakeQuietMs)],
  ['fresh peer handshake flood ms', `≤ ${TARGETS.handshakeMs}`, (v) => ms(v.handshakeFloodMs)],
  ['wg set peer on b, flood ms', '', (v) => fixed(0)(v.uapiFloodMs)],
  ['b CPU %core quiet', '', (v) => fixed(0)(v.cpuQuietPercent)],
  ['b CPU %core flood', '', (v) => fixed(0)(v.cpuFloodPercent)],
  ['b core-s per 100k flood dgrams', '', (v) => fixed(3)(v.coreSecondsPer100k)],
  ['b UDP rcvbuf drops (flood)', '', (v) => (v.rcvbufDrops === undefined ? '-' : String(v.rcvbufDrops))],
  ['b RSS MiB before/after/peak', '', (v) => (v.rssBeforeMiB === undefined || v.rssAfterMiB === undefined ? '-' : `${v.rssBeforeMiB.toFixed(0)}/${v.rssAfterMiB.toFixed(0)}/${v.rssPeakMiB!.toFixed(0)}`)],
];

/** "single source" / "/24 spread (200)". */
export function modeLabel(mode: FloodMode, sources: number): string {
  return mode === 'single' ? '1 source' : `${sources} sources`;
}

/** Rows of metrics, one column per run (mode, path), the target last. */
export function formatFloodTable(report: FloodBenchReport): string {
  const head = [
    `tunvpn flood bench ${report.date}: ${report.rate} handshake initiations/s (valid MAC1) at b from a host on its LAN; ${report.seconds} s per measure`,
  ];
  if (report.wireguardGo) head.push(`wireguard-go: ${report.wireguardGo.version} (${report.wireguardGo.binary}); the fresh peer is always this wireguard-go`);
  const ok = report.runs.filter((r) => r.status === 'ok');
  const out = [...head, ''];
  if (ok.length > 0) {
    const verdicts = ok.map(floodVerdict);
    const rows: string[][] = [['', ...ok.map((r) => modeLabel(r.mode, r.sources)), 'target'], ['', ...ok.map((r) => r.path), '']];
    for (const [label, target, show] of ROWS) rows.push([label, ...verdicts.map(show), target]);
    const lines = formatColumns(rows, 1);
    // formatColumns rules off row 0; the path row belongs to the header: move the rule under it.
    out.push(lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3));
  }
  for (const r of report.runs.filter((x) => x.status !== 'ok')) out.push(`${r.path}, ${modeLabel(r.mode, r.sources)}: failed: ${r.reason ?? ''}`);
  return `${out.join('\n')}\n`;
}
