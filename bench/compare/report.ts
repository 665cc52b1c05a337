/**
 * The benchmark's results and how they are reported: the tests, the raw numbers of every round, the summary
 * (median and min–max per path and metric over the rounds), the median of per-round tunvpn/wireguard-go ratios,
 * and the text tables. Everything here is pure (no I/O, no clock), so it is unit-tested with fixed numbers.
 */
import type { HostInfo } from '../common/host.js';
import { formatColumns } from '../common/format.js';
import { ratioSpread, spread, type RttStats, type Spread } from '../common/stats.js';

/** The tests run on every path, in the order they run (the idle RTT first, before anything loads the path). */
export const TESTS = [
  { id: 'rtt', label: 'RTT idle', kind: 'rtt' },
  { id: 'tcp1', label: 'TCP x1', kind: 'tcp', parallel: 1, reverse: false },
  { id: 'tcp4', label: 'TCP x4', kind: 'tcp', parallel: 4, reverse: false },
  { id: 'reverse', label: 'TCP -R', kind: 'tcp', parallel: 1, reverse: true },
  { id: 'udp64', label: 'UDP 64 B', kind: 'udp', length: 64 },
  { id: 'udp512', label: 'UDP 512 B', kind: 'udp', length: 512 },
] as const;
export type TestSpec = (typeof TESTS)[number];
export type TestId = TestSpec['id'];
export const TEST_IDS: readonly TestId[] = TESTS.map((t) => t.id);

/** Paths the bench knows; the first three are built by the lab, the others only reported as skipped. */
export const KNOWN_PATHS = ['veth', 'wireguard-go', 'tunvpn', 'openvpn', 'tinc'] as const;
export type PathName = (typeof KNOWN_PATHS)[number];
export const DEFAULT_PATHS: readonly PathName[] = ['veth', 'wireguard-go', 'tunvpn'];
/** The ratio the verdict is about: NUMERATOR / DENOMINATOR. */
export const NUMERATOR: PathName = 'tunvpn';
export const DENOMINATOR: PathName = 'wireguard-go';

const BITS_PER_GBIT = 1e9;
const BITS_PER_BYTE = 8;
const US_PER_S = 1e6;

export interface CpuMetrics {
  /** utime+stime of both daemons over the test, seconds. */
  cpuSeconds: number;
  /** cpuSeconds / wall seconds × 100: 100 = one core busy (both daemons together, so up to 100 × cores). */
  percentCore: number;
  /** cpuSeconds per gigabit received (lower is better). */
  coreSecondsPerGbit: number;
  /** CPU microseconds per packet received; UDP tests only. */
  microsecondsPerPacket?: number;
}

export interface TcpResult {
  test: 'tcp1' | 'tcp4' | 'reverse';
  kind: 'tcp';
  /** Receiver goodput, bits/s. */
  bitsPerSecond: number;
  bytes: number;
  seconds: number;
  retransmits: number | null;
  /** null on the veth path (no daemon: the kernel's work is not attributed to a process). */
  cpu: CpuMetrics | null;
  /** Pings a → c every 0.1 s while this test ran (TCP x1 only). */
  loadedRtt?: RttStats;
}

export interface UdpResult {
  test: 'udp64' | 'udp512';
  kind: 'udp';
  /** Datagrams that arrived per second of the receiver's measurement. */
  packetsPerSecond: number;
  packets: number;
  lostPackets: number;
  /** 0..1: lost / (arrived + lost), the receiver's view. */
  lossRate: number;
  /** Datagrams iperf3 handed to its socket; null when not reported. */
  sentPackets: number | null;
  /** Payload goodput, bits/s. */
  bitsPerSecond: number;
  bytes: number;
  seconds: number;
  cpu: CpuMetrics | null;
}

export interface RttResult {
  test: 'rtt';
  kind: 'rtt';
  rtt: RttStats;
}

export type TestResult = TcpResult | UdpResult | RttResult;

