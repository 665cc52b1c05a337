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
 * Each benchmark lives in its own folder (compare/, flood/, inprocess/, peers/), with what they share in common/;
 * options.ts parses the command line of all four.
 */
import { isMainModule } from '../src/entry.js';
import { parseBenchArgs, UsageExit, type BenchArgs } from './options.js';

/** Parses `argv` (without node and the script) and runs the benchmark it names; resolves with the exit status. */
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
      return (await import('./compare/compare.js')).runCompare(args);
    case 'flood':
      return (await import('./flood/flood.js')).runFlood(args);
    case 'inprocess':
      return (await import('./inprocess/inprocess.js')).runInprocess(args);
    case 'peers':
      return (await import('./peers/peers.js')).runPeers(args);
  }
}

if (isMainModule(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
