/**
 * `npm run bench -- flood`: issue 13's scenario. For each source mode and path (wireguard-go or tunvpn at both
 * tunnel ends), a fresh lab with a host f on b's LAN; the quiet phase, then the flood phase with f sending
 * handshake initiations (flooder.ts) at b's listening port, from one address or from many of the LAN's /24.
 * See flood-report.ts for what a phase measures. Writes bench/results/<date>-flood.json.
 */
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/index.js';
import { startFreshPeer, timeFirstHandshake, type FreshPeer } from './freshpeer.js';
import { lastJsonLine } from '../common/child-report.js';
import { hostInfo } from '../common/host.js';
import { firstLineOf, inLab, publicKeyOfB } from '../common/in-lab.js';
import type { LabProcess } from '../../src/lab/exec.js';
import type { FloodReport } from './flooder.js';
import { sourceAddresses } from '../common/ipv4.js';
import { PING_INTERVAL_S } from '../../src/lab/ping.js';
import { udpCounters, type UdpCounters } from './snmp.js';
import { createLogger, type Logger } from '../../src/log.js';
import { checkLabTools, wireguardGoVersion } from '../common/binaries.js';
import { floodVerdict, formatFloodTable, HANDSHAKE_CAP_MS, modeLabel, type CpuWindow, type FloodBenchReport, type FloodRun, type PhaseResult } from './report.js';
import type { FloodArgs, FloodMode, FloodPath } from '../options.js';
import { Progress } from '../common/progress.js';
import { resultStem } from '../common/format.js';
import { rttStats } from '../common/stats.js';
import { writeResult } from '../common/results.js';

const FLOOD_MAIN = fileURLToPath(new URL('./flooder.js', import.meta.url));
const REACHABLE_TIMEOUT_MS = 15_000;
/** Node start-up, addon load and the message pool on a busy VM (ms). */
const FLOODER_START_TIMEOUT_MS = 20_000;
const FLOODER_STOP_GRACE_MS = 5_000;

interface PhaseContext {
  lab: Lab;
  seconds: number;
  fresh: FreshPeer;
  /** b's public key (base64). */
  publicKey: string;
  /** Starts a flooder and resolves once its first batch went out; undefined in the quiet phase. */
  startFlooder?: () => Promise<LabProcess>;
}

async function stopFlooder(proc: LabProcess): Promise<FloodReport> {
  return lastJsonLine<FloodReport>(await proc.stop(FLOODER_STOP_GRACE_MS), 'the flooder');
}

function diff(a: UdpCounters, b: UdpCounters): UdpCounters {
  return { inDatagrams: b.inDatagrams - a.inDatagrams, inErrors: b.inErrors - a.inErrors, rcvbufErrors: b.rcvbufErrors - a.rcvbufErrors };
}

/** Runs fn between two samples of b's daemon CPU time. */
async function cpuAround<T>(lab: Lab, fn: () => Promise<T>): Promise<{ value: T; cpu: CpuWindow }> {
  const c0 = lab.daemonCpuSeconds('b')!;
  const t0 = performance.now();
  const value = await fn();
  return { value, cpu: { cpuSeconds: lab.daemonCpuSeconds('b')! - c0, wallSeconds: (performance.now() - t0) / 1000 } };
}

async function phase(ctx: PhaseContext): Promise<PhaseResult> {
  const { lab, seconds } = ctx;
  const memBefore = lab.daemonMemory('b')!;
  const udp0 = udpCounters(lab.plan.ns.b);
  const flooders: LabProcess[] = [];
  try {
    // Segment 1: pings and the fresh peer's handshake.
    const f1 = ctx.startFlooder && (await ctx.startFlooder());
    if (f1) flooders.push(f1);
    const seg1 = await cpuAround(lab, () =>
      Promise.all([
        lab.pingReplies('a', lab.addr.c, Math.round(seconds / PING_INTERVAL_S)),
        timeFirstHandshake(lab, ctx.fresh, ctx.publicKey, HANDSHAKE_CAP_MS).catch((e: unknown) => ({ error: firstLineOf(e) })),
      ]),
    );
    const floodPing = f1 && (await stopFlooder(flooders.pop()!));
    // Segment 2: throughput.
    const f2 = ctx.startFlooder && (await ctx.startFlooder());
    if (f2) flooders.push(f2);
    const seg2 = await cpuAround(lab, () =>
      lab.iperf({ duration: seconds }).then(
        (r) => ({ bitsPerSecond: r.bitsPerSecond, retransmits: r.retransmits ?? null }),
        (e: unknown) => ({ error: firstLineOf(e) }),
      ),
    );
    const floodThroughput = f2 && (await stopFlooder(flooders.pop()!));
    const [p, handshake] = seg1.value;
    const result: PhaseResult = {
      ping: rttStats(p.transmitted, p.received, p.loss, p.rttsMs),
      handshake,
      throughput: seg2.value,
      cpu: { ping: seg1.cpu, throughput: seg2.cpu },
      memory: { before: memBefore, after: lab.daemonMemory('b')! },
      udp: diff(udp0, udpCounters(lab.plan.ns.b)),
    };
    if (floodPing && floodThroughput) result.flood = { ping: floodPing, throughput: floodThroughput };
    return result;
  } finally {
    for (const f of flooders) await f.stop(FLOODER_STOP_GRACE_MS);
  }
}

