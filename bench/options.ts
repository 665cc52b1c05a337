/**
 * The bench's command line, parsed into one plain object per command (no I/O but commander's help/error text,
 * which goes to the writers given). Three commands:
 *
 *   compare (default)  veth, wireguard-go and tunvpn side by side, in rounds
 *   flood              tunvpn and wireguard-go at b under a handshake-initiation flood
 *   inprocess          two tunvpn devices in one process over in-memory TUN and UDP (no root, no kernel)
 *   peers              many peers in one daemon: UAPI set time, memory, throughput beside idle peers, and
 *                      simulated peers handshaking at once
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_PATHS, KNOWN_PATHS, TEST_IDS, type PathName, type TestId } from './compare/report.js';

export const DEFAULT_SECONDS = 10;
export const MAX_SECONDS = 3600;
export const DEFAULT_ROUNDS = 2;
export const MAX_ROUNDS = 50;
/** The flood: the rate, and how many addresses of the LAN's /24 the spread run uses. */
export const DEFAULT_FLOOD_RATE = 100_000;
export const DEFAULT_FLOOD_SOURCES = 200;
export const FLOOD_MODES = ['single', 'spread'] as const;
export type FloodMode = (typeof FLOOD_MODES)[number];
export const FLOOD_PATHS = ['wireguard-go', 'tunvpn'] as const;
export type FloodPath = (typeof FLOOD_PATHS)[number];
export const DEFAULT_INPROCESS_PACKETS = 200_000;
/** An IP packet as large as the lab's tunnel MTU (1420). */
export const DEFAULT_INPROCESS_SIZE = 1420;
export const INPROCESS_DIRECTIONS = ['a-b', 'b-a'] as const;
export type Direction = (typeof INPROCESS_DIRECTIONS)[number];
export const INPROCESS_BINDS = ['pipe', 'memory'] as const;
export type InprocessBind = (typeof INPROCESS_BINDS)[number];
/** The peers scenario: issue 12's ten thousand idle peers and thousand simulated ones. */
export const DEFAULT_IDLE_PEERS = 10_000;
export const MAX_IDLE_PEERS = 100_000;
export const DEFAULT_SIMULATED_PEERS = 1_000;
export const MAX_SIMULATED_PEERS = 20_000;
export const PEERS_RUNS = ['scale', 'simulate'] as const;
export type PeersRun = (typeof PEERS_RUNS)[number];
/** The wireguard-go the bench runs when --wireguard-go is not given: the one on $PATH. */
export const DEFAULT_WIREGUARD_GO = 'wireguard-go';

export interface CompareArgs {
  command: 'compare';
  /** Seconds per iperf3 test. */
  seconds: number;
  rounds: number;
  paths: PathName[];
  tests: TestId[];
  wireguardGo: string;
  json: boolean;
}

export interface FloodArgs {
  command: 'flood';
  /** Seconds per measurement (ping, then iperf3) in each phase. */
  seconds: number;
  /** Flood datagrams per second. */
  rate: number;
  /** Source addresses in the spread mode. */
  sources: number;
  modes: FloodMode[];
  paths: FloodPath[];
  wireguardGo: string;
  json: boolean;
}

export interface InprocessArgs {
  command: 'inprocess';
  packets: number;
  /** IP packet bytes. */
  size: number;
  /** Thread counts to run (passed to the device as `threads`). */
  threads: number[];
  directions: Direction[];
  /** The UDP fake: a lean pipe, or the tests' MemoryNetwork. */
  bind: InprocessBind;
  json: boolean;
}

export interface PeersArgs {
  command: 'peers';
  /** Idle peers added in the scale runs. */
  peers: number;
  /** Peers the simulator plays in the simulate runs. */
  simulate: number;
  /** Seconds per iperf3 test. */
  seconds: number;
  rounds: number;
  runs: PeersRun[];
  paths: FloodPath[];
  wireguardGo: string;
  json: boolean;
}

export type BenchArgs = CompareArgs | FloodArgs | InprocessArgs | PeersArgs;

/** The command line was wrong, or help was asked for: print nothing more, exit with `exitCode`. */
export class UsageExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'UsageExit';
  }
}

export interface Writers {
  writeOut(s: string): void;
  writeErr(s: string): void;
}

function integer(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`a whole number ${min}..${max}`);
    return n;
  };
}

