/** The bench's command line: defaults, each command's options, and errors (text to the writers, an exit code). */
import test from 'ava';
import { DEFAULT_FLOOD_RATE, DEFAULT_ROUNDS, DEFAULT_SECONDS, parseBenchArgs, UsageExit, type BenchArgs } from '../../bench/options.js';
import { firstLine } from '../../bench/common/binaries.js';
import { DEFAULT_PATHS, TEST_IDS } from '../../bench/compare/report.js';

function parse(argv: string[]): { args?: BenchArgs; exit?: UsageExit; out: string; err: string } {
  let out = '';
  let err = '';
  const writers = { writeOut: (s: string) => (out += s), writeErr: (s: string) => (err += s) };
  try {
    return { args: parseBenchArgs(argv, writers), out, err };
  } catch (e) {
    if (e instanceof UsageExit) return { exit: e, out, err };
    throw e;
  }
}

test('no arguments: compare with the defaults (2 rounds, 10 s, every test, the wireguard-go on PATH)', (t) => {
  t.deepEqual(parse([]).args, {
    command: 'compare', seconds: DEFAULT_SECONDS, rounds: DEFAULT_ROUNDS, paths: [...DEFAULT_PATHS], tests: [...TEST_IDS], wireguardGo: 'wireguard-go', json: false,
  });
});

test('compare options, with or without the command name; --duration is the older --seconds', (t) => {
  const argv = ['--seconds', '3', '--rounds', '4', '--paths', 'wireguard-go,tunvpn', '--only', 'udp64,tcp1', '--wireguard-go', '/opt/wg/wireguard-go', '--json'];
  const expected = { command: 'compare', seconds: 3, rounds: 4, paths: ['wireguard-go', 'tunvpn'], tests: ['tcp1', 'udp64'], wireguardGo: '/opt/wg/wireguard-go', json: true };
  t.deepEqual(parse(argv).args, expected);
  t.deepEqual(parse(['compare', ...argv]).args, expected);
  t.is((parse(['--duration', '7']).args as { seconds: number }).seconds, 7);
});

test('flood options and defaults', (t) => {
  t.deepEqual(parse(['flood']).args, {
    command: 'flood', seconds: DEFAULT_SECONDS, rate: DEFAULT_FLOOD_RATE, sources: 200, modes: ['single', 'spread'], paths: ['wireguard-go', 'tunvpn'], wireguardGo: 'wireguard-go', json: false,
  });
  const a = parse(['flood', '--rate', '50000', '--sources', '16', '--modes', 'spread', '--paths', 'tunvpn', '--seconds', '5']).args;
  t.like(a, { command: 'flood', rate: 50000, sources: 16, modes: ['spread'], paths: ['tunvpn'], seconds: 5 });
});

test('inprocess options and defaults', (t) => {
  t.deepEqual(parse(['inprocess']).args, { command: 'inprocess', packets: 200_000, size: 1420, threads: [1], directions: ['a-b', 'b-a'], bind: 'pipe', json: false });
  t.like(parse(['inprocess', '--threads', '1,2,4,2', '--packets', '1000', '--size', '64', '--directions', 'b-a', '--bind', 'memory']).args, {
    threads: [1, 2, 4], packets: 1000, size: 64, directions: ['b-a'], bind: 'memory',
  });
});

test('bad values: exit code 1 and a message naming the option; nothing parsed', (t) => {
  for (const [argv, re] of [
    [['--rounds', '0'], /--rounds.*whole number 1\.\.50/],
    [['--seconds', '1.5'], /--seconds.*whole number/],
    [['--only', 'tcp9'], /unknown name "tcp9"/],
    [['--paths', 'veth,veth'], /given twice/],
    [['flood', '--modes', 'many'], /unknown name "many"/],
    [['flood', '--paths', 'veth'], /unknown name "veth"/],
    [['inprocess', '--threads', '0'], /--threads.*whole number 1\.\.64/],
    [['inprocess', '--bind', 'udp'], /unknown name "udp"/],
    [['--bogus'], /unknown option '--bogus'/],
  ] as Array<[string[], RegExp]>) {
    const r = parse(argv);
    t.is(r.args, undefined, argv.join(' '));
    t.is(r.exit?.exitCode, 1, argv.join(' '));
    t.regex(r.err, re, argv.join(' '));
  }
});

test('--help prints the commands and exits 0', (t) => {
  const r = parse(['--help']);
  t.is(r.exit?.exitCode, 0);
  for (const c of ['compare', 'flood', 'inprocess']) t.true(r.out.includes(c), c);
  const f = parse(['flood', '--help']);
  t.is(f.exit?.exitCode, 0);
  t.true(f.out.includes('--rate'));
});

test('firstLine: the version line of `wireguard-go --version`', (t) => {
  t.is(firstLine('\nwireguard-go v0.0.20250522\n\nUserspace WireGuard daemon for linux-amd64.\n'), 'wireguard-go v0.0.20250522');
  t.is(firstLine(''), '');
});
