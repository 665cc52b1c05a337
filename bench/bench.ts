#!/usr/bin/env node
/**
 * `npm run bench`: raw veth, wireguard-go ⇄ wireguard-go and tunvpn ⇄ tunvpn, one after the other, in the
 * namespace lab (src/lab). Prints a table, writes bench/results/<date>.json and .svg. See docs/bench.md.
 *
 *   node dist/bench/bench.js [--duration S] [--paths veth,wireguard-go,tunvpn] [--json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { onPath } from '../src/lab/index.js';
import { createLogger } from '../src/log.js';
import { measurePath } from './measure.js';
import { Progress } from './progress.js';
import { computeRatios, DEFAULT_PATHS, formatTable, parsePaths, resultStem, type BenchReport, type PathName, type PathResult } from './report.js';
import { renderSvg } from './svg.js';

const DEFAULT_DURATION_S = 10;
const MAX_DURATION_S = 3600;
/** bench/results/ in the source tree (this file runs from dist/bench/). */
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

interface BenchArgs {
  duration: number;
  paths: PathName[];
  json: boolean;
}

function parseDuration(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_DURATION_S) throw new InvalidArgumentError(`a whole number of seconds, 1..${MAX_DURATION_S}`);
  return n;
}

function parsePathsOption(text: string): PathName[] {
  try {
    return parsePaths(text);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('bench')
    .description('tunvpn side-by-side benchmark in network namespaces (root)')
    .option('--duration <seconds>', 'seconds per iperf3 test', parseDuration, DEFAULT_DURATION_S)
    .option('--paths <list>', `comma-separated paths (${['veth', 'wireguard-go', 'tunvpn', 'openvpn', 'tinc'].join(', ')})`, parsePathsOption, [...DEFAULT_PATHS])
    .option('--json', 'print only the JSON report on stdout', false)
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode ?? 2;
  }
  const args = program.opts<BenchArgs>();
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (it creates network namespaces)\n');
    return 1;
  }
  for (const tool of ['iperf3', 'ping']) {
    if (!onPath(tool)) {
      process.stderr.write(`bench: ${tool} is not installed (Debian/Ubuntu: apt-get install ${tool === 'ping' ? 'iputils-ping' : tool})\n`);
      return 1;
    }
  }
  const log = createLogger(process.env.TUNVPN_LOG_LEVEL ?? 'warn', 'bench');
  const progress = new Progress(process.stderr);
  const date = new Date().toISOString();
  const results: PathResult[] = [];
  for (const [i, path] of args.paths.entries()) {
    results.push(await measurePath(path, { durationSeconds: args.duration, log, progress, step: `[${i + 1}/${args.paths.length}]` }));
  }
  progress.done();
  const report: BenchReport = {
    date,
    host: { cpus: cpus().length, kernel: release(), node: process.version },
    durationSeconds: args.duration,
    paths: results,
    ratios: computeRatios(results),
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stem = join(RESULTS_DIR, resultStem(date));
  writeFileSync(`${stem}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${stem}.svg`, renderSvg(report));
  if (args.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(formatTable(report));
    process.stdout.write(`\nwrote ${stem}.json and ${stem}.svg\n`);
  }
  return results.some((r) => r.status === 'failed') ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