/** One path measured once: a fresh lab, the selected tests, torn down. */
export interface PathRun {
  /** 1-based. */
  round: number;
  path: PathName;
  status: 'ok' | 'failed' | 'skipped';
  /** Why failed/skipped. */
  reason?: string;
  results: TestResult[];
}

/** A number the summary and the chart report, taken from one kind of test result. */
export interface Metric {
  id: string;
  test: TestId;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  /** Digits after the point in tables. */
  digits: number;
  value: (r: TestResult) => number | undefined;
}

const gbps = (r: TestResult) => (r.kind === 'tcp' ? r.bitsPerSecond / BITS_PER_GBIT : undefined);
const kpps = (r: TestResult) => (r.kind === 'udp' ? r.packetsPerSecond / 1e3 : undefined);

/** The headline metrics, in table order: one per test, and the RTT measured under TCP x1's load. */
export const METRICS: readonly Metric[] = [
  { id: 'tcp1', test: 'tcp1', label: 'TCP x1', unit: 'Gbit/s', better: 'higher', digits: 3, value: gbps },
  { id: 'tcp4', test: 'tcp4', label: 'TCP x4', unit: 'Gbit/s', better: 'higher', digits: 3, value: gbps },
  { id: 'reverse', test: 'reverse', label: 'TCP -R', unit: 'Gbit/s', better: 'higher', digits: 3, value: gbps },
  { id: 'udp64', test: 'udp64', label: 'UDP 64 B', unit: 'kpps', better: 'higher', digits: 1, value: kpps },
  { id: 'udp512', test: 'udp512', label: 'UDP 512 B', unit: 'kpps', better: 'higher', digits: 1, value: kpps },
  { id: 'rtt', test: 'rtt', label: 'RTT idle p50', unit: 'ms', better: 'lower', digits: 3, value: (r) => (r.kind === 'rtt' ? r.rtt.medianMs ?? undefined : undefined) },
  {
    id: 'rttLoad', test: 'tcp1', label: 'RTT load p50', unit: 'ms', better: 'lower', digits: 3,
    value: (r) => (r.kind === 'tcp' ? r.loadedRtt?.medianMs ?? undefined : undefined),
  },
];

/** Second-line numbers per test (medians over rounds in the details table). */
export const DETAILS = {
  retransmits: (r: TestResult) => (r.kind === 'tcp' ? r.retransmits ?? undefined : undefined),
  lossPercent: (r: TestResult) => (r.kind === 'udp' ? r.lossRate * 100 : r.kind === 'rtt' ? r.rtt.loss * 100 : r.loadedRtt ? r.loadedRtt.loss * 100 : undefined),
  rttP99Ms: (r: TestResult) => (r.kind === 'rtt' ? r.rtt.p99Ms ?? undefined : r.kind === 'tcp' ? r.loadedRtt?.p99Ms ?? undefined : undefined),
  percentCore: (r: TestResult) => (r.kind !== 'rtt' ? r.cpu?.percentCore : undefined),
  coreSecondsPerGbit: (r: TestResult) => (r.kind !== 'rtt' ? r.cpu?.coreSecondsPerGbit : undefined),
  microsecondsPerPacket: (r: TestResult) => (r.kind === 'udp' ? r.cpu?.microsecondsPerPacket : undefined),
} as const;
export type DetailId = keyof typeof DETAILS;

export interface PathSummary {
  path: PathName;
  /** ok when at least one round was ok; otherwise the status and reason of the last round. */
  status: 'ok' | 'failed' | 'skipped';
  reason?: string;
  rounds: number;
  okRounds: number;
  /** Metric id → spread over the ok rounds (absent: no value). */
  metrics: Record<string, Spread>;
  /** Test id → detail → spread. */
  details: Record<string, Partial<Record<DetailId, Spread>>>;
}

export interface RatioSummary {
  metric: string;
  label: string;
  better: 'higher' | 'lower';
  /** NUMERATOR / DENOMINATOR in each round where both had a value, in round order. */
  perRound: number[];
  median: number;
  min: number;
  max: number;
}

