/**
 * The benchmark's results and how they are reported: CPU metrics, tunvpn/wireguard-go ratios, the text table.
 * Everything here is pure (no I/O, no clock), so it is unit-tested with fixed numbers.
 */

/** The throughput tests run on every path, in order. */
export const TESTS = [
  { id: 'tcp1', label: 'TCP x1', parallel: 1, reverse: false },
  { id: 'tcp4', label: 'TCP x4', parallel: 4, reverse: false },
  { id: 'reverse', label: 'TCP -R', parallel: 1, reverse: true },
] as const;
export type TestId = (typeof TESTS)[number]['id'];

/** Paths the bench knows; the first three are built by the lab, the others only reported as skipped. */
export const KNOWN_PATHS = ['veth', 'wireguard-go', 'tunvpn', 'openvpn', 'tinc'] as const;
export type PathName = (typeof KNOWN_PATHS)[number];
export const DEFAULT_PATHS: readonly PathName[] = ['veth', 'wireguard-go', 'tunvpn'];

const BITS_PER_GBIT = 1e9;
const BITS_PER_BYTE = 8;

export interface CpuMetrics {
  /** utime+stime of both daemons over the test, seconds. */
  cpuSeconds: number;
  /** cpuSeconds / wall seconds × 100: 100 = one core busy (both daemons together, so up to 100 × cores). */
  percentCore: number;
  /** cpuSeconds per gigabit received (lower is better). */
  coreSecondsPerGbit: number;
}

export interface TestResult {
  test: TestId;
  label: string;
  /** Receiver goodput, bits/s. */
  bitsPerSecond: number;
  bytes: number;
  seconds: number;
  retransmits: number | null;
  /** null on the veth path (no daemon: the kernel's work is not attributed to a process). */
  cpu: CpuMetrics | null;
}

export interface PathResult {
  path: PathName;
  status: 'ok' | 'failed' | 'skipped';
  /** Why failed/skipped. */
  reason?: string;
  /** Average of the ping RTTs a → c, ms. */
  pingAvgMs: number | null;
  pingLoss: number | null;
  tests: TestResult[];
}

export interface Ratio {
  test: TestId;
  label: string;
  /** tunvpn throughput / wireguard-go throughput for this test. */
  ratio: number;
}

export interface BenchReport {
  /** ISO 8601 start time. */
  date: string;
  host: { cpus: number; kernel: string; node: string };
  durationSeconds: number;
  paths: PathResult[];
  ratios: Ratio[];
}

/** CPU metrics from a CPU-time delta; null when the inputs cannot give a meaningful number. */
export function cpuMetrics(cpuSeconds: number, wallSeconds: number, bytes: number): CpuMetrics | null {
  if (!(cpuSeconds >= 0) || !(wallSeconds > 0) || !(bytes > 0)) return null;
  const gbit = (bytes * BITS_PER_BYTE) / BITS_PER_GBIT;
  return { cpuSeconds, percentCore: (cpuSeconds / wallSeconds) * 100, coreSecondsPerGbit: cpuSeconds / gbit };
}

/** tunvpn / wireguard-go per test, for the tests both completed. */
export function computeRatios(paths: readonly PathResult[], num: PathName = 'tunvpn', den: PathName = 'wireguard-go'): Ratio[] {
  const find = (p: PathName) => paths.find((r) => r.path === p && r.status === 'ok');
  const a = find(num);
  const b = find(den);
  if (!a || !b) return [];
  const out: Ratio[] = [];
  for (const t of TESTS) {
    const x = a.tests.find((r) => r.test === t.id);
    const y = b.tests.find((r) => r.test === t.id);
    if (x && y && y.bitsPerSecond > 0) out.push({ test: t.id, label: t.label, ratio: x.bitsPerSecond / y.bitsPerSecond });
  }
  return out;
}

/** Splits and validates `--paths a,b,c`; throws on an unknown or repeated name. */
export function parsePaths(text: string): PathName[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new Error('--paths: give at least one of ' + KNOWN_PATHS.join(', '));
  const out: PathName[] = [];
  for (const n of names) {
    if (!(KNOWN_PATHS as readonly string[]).includes(n)) throw new Error(`--paths: unknown path "${n}" (known: ${KNOWN_PATHS.join(', ')})`);
    if (out.includes(n as PathName)) throw new Error(`--paths: "${n}" given twice`);
    out.push(n as PathName);
  }
  return out;
}

export function formatGbps(bps: number): string {
  return (bps / BITS_PER_GBIT).toFixed(3);
}

/** The result table as fixed-width text (one row per path and test), then the ratios. */
export function formatTable(report: BenchReport): string {
  const header = ['path', 'test', 'Gbit/s', 'retr', 'RTT ms', 'CPU %core', 'core-s/Gbit'];
  const rows: string[][] = [];
  for (const p of report.paths) {
    if (p.status !== 'ok') {
      rows.push([p.path, `${p.status}: ${p.reason ?? ''}`, '', '', '', '', '']);
      continue;
    }
    const rtt = p.pingAvgMs === null ? '-' : p.pingAvgMs.toFixed(3);
    for (const t of p.tests) {
      rows.push([
        p.path,
        t.label,
        formatGbps(t.bitsPerSecond),
        t.retransmits === null ? '-' : String(t.retransmits),
        rtt,
        t.cpu ? t.cpu.percentCore.toFixed(0) : '-',
        t.cpu ? t.cpu.coreSecondsPerGbit.toFixed(3) : '-',
      ]);
    }
  }
  // Status rows carry a long reason in column 2: let it overflow instead of widening the column.
  const widths = header.map((h, i) => Math.max(h.length, ...rows.filter((r) => r[2] !== '' || i !== 1).map((r) => r[i]!.length)));
  const numeric = new Set([2, 3, 4, 5, 6]);
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  if (report.ratios.length) {
    out.push('', `tunvpn / wireguard-go: ${report.ratios.map((r) => `${r.label} ${r.ratio.toFixed(2)}x`).join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}

/** "2026-01-31T12-00-00Z": the results' file name stem (no ':' in file names). */
export function resultStem(isoDate: string): string {
  return isoDate.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}
