/**
 * tunvpnd, the wireguard-go-compatible executable, driven by stock wg-quick (WG_QUICK_USERSPACE_IMPLEMENTATION)
 * and by `wg`; and the daemon's exits when its TUN device or its configuration socket disappears.
 */
import type { ExecutionContext } from 'ava';
import { chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { collect, ipJson, makeNs, sh, shAsync, spawnInNs, waitExit } from './harness.js';
import { systemRng } from '../../src/crypto/random.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const DAEMON = join(process.cwd(), 'dist/src/cli/userspace.js');

const rootTest = testWhen(skipReason({ root: true, commands: ['wg-quick', 'wg'] }), { concurrent: true });

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'tunvpnd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

rootTest('stock wg-quick brings tunvpnd up with its config and takes it down', async (t) => {
  const ns = makeNs(t, 'wgq');
  const dir = tempDir(t);
  const bin = join(dir, 'bin');
  sh('mkdir', ['-p', bin]);
  chmodSync(DAEMON, 0o755);
  symlinkSync(DAEMON, join(bin, 'tunvpnd'));
  const name = `tvq${randomBytes(3).toString('hex')}`;
  const peer = encodeKey(publicKeyOf(generatePrivateKey(systemRng)));
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    `[Interface]\nPrivateKey = ${encodeKey(generatePrivateKey(systemRng))}\nAddress = 10.66.0.1/24\nListenPort = 41414\n\n` +
      `[Peer]\nPublicKey = ${peer}\nAllowedIPs = 10.67.0.0/16\nPersistentKeepalive = 25\n`,
    { mode: 0o600 },
  );
  const env = ['env', `PATH=${bin}:${process.env.PATH}`, 'WG_QUICK_USERSPACE_IMPLEMENTATION=tunvpnd'];
  t.teardown(() => {
    sh('ip', ['netns', 'exec', ns, 'wg-quick', 'down', conf], { allowFail: true });
  });
  await shAsync('ip', ['netns', 'exec', ns, ...env, 'wg-quick', 'up', conf]);
  const dump = sh('ip', ['netns', 'exec', ns, 'wg', 'show', name, 'dump']).trim().split('\n');
  t.is(dump[0]!.split('\t')[2], '41414'); // listen port, set by `wg setconf` through our UAPI
  const peerLine = dump[1]!.split('\t');
  t.is(peerLine[0], peer);
  t.is(peerLine[3], '10.67.0.0/16');
  t.is(peerLine[7], '25');
  t.true(ipJson<Array<{ dst: string }>>(ns, 'route', 'show', 'dev', name).some((r) => r.dst === '10.67.0.0/16'));
  await shAsync('ip', ['netns', 'exec', ns, 'wg-quick', 'down', conf]);
  // wg-quick deletes the link; the daemon notices, removes its socket and exits.
  const gone = await eventually(() => !existsSync(`/var/run/wireguard/${name}.sock`));
  t.true(gone);
  t.deepEqual(ipJson<Array<{ ifname: string }>>(ns, 'link').map((l) => l.ifname), ['lo']);
});

rootTest('tunvpnd -f exits cleanly when its configuration socket is removed', async (t) => {
  const ns = makeNs(t, 'sock');
  const name = `tvs${randomBytes(3).toString('hex')}`;
  const child = spawnInNs(t, ns, process.execPath, [DAEMON, '-f', name]);
  const out = collect(child);
  const up = await eventually(() => existsSync(`/var/run/wireguard/${name}.sock`));
  t.true(up, out.text());
  unlinkSync(`/var/run/wireguard/${name}.sock`);
  t.is(await waitExit(child), 0);
  t.regex(out.text(), /configuration socket removed/);
  t.deepEqual(ipJson<Array<{ ifname: string }>>(ns, 'link').map((l) => l.ifname), ['lo']);
});

rootTest('tunvpnd refuses a bad interface name with usage and status 1', async (t) => {
  const ns = makeNs(t, 'usage');
  const child = spawnInNs(t, ns, process.execPath, [DAEMON, 'a-name-much-too-long']);
  const out = collect(child);
  t.is(await waitExit(child), 1);
  t.regex(out.text(), /Usage: tunvpnd/);
});

rootTest('tunvpnd --help, --version and unknown flags print, exit, and never make an interface or socket', async (t) => {
  const ns = makeNs(t, 'flags');
  const cases: Array<[string[], number, RegExp]> = [
    [['--help'], 0, /Usage: tunvpnd/],
    [['-f', '--help'], 0, /Usage: tunvpnd/],
    [['--version'], 0, /^tunvpnd \d+\.\d+\.\d+\n$/],
    [['--bogus'], 1, /unknown option "--bogus"[\s\S]*Usage: tunvpnd/],
    [['-f', '--no-such-flag', 'wg9'], 1, /unknown option "--no-such-flag"/],
  ];
  for (const [args, status, text] of cases) {
    const child = spawnInNs(t, ns, process.execPath, [DAEMON, ...args]);
    const out = collect(child);
    t.is(await waitExit(child), status, args.join(' '));
    t.regex(out.text(), text, args.join(' '));
  }
  t.deepEqual(ipJson<Array<{ ifname: string }>>(ns, 'link').map((l) => l.ifname), ['lo']);
  for (const name of ['--help', '--version', '--bogus', '--no-such-flag', 'wg9']) {
    t.false(existsSync(`/var/run/wireguard/${name}.sock`), name);
  }
});

async function eventually(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}