export interface BenchReport {
  /** ISO 8601 start time. */
  date: string;
  host: HostInfo;
  /** Seconds per iperf3 test. */
  seconds: number;
  rounds: number;
  tests: TestId[];
  /** The wireguard-go binary and the first line of its --version; null when the path was not run. */
  wireguardGo: { binary: string; version: string } | null;
  /** Every path measured, in the order run. */
  runs: PathRun[];
  summary: PathSummary[];
  ratios: RatioSummary[];
}

/** CPU metrics from a CPU-time delta; null when the inputs cannot give a meaningful number. */
export function cpuMetrics(cpuSeconds: number, wallSeconds: number, bytes: number, packets?: number): CpuMetrics | null {
  if (!(cpuSeconds >= 0) || !(wallSeconds > 0) || !(bytes > 0)) return null;
  const gbit = (bytes * BITS_PER_BYTE) / BITS_PER_GBIT;
  const m: CpuMetrics = { cpuSeconds, percentCore: (cpuSeconds / wallSeconds) * 100, coreSecondsPerGbit: cpuSeconds / gbit };
  if (packets !== undefined && packets > 0) m.microsecondsPerPacket = (cpuSeconds * US_PER_S) / packets;
  return m;
}

/** The paths in the order they first appear in the runs. */
function pathsOf(runs: readonly PathRun[]): PathName[] {
  const out: PathName[] = [];
  for (const r of runs) if (!out.includes(r.path)) out.push(r.path);
  return out;
}

function valuesOf(runs: readonly PathRun[], test: TestId, value: (r: TestResult) => number | undefined): number[] {
  const out: number[] = [];
  for (const run of runs) {
    if (run.status !== 'ok') continue;
    const r = run.results.find((x) => x.test === test);
    const v = r && value(r);
    if (v !== undefined && Number.isFinite(v)) out.push(v);
  }
  return out;
}

/** Per path: spread over its ok rounds of every metric and detail. */
export function summarize(runs: readonly PathRun[]): PathSummary[] {
  return pathsOf(runs).map((path) => {
    const mine = runs.filter((r) => r.path === path);
    const ok = mine.filter((r) => r.status === 'ok');
    const last = mine[mine.length - 1]!;
    const metrics: Record<string, Spread> = {};
    for (const m of METRICS) {
      const s = spread(valuesOf(ok, m.test, m.value));
      if (s) metrics[m.id] = s;
    }
    const details: PathSummary['details'] = {};
    for (const t of TEST_IDS) {
      const d: Partial<Record<DetailId, Spread>> = {};
      for (const [id, fn] of Object.entries(DETAILS) as Array<[DetailId, (r: TestResult) => number | undefined]>) {
        const s = spread(valuesOf(ok, t, fn));
        if (s) d[id] = s;
      }
      if (Object.keys(d).length > 0) details[t] = d;
    }
    const s: PathSummary = { path, status: ok.length > 0 ? 'ok' : last.status, rounds: mine.length, okRounds: ok.length, metrics, details };
    if (ok.length === 0 && last.reason !== undefined) s.reason = last.reason;
    return s;
  });
}

/** Per metric: NUMERATOR/DENOMINATOR per round (matched by round number), and their spread. */
export function computeRatios(runs: readonly PathRun[], num: PathName = NUMERATOR, den: PathName = DENOMINATOR): RatioSummary[] {
  const rounds = Math.max(0, ...runs.map((r) => r.round));
  const byRound = (path: PathName, m: Metric) =>
    Array.from({ length: rounds }, (_, i) => {
      const run = runs.find((r) => r.path === path && r.round === i + 1 && r.status === 'ok');
      const res = run?.results.find((x) => x.test === m.test);
      const v = res && m.value(res);
      return v !== undefined && Number.isFinite(v) ? v : undefined;
    });
  const out: RatioSummary[] = [];
  for (const m of METRICS) {
    const r = ratioSpread(byRound(num, m), byRound(den, m));
    if (r) out.push({ metric: m.id, label: m.label, better: m.better, perRound: r.perRound, median: r.spread.median, min: r.spread.min, max: r.spread.max });
  }
  return out;
}

