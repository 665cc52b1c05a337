/**
 * Measures one path: build the lab (veth, or the same daemon at both ends), wait for the tunnel, ping a → c,
 * then each iperf3 test with the daemons' CPU time sampled before and after. The lab is always torn down.
 */
import { Lab, onPath, type EndKind } from '../src/lab/index.js';
import type { Logger } from '../src/log.js';
import { cpuMetrics, TESTS, type PathName, type PathResult, type TestResult } from './report.js';
import type { Progress } from './progress.js';

/** Pings for the RTT column. */
export const PING_COUNT = 20;
/** How long the first handshake may take (ms). */
const REACHABLE_TIMEOUT_MS = 15_000;
/** Binaries a path needs besides the lab's own tools. */
const PATH_BINARIES: Record<PathName, string[]> = {
  veth: [],
  'wireguard-go': ['wireguard-go', 'wg'],
  tunvpn: [],
  openvpn: ['openvpn'],
  tinc: ['tincd'],
};

export interface MeasureOptions {
  durationSeconds: number;
  log: Logger;
  progress: Progress;
  /** "[2/3]" prefix for the progress line. */
  step: string;
}

function endKind(path: PathName): EndKind | undefined {
  if (path === 'veth' || path === 'wireguard-go' || path === 'tunvpn') return path;
  return undefined;
}

export async function measurePath(path: PathName, opts: MeasureOptions): Promise<PathResult> {
  const base = { path, pingAvgMs: null, pingLoss: null, tests: [] };
  const missing = PATH_BINARIES[path].filter((b) => !onPath(b));
  if (missing.length) return { ...base, status: 'skipped', reason: `not installed (${missing.join(', ')})` };
  const kind = endKind(path);
  if (kind === undefined) return { ...base, status: 'skipped', reason: 'installed, but the bench has no driver for it yet' };

  const say = (what: string) => opts.progress.update(`${opts.step} ${path}: ${what}`);
  say('building the lab');
  let lab: Lab | undefined;
  try {
    lab = await Lab.create({ a: kind, b: kind, log: opts.log });
    say('waiting for the path to carry traffic');
    if (!(await lab.waitReachable('a', lab.addr.c, REACHABLE_TIMEOUT_MS))) throw new Error(`a cannot reach c (${lab.addr.c})`);
    say(`ping x${PING_COUNT}`);
    const p = await lab.ping('a', lab.addr.c, PING_COUNT);
    const tests: TestResult[] = [];
    for (const t of TESTS) {
      say(`iperf3 ${t.label} (${opts.durationSeconds} s)`);
      const cpu0 = lab.daemonCpuSeconds();
      const r = await lab.iperf({ duration: opts.durationSeconds, parallel: t.parallel, reverse: t.reverse });
      const cpu1 = lab.daemonCpuSeconds();
      tests.push({
        test: t.id,
        label: t.label,
        bitsPerSecond: r.bitsPerSecond,
        bytes: r.bytes,
        seconds: r.seconds,
        retransmits: r.retransmits ?? null,
        cpu: cpu0 === undefined || cpu1 === undefined ? null : cpuMetrics(cpu1 - cpu0, r.seconds, r.bytes),
      });
    }
    return { path, status: 'ok', pingAvgMs: p.avgRttMs ?? null, pingLoss: p.loss, tests };
  } catch (e) {
    return { ...base, status: 'failed', reason: (e as Error).message.split('\n')[0] ?? String(e) };
  } finally {
    if (lab) {
      say('tearing down');
      const problems = await lab.dispose();
      if (problems.length) opts.log.warn(`${path}: clean-up problems: ${problems.join('; ')}`);
    }
  }
}
