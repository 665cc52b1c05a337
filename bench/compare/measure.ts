/**
 * Measures one path once (one round): build the lab (veth, or the same daemon at both ends), wait for the tunnel,
 * then each selected test with the daemons' CPU time sampled before and after. The lab is always torn down.
 *
 *   rtt      ping a → c, RTT_PINGS at 0.1 s, idle
 *   tcp1     iperf3 one stream a → c, with ping a → c every 0.1 s for as long (the RTT under load)
 *   tcp4     iperf3 -P 4
 *   reverse  iperf3 -R (c sends)
 *   udp64    iperf3 -u -b 0 -l 64: unthrottled 64-byte datagrams a → c, packets/s that arrive and the loss
 *   udp512   the same with 512 bytes
 */
import type { EndKind, Lab } from '../../src/lab/index.js';
import { inLab } from '../common/in-lab.js';
import type { Logger } from '../../src/log.js';
import type { PingReplies } from '../../src/lab/ping.js';
import { PING_INTERVAL_S } from '../../src/lab/ping.js';
import { rttStats } from '../common/stats.js';
import { cpuMetrics, TESTS, type PathName, type PathRun, type TestId, type TestResult, type TestSpec } from './report.js';
import type { Progress } from '../common/progress.js';

/** Pings of the idle RTT test. */
export const RTT_PINGS = 20;
/** How long the first handshake may take (ms). */
const REACHABLE_TIMEOUT_MS = 15_000;

export interface MeasureOptions {
  round: number;
  seconds: number;
  tests: readonly TestId[];
  /** The wireguard-go binary. */
  wireguardGo: string;
  log: Logger;
  progress: Progress;
  /** "[2/5]" prefix for the progress line. */
  step: string;
}

function endKind(path: PathName): EndKind | undefined {
  if (path === 'veth' || path === 'wireguard-go' || path === 'tunvpn') return path;
  return undefined;
}

/** Why a path cannot run here (a missing binary, no driver), or undefined when it can. */
export function unavailable(path: PathName, have: (binary: string) => boolean, wireguardGo: string): string | undefined {
  const needs: Record<PathName, string[]> = {
    veth: [],
    'wireguard-go': [wireguardGo, 'wg'],
    tunvpn: [],
    openvpn: ['openvpn'],
    tinc: ['tincd'],
  };
  const missing = needs[path].filter((b) => !have(b));
  if (missing.length) return `not installed (${missing.join(', ')})`;
  if (endKind(path) === undefined) return 'installed, but the bench has no driver for it yet';
  return undefined;
}

function toRtt(p: PingReplies) {
  return rttStats(p.transmitted, p.received, p.loss, p.rttsMs);
}

async function runTest(lab: Lab, t: TestSpec, seconds: number): Promise<TestResult> {
  if (t.kind === 'rtt') return { test: t.id, kind: 'rtt', rtt: toRtt(await lab.pingReplies('a', lab.addr.c, RTT_PINGS)) };
  const cpu0 = lab.daemonCpuSeconds();
  if (t.kind === 'udp') {
    const r = await lab.iperfUdp({ duration: seconds, length: t.length });
    const cpu1 = lab.daemonCpuSeconds();
    return {
      test: t.id,
      kind: 'udp',
      packetsPerSecond: r.seconds > 0 ? r.packets / r.seconds : 0,
      packets: r.packets,
      lostPackets: r.lostPackets,
      lossRate: r.lossRate,
      sentPackets: r.sentPackets ?? null,
      bitsPerSecond: r.bitsPerSecond,
      bytes: r.bytes,
      seconds: r.seconds,
      cpu: cpu0 === undefined || cpu1 === undefined ? null : cpuMetrics(cpu1 - cpu0, r.seconds, r.bytes, r.packets),
    };
  }
  // TCP x1 carries the RTT-under-load pings, sent for as long as the test runs.
  const pings = t.id === 'tcp1' ? lab.pingReplies('a', lab.addr.c, Math.max(1, Math.round(seconds / PING_INTERVAL_S))) : undefined;
  const r = await lab.iperf({ duration: seconds, parallel: t.parallel, reverse: t.reverse });
  const cpu1 = lab.daemonCpuSeconds();
  const result: TestResult = {
    test: t.id,
    kind: 'tcp',
    bitsPerSecond: r.bitsPerSecond,
    bytes: r.bytes,
    seconds: r.seconds,
    retransmits: r.retransmits ?? null,
    cpu: cpu0 === undefined || cpu1 === undefined ? null : cpuMetrics(cpu1 - cpu0, r.seconds, r.bytes),
  };
  if (pings) result.loadedRtt = toRtt(await pings);
  return result;
}

export async function measurePath(path: PathName, opts: MeasureOptions, have: (binary: string) => boolean): Promise<PathRun> {
  const base = { round: opts.round, path, results: [] };
  const why = unavailable(path, have, opts.wireguardGo);
  const kind = endKind(path);
  if (why !== undefined || kind === undefined) return { ...base, status: 'skipped', reason: why ?? 'no driver' };

  const say = (what: string) => opts.progress.update(`${opts.step} round ${opts.round} ${path}: ${what}`);
  const r = await inLab({ a: kind, b: kind, log: opts.log, wireguardGo: opts.wireguardGo }, path, say, async (lab) => {
    say('waiting for the path to carry traffic');
    if (!(await lab.waitReachable('a', lab.addr.c, REACHABLE_TIMEOUT_MS))) throw new Error(`a cannot reach c (${lab.addr.c})`);
    const results: TestResult[] = [];
    for (const t of TESTS) {
      if (!opts.tests.includes(t.id)) continue;
      say(t.kind === 'rtt' ? `ping x${RTT_PINGS}` : `iperf3 ${t.label} (${opts.seconds} s)`);
      results.push(await runTest(lab, t, opts.seconds));
    }
    return { results };
  });
  return { ...base, ...r };
}