/** "1.337 [1.300–1.400]", or just the value when there was one round (or min = max at this precision). */
export function formatSpread(s: Spread, digits: number): string {
  const v = s.median.toFixed(digits);
  const lo = s.min.toFixed(digits);
  const hi = s.max.toFixed(digits);
  return s.n < 2 || lo === hi ? v : `${v} [${lo}–${hi}]`;
}

/** The first line: what ran, how often, and which wireguard-go. */
export function formatHeader(report: BenchReport): string[] {
  const paths = report.summary.map((s) => s.path);
  const alternate = paths.includes(NUMERATOR) && paths.includes(DENOMINATOR) ? `; ${DENOMINATOR} and ${NUMERATOR} alternate each round` : '';
  const veth = paths.includes('veth') && report.rounds > 1 ? '; veth once' : '';
  const lines = [`tunvpn bench ${report.date}: ${report.rounds} round(s), ${report.seconds} s per test${alternate}${veth}`];
  if (report.wireguardGo) lines.push(`wireguard-go: ${report.wireguardGo.version} (${report.wireguardGo.binary})`);
  return lines;
}

/** The report as text: the header, medians per metric and path with the ratio, then the details per path. */
export function formatTable(report: BenchReport): string {
  const ok = report.summary.filter((s) => s.status === 'ok');
  const ratioHeader = `${NUMERATOR}/${DENOMINATOR}`;
  const haveRatios = report.ratios.length > 0;
  const metricRows: string[][] = [['metric', 'unit', ...ok.map((s) => s.path), ...(haveRatios ? [ratioHeader] : [])]];
  for (const m of METRICS) {
    if (!ok.some((s) => s.metrics[m.id])) continue;
    const cells = ok.map((s) => {
      const v = s.metrics[m.id];
      return v ? formatSpread(v, m.digits) : '-';
    });
    const ratio = report.ratios.find((r) => r.metric === m.id);
    const ratioCell = ratio ? `${formatSpread({ median: ratio.median, min: ratio.min, max: ratio.max, n: ratio.perRound.length }, 2)}x` : '-';
    metricRows.push([m.label, m.unit, ...cells, ...(haveRatios ? [ratioCell] : [])]);
  }
  const out = [...formatHeader(report), ''];
  if (metricRows.length > 1) {
    out.push('medians over the rounds [min–max]', ...formatColumns(metricRows, 2));
    if (haveRatios) {
      out.push(`${ratioHeader}: the median of per-round ratios [min–max]; above 1 favours ${NUMERATOR} except for RTT (lower is better)`);
    }
  }
  const detailRows: string[][] = [['path', 'test', 'retr', 'loss %', 'RTT p99 ms', 'CPU %core', 'core-s/Gbit', 'µs/packet']];
  const cell = (s: Spread | undefined, digits: number) => (s ? s.median.toFixed(digits) : '-');
  for (const s of ok) {
    for (const t of TESTS) {
      const d = s.details[t.id];
      if (!d && !s.metrics[t.id]) continue;
      detailRows.push([
        s.path, t.label, cell(d?.retransmits, 0), cell(d?.lossPercent, 2), cell(d?.rttP99Ms, 3),
        cell(d?.percentCore, 0), cell(d?.coreSecondsPerGbit, 3), cell(d?.microsecondsPerPacket, 2),
      ]);
    }
  }
  if (detailRows.length > 1) out.push('', 'details (medians over the rounds; loss % and RTT p99 of TCP x1: the pings under its load)', ...formatColumns(detailRows, 2));
  const problems = report.runs.filter((r) => r.status !== 'ok');
  if (problems.length > 0) {
    out.push('');
    for (const r of problems) out.push(`${r.path} round ${r.round}: ${r.status}: ${r.reason ?? ''}`.trimEnd());
  }
  return `${out.join('\n')}\n`;
}
