/**
 * `tunvpn demo` run in-process through its commander registration (root): with wireguard-go at both ends it
 * prints the diagram, the state of both ends, three successful pings across the tunnel and two between the sites'
 * containers, and leaves no namespace behind.
 */
import test from 'ava';
import { Command } from 'commander';
import { registerDemo } from '../../src/cli/commands/demo.js';
import type { CliContext } from '../../src/cli/context.js';
import { onPath } from '../../src/lab/index.js';
import { silentLogger } from '../../src/log.js';
import { listNetns } from '../../src/netlink/index.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const why = skipReason({ root: true, commands: ['ping', 'wireguard-go', 'wg'] });

class Failed extends Error {}

async function runDemo(args: string[]): Promise<{ out: string; err: string; failure?: string }> {
  let out = '';
  let err = '';
  const ctx: CliContext = {
    io: { out: (s) => void (out += s), err: (s) => void (err += s), readStdin: async () => '' },
    logger: () => silentLogger,
    fail: (m) => {
      throw new Failed(m);
    },
  };
  const program = new Command('tunvpn').exitOverride().configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (err += s) });
  registerDemo(program, ctx);
  try {
    await program.parseAsync(['demo', ...args], { from: 'user' });
    return { out, err };
  } catch (e) {
    return { out, err, failure: (e as Error).message };
  }
}

testWhen(why)('demo with wireguard-go at both ends pings across and cleans up', async (t) => {
  const r = await runDemo(['--peer-a', 'wireguard-go', '--peer-b', 'wireguard-go']);
  t.is(r.failure, undefined, r.out);
  t.regex(r.out, /\(wireguard-go\)/);
  t.regex(r.out, /\[a: wireguard-go in tvlab-[0-9a-f]{6}-a\]\ninterface: /);
  // Three pings across the tunnel, then two between the sites' containers (step 2).
  t.is((r.out.match(/^ping .* [1-9]\d*\/5 replies/gm) ?? []).length, 5, r.out);
  t.regex(r.out, /step 2: two sites/);
  t.regex(r.out, /ping c1 \(site a\) -> c3 \(site b\)/);
  t.regex(r.out, onPath('iperf3') ? /iperf3 a -> c/ : /iperf3 is not installed/);
  t.regex(r.out, /done: namespaces, processes and files removed/);
  // Other test files may run labs at the same time: look only for this run's tag.
  const tag = /tvlab-([0-9a-f]{6})-a/.exec(r.out)?.[1];
  t.truthy(tag);
  t.deepEqual(listNetns().filter((n) => n.startsWith(`tvlab-${tag}-`)), []);
});

test('demo refuses an unknown implementation before building anything', async (t) => {
  const r = await runDemo(['--peer-a', 'openvpn']);
  t.regex(r.err, /argument 'openvpn' is invalid/);
  t.regex(r.err, /tunvpn, wireguard-go/);
});