async function floodRun(path: FloodPath, mode: FloodMode, args: FloodArgs, log: Logger, say: (s: string) => void): Promise<FloodRun> {
  const sources = mode === 'single' ? 1 : args.sources;
  const base = { path, mode, sources };
  const r = await inLab({ a: path, b: path, lanHost: true, log, wireguardGo: args.wireguardGo }, path, say, async (l) => {
    if (!(await l.waitReachable('a', l.addr.c, REACHABLE_TIMEOUT_MS))) throw new Error(`a cannot reach c (${l.addr.c})`);
    const first = mode === 'single' ? l.plan.lanHost.address : l.plan.lanHost.firstSource;
    if (mode === 'spread') await l.addLanHostAddresses(sourceAddresses(first, sources));
    const publicKey = await publicKeyOfB(l);
    const freshQuiet = await startFreshPeer(l, 'p', 0);
    const freshFlood = await startFreshPeer(l, 'q', 1);
    say(`quiet phase (${2 * args.seconds} s)`);
    const quiet = await phase({ lab: l, seconds: args.seconds, fresh: freshQuiet, publicKey });
    const floodArgs = [
      FLOOD_MAIN, '--to', `${l.plan.lan.b}:${l.plan.ports.b}`, '--public-key', publicKey, '--rate', String(args.rate),
      '--seconds', '0', '--source', first, '--sources', String(sources),
    ];
    const startFlooder = async () => {
      const proc = l.procs.spawn(l.plan.lanHost.ns, process.execPath, floodArgs);
      await proc.waitFor(/^flooding /m, FLOODER_START_TIMEOUT_MS);
      return proc;
    };
    say(`flood phase (${2 * args.seconds} s, ${args.rate}/s from ${modeLabel(mode, sources)})`);
    const flood = await phase({ lab: l, seconds: args.seconds, fresh: freshFlood, publicKey, startFlooder });
    return { quiet, flood };
  });
  return { ...base, ...r };
}

export async function runFlood(args: FloodArgs): Promise<number> {
  const problem = checkLabTools();
  if (problem) {
    process.stderr.write(`bench flood: ${problem}\n`);
    return 1;
  }
  const version = wireguardGoVersion(args.wireguardGo);
  // The fresh peer is a wireguard-go in every run, so the flood needs it even for the tunvpn path.
  if (version === undefined) {
    process.stderr.write(`bench flood: cannot run ${args.wireguardGo} (give --wireguard-go PATH)\n`);
    return 1;
  }
  const log = createLogger(process.env.TUNVPN_LOG_LEVEL ?? 'warn', 'bench');
  const progress = new Progress(process.stderr);
  const date = new Date().toISOString();
  const runs: FloodRun[] = [];
  const total = args.modes.length * args.paths.length;
  for (const mode of args.modes) {
    for (const path of args.paths) {
      const step = `[${runs.length + 1}/${total}] ${path}, ${modeLabel(mode, mode === 'single' ? 1 : args.sources)}`;
      runs.push(await floodRun(path, mode, args, log, (s) => progress.update(`${step}: ${s}`)));
    }
  }
  progress.done();
  const report: FloodBenchReport = {
    date,
    host: hostInfo(),
    seconds: args.seconds,
    rate: args.rate,
    wireguardGo: { binary: args.wireguardGo, version },
    runs,
  };
  const json = `${JSON.stringify({ ...report, verdicts: runs.map((r) => (r.status === 'ok' ? floodVerdict(r) : null)) }, null, 2)}\n`;
  const path = writeResult(`${resultStem(date)}-flood.json`, json);
  process.stdout.write(args.json ? json : `${formatFloodTable(report)}\nwrote ${path}\n`);
  return runs.some((r) => r.status === 'failed') ? 1 : 0;
}