/** A comma-separated list option whose help shows its default as typed ("a, b"), not as JSON. */
function listOption<T>(flags: string, description: string, parse: (text: string) => T[], defaults: readonly T[]): Option {
  return new Option(flags, description).argParser(list(parse)).default([...defaults], defaults.join(','));
}

function list<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

/** Splits and validates a comma-separated list against `known`; throws on an unknown or repeated name. */
export function parseList<T extends string>(option: string, text: string, known: readonly T[]): T[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new Error(`${option}: give at least one of ${known.join(', ')}`);
  const out: T[] = [];
  for (const n of names) {
    if (!(known as readonly string[]).includes(n)) throw new Error(`${option}: unknown name "${n}" (known: ${known.join(', ')})`);
    if (out.includes(n as T)) throw new Error(`${option}: "${n}" given twice`);
    out.push(n as T);
  }
  return out;
}

/** `--paths a,b,c`. */
export function parsePaths(text: string): PathName[] {
  return parseList('--paths', text, KNOWN_PATHS);
}

/** `--only tcp1,udp64,...`: the tests, returned in run order (TESTS), whatever order they were given in. */
export function parseTests(text: string): TestId[] {
  const chosen = parseList('--only', text, TEST_IDS);
  return TEST_IDS.filter((t) => chosen.includes(t));
}

function parseOne<T extends string>(option: string, text: string, known: readonly T[]): T {
  if (!(known as readonly string[]).includes(text.trim())) throw new Error(`${option}: unknown name "${text}" (known: ${known.join(', ')})`);
  return text.trim() as T;
}

function threadList(text: string): number[] {
  const out = text.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => integer(1, 64)(s));
  if (out.length === 0) throw new InvalidArgumentError('give at least one thread count');
  return [...new Set(out)];
}

