/**
 * `bench compare`: raw veth (first round only), then wireguard-go ⇄ wireguard-go and tunvpn ⇄ tunvpn alternating,
 * round after round, in the namespace lab (src/lab). Prints the medians and per-round ratio medians, writes
 * bench/results/<date>.json (every round's raw numbers) and .svg (medians with min–max whiskers).
 */
import { createLogger } from '../../src/log.js';
import { checkLabTools, runnable, wireguardGoVersion } from '../common/binaries.js';
import { resultStem } from '../common/format.js';
import { hostInfo } from '../common/host.js';
import { Progress } from '../common/progress.js';
import { writeResult } from '../common/results.js';
import type { CompareArgs } from '../options.js';
import { measurePath } from './measure.js';
import { computeRatios, formatTable, summarize, type BenchReport, type PathRun } from './report.js';
import { roundSchedule } from './schedule.js';
import { renderSvg } from './svg.js';

/** Runs the comparison of `args`; resolves with the exit status (1 when a tool is missing or a run failed). */
export async function runCompare(args: CompareArgs): Promise<number> {
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
    host: hostInfo(),
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
