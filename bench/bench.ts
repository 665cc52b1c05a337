#!/usr/bin/env node
/**
 * `npm run bench`: the benchmarks of docs/bench.md.
 *
 *   node dist/bench/bench.js [compare] [--seconds S] [--rounds N] [--paths veth,wireguard-go,tunvpn]
 *                                      [--only rtt,tcp1,tcp4,reverse,udp64,udp512] [--wireguard-go PATH] [--json]
 *   node dist/bench/bench.js flood [--seconds S] [--rate N] [--sources N] [--modes single,spread] [--wireguard-go PATH]
 *   node dist/bench/bench.js inprocess [--packets N] [--size BYTES] [--threads 1,2,4] [--directions a-b,b-a]
 *   node dist/bench/bench.js peers [--peers N] [--simulate N] [--seconds S] [--rounds N] [--runs scale,simulate]
 *                                  [--paths wireguard-go,tunvpn] [--wireguard-go PATH]
 *
 * compare: raw veth (first round only), then wireguard-go ⇄ wireguard-go and tunvpn ⇄ tunvpn alternating, round
 * after round, in the namespace lab (src/lab). Prints the medians and per-round ratio medians, writes
 * bench/results/<date>.json (every round's raw numbers) and .svg (medians with min–max whiskers).
 */
import { cpus, release } from 'node:os';
import { isMainModule } from '../src/entry.js';
import { createLogger } from '../src/log.js';
import { checkLabTools, runnable, wireguardGoVersion } from './binaries.js';
import { measurePath } from './measure.js';
import { parseBenchArgs, UsageExit, type BenchArgs, type CompareArgs } from './options.js';
import { Progress } from './progress.js';
import { writeResult } from './results.js';
import { computeRatios, formatTable, resultStem, summarize, type BenchReport, type PathRun } from './report.js';
import { roundSchedule } from './schedule.js';
import { renderSvg } from './svg.js';

async function compare(args: CompareArgs): Promise<number> {
  const problem = checkLabTools();
  if (problem) {
    process.stderr.write(`bench: ${problem}\n`);
    return 1;
  }
  const version = args.paths.includes('wireguard-go') ? wireguardGoVersion(args.wireguardGo) : undefined;
  if (args.paths.includes('wireguard-go') && version === undefined) {
    process.stderr.write(`bench: cannot run wireguard-go "${args.wireguardGo}" (give --wireguard-go PATH, or leave it out with --paths)\n`);
    return 1;
  }
  const log = createLogger(process.env.TUNVPN_LOG_LEVEL ?? 'warn', 'bench');
  const progress = new Progress(process.stderr);
  const date = new Date().toISOString();
  const schedule = roundSchedule(args.paths, args.rounds);
  const runs: PathRun[] = [];
  for (const [i, s] of schedule.entries()) {
    const opts = { round: s.round, seconds: args.seconds, tests: args.tests, wireguardGo: args.wireguardGo, log, progress, step: `[${i + 1}/${schedule.length}]` };
    runs.push(await measurePath(s.path, opts, runnable));
  }
  progress.done();
  const report: BenchReport = {
    date,
    host: { cpus: cpus().length, kernel: release(), node: process.version },
    seconds: args.seconds,
    rounds: args.rounds,
    tests: args.tests,
    wireguardGo: version === undefined ? null : { binary: args.wireguardGo, version },
    runs,
    summary: summarize(runs),
    ratios: computeRatios(runs),
  };
  const stem = resultStem(date);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const jsonPath = writeResult(`${stem}.json`, json);
  const svgPath = writeResult(`${stem}.svg`, renderSvg(report));
  if (args.json) {
    process.stdout.write(json);
  } else {
    process.stdout.write(formatTable(report));
    process.stdout.write(`\nwrote ${jsonPath} and ${svgPath}\n`);
  }
  return runs.some((r) => r.status === 'failed') ? 1 : 0;
}

export async function main(argv: readonly string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv, { writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  } catch (e) {
    if (e instanceof UsageExit) return e.exitCode;
    throw e;
  }
  switch (args.command) {
    case 'compare':
      return compare(args);
    case 'flood':
      return (await import('./flood.js')).runFlood(args);
    case 'inprocess':
      return (await import('./inprocess.js')).runInprocess(args);
    case 'peers':
      return (await import('./peers.js')).runPeers(args);
  }
}

if (isMainModule(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