/** Parses argv (without node and the script). Throws UsageExit on --help or a bad argument (text already written). */
export function parseBenchArgs(argv: readonly string[], writers: Writers): BenchArgs {
  let result: BenchArgs | undefined;
  const program = new Command('bench')
    .description('tunvpn benchmarks (compare, flood and peers need root: they build network namespaces)')
    .configureOutput(writers)
    .exitOverride();
  program
    .command('compare', { isDefault: true })
    .description('veth, wireguard-go and tunvpn side by side in the namespace lab, in alternating rounds')
    .option('--seconds <s>', 'seconds per iperf3 test', integer(1, MAX_SECONDS), DEFAULT_SECONDS)
    .option('--duration <s>', 'same as --seconds (older name)', integer(1, MAX_SECONDS))
    .option('--rounds <n>', 'rounds; wireguard-go and tunvpn alternate in each', integer(1, MAX_ROUNDS), DEFAULT_ROUNDS)
    .addOption(listOption('--paths <list>', `comma-separated paths (${KNOWN_PATHS.join(', ')})`, parsePaths, DEFAULT_PATHS))
    .addOption(listOption('--only <tests>', `comma-separated tests (${TEST_IDS.join(', ')})`, parseTests, TEST_IDS))
    .option('--wireguard-go <path>', 'the wireguard-go binary', DEFAULT_WIREGUARD_GO)
    .option('--json', 'print only the JSON report on stdout', false)
    .action((o: { seconds: number; duration?: number; rounds: number; paths: PathName[]; only: TestId[]; wireguardGo: string; json: boolean }) => {
      result = { command: 'compare', seconds: o.duration ?? o.seconds, rounds: o.rounds, paths: o.paths, tests: o.only, wireguardGo: o.wireguardGo, json: o.json };
    });
  program
    .command('flood')
    .description('wireguard-go and tunvpn at b under a handshake-initiation flood from a host on b\'s LAN')
    .option('--seconds <s>', 'seconds per measurement (ping, then iperf3) in each phase', integer(1, MAX_SECONDS), DEFAULT_SECONDS)
    .option('--rate <n>', 'flood datagrams per second (0 = as fast as possible)', integer(0, 10_000_000), DEFAULT_FLOOD_RATE)
    .option('--sources <n>', 'source addresses of the /24 in the spread mode', integer(2, 245), DEFAULT_FLOOD_SOURCES)
    .addOption(listOption('--modes <list>', `comma-separated (${FLOOD_MODES.join(', ')})`, (t) => parseList('--modes', t, FLOOD_MODES), FLOOD_MODES))
    .addOption(listOption('--paths <list>', `comma-separated (${FLOOD_PATHS.join(', ')})`, (t) => parseList('--paths', t, FLOOD_PATHS), FLOOD_PATHS))
    .option('--wireguard-go <path>', 'the wireguard-go binary (also the fresh peer\'s)', DEFAULT_WIREGUARD_GO)
    .option('--json', 'print only the JSON report on stdout', false)
    .action((o: { seconds: number; rate: number; sources: number; modes: FloodMode[]; paths: FloodPath[]; wireguardGo: string; json: boolean }) => {
      result = { command: 'flood', seconds: o.seconds, rate: o.rate, sources: o.sources, modes: o.modes, paths: o.paths, wireguardGo: o.wireguardGo, json: o.json };
    });
  program
    .command('inprocess')
    .description('two tunvpn devices in one process over in-memory TUN and UDP: the crypto and protocol path alone')
    .option('--packets <n>', 'packets per direction and thread count', integer(1, 100_000_000), DEFAULT_INPROCESS_PACKETS)
    .option('--size <bytes>', 'IP packet size', integer(28, 9000), DEFAULT_INPROCESS_SIZE)
    .addOption(new Option('--threads <list>', 'comma-separated thread counts, passed to the device as `threads`').argParser(threadList).default([1], '1'))
    .addOption(listOption('--directions <list>', `comma-separated (${INPROCESS_DIRECTIONS.join(', ')})`, (t) => parseList('--directions', t, INPROCESS_DIRECTIONS), INPROCESS_DIRECTIONS))
    .option('--bind <kind>', `the in-memory UDP (${INPROCESS_BINDS.join(', ')})`, list((t) => parseOne('--bind', t, INPROCESS_BINDS)), 'pipe')
    .option('--json', 'print only the JSON report on stdout', false)
    .action((o: { packets: number; size: number; threads: number[]; directions: Direction[]; bind: InprocessBind; json: boolean }) => {
      result = { command: 'inprocess', packets: o.packets, size: o.size, threads: o.threads, directions: o.directions, bind: o.bind, json: o.json };
    });
  program
    .command('peers')
    .description('many peers in one daemon: wg addconf time and memory, throughput beside idle peers, simulated peers')
    .option('--peers <n>', 'idle peers added in the scale runs', integer(1, MAX_IDLE_PEERS), DEFAULT_IDLE_PEERS)
    .option('--simulate <n>', 'peers simulated in the simulate runs', integer(1, MAX_SIMULATED_PEERS), DEFAULT_SIMULATED_PEERS)
    .option('--seconds <s>', 'seconds per iperf3 test', integer(1, MAX_SECONDS), DEFAULT_SECONDS)
    .option('--rounds <n>', 'rounds; the paths alternate in each', integer(1, MAX_ROUNDS), DEFAULT_ROUNDS)
    .addOption(listOption('--runs <list>', `comma-separated (${PEERS_RUNS.join(', ')})`, (t) => parseList('--runs', t, PEERS_RUNS), PEERS_RUNS))
    .addOption(listOption('--paths <list>', `comma-separated (${FLOOD_PATHS.join(', ')})`, (t) => parseList('--paths', t, FLOOD_PATHS), FLOOD_PATHS))
    .option('--wireguard-go <path>', 'the wireguard-go binary', DEFAULT_WIREGUARD_GO)
    .option('--json', 'print only the JSON report on stdout', false)
    .action((o: { peers: number; simulate: number; seconds: number; rounds: number; runs: PeersRun[]; paths: FloodPath[]; wireguardGo: string; json: boolean }) => {
      result = { command: 'peers', peers: o.peers, simulate: o.simulate, seconds: o.seconds, rounds: o.rounds, runs: o.runs, paths: o.paths, wireguardGo: o.wireguardGo, json: o.json };
    });
  program.addHelpText('after', '\ncompare runs when no command is given; its options (--rounds, --seconds, --wireguard-go, ...):\n  npm run bench -- compare --help\n');
  for (const c of program.commands) c.configureOutput(writers).exitOverride();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw new UsageExit(e.exitCode, e.message);
    throw e;
  }
  if (!result) throw new UsageExit(2, 'bench: no command');
  return result;
}
