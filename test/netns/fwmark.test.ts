/**
 * FwMark is a 32-bit unsigned value, everywhere it can be set: the FwMark key of `tunvpn up`, `wg set fwmark` over
 * the UAPI, and `wg set` on tunvpnd. Marks with the top bit set (0x80000000, 2147483648, 0xffffffff) must mark both
 * UDP sockets (as `ss -e` shows them) and read back in `wg show IFACE fwmark` as wg prints them, in hex: what
 * wireguard-go + wg show for the same input.
 */
import type { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';
import { collect, makeNs, spawnInNs, waitExit } from './harness.js';
import { run, socketPath, waitFor } from './topology.js';
import { existsSync } from 'node:fs';
import { skipReason, testWhen } from '../helpers/skip.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const DAEMON = join(process.cwd(), 'dist/src/cli/userspace.js');
const rootTest = testWhen(skipReason({ root: true, commands: ['wg', 'ss'], files: ['/dev/net/tun', CLI, DAEMON] }), { concurrent: true });

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'tunvpn-fwmark-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const uniqueIf = () => `tvm${randomBytes(3).toString('hex')}`;
const newKey = () => encodeKey(generatePrivateKey(systemRng));
const port = () => randomInt(20_000, 60_000);

/** `wg ARGS` inside `ns`; fails the test with wg's error when it exits non-zero. */
async function wg(t: ExecutionContext, ns: string, ...args: string[]): Promise<string> {
  const r = await run(ns, 'wg', args);
  t.is(r.code, 0, `wg ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The fwmark of every UDP socket bound to `udpPort` in `ns`, as `ss -uane` prints it ("none" when unmarked). */
async function socketMarks(ns: string, udpPort: number): Promise<string[]> {
  const r = await run(ns, 'ss', ['-uane']);
  return r.stdout
    .split('\n')
    .filter((l) => new RegExp(`:${udpPort}\\s`).test(l))
    .map((l) => /fwmark:(0x[0-9a-f]+)/.exec(l)?.[1] ?? 'none');
}

async function upWith(t: ExecutionContext, ns: string, dir: string, fwMark: string, listenPort: number) {
  const name = uniqueIf();
  const peer = encodeKey(publicKeyOf(generatePrivateKey(systemRng)));
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    `[Interface]\nPrivateKey = ${newKey()}\nAddress = 10.79.0.1/24\nListenPort = ${listenPort}\nFwMark = ${fwMark}\n\n` +
      `[Peer]\nPublicKey = ${peer}\nAllowedIPs = 10.80.0.0/16\n`,
    { mode: 0o600 },
  );
  const child = spawnInNs(t, ns, process.execPath, [CLI, 'up', conf]);
  const out = collect(child);
  await out.wait(/is up \(UDP port/);
  return { name, child, out };
}

for (const [written, shown] of [
  ['0x80000000', '0x80000000'],
  ['2147483648', '0x80000000'],
  ['0xffffffff', '0xffffffff'],
] as const) {
  rootTest(`up with FwMark = ${written}: both sockets marked ${shown}, wg show fwmark prints ${shown}`, async (t) => {
    const ns = makeNs(t, 'mark');
    const listenPort = port();
    const { name, child, out } = await upWith(t, ns, tempDir(t), written, listenPort);
    t.is((await wg(t, ns, 'show', name, 'fwmark')).trim(), shown);
    t.deepEqual(await socketMarks(ns, listenPort), [shown, shown], out.text());
    child.kill('SIGTERM');
    t.is(await waitExit(child), 0, out.text());
  });
}

rootTest('wg set fwmark over the UAPI takes 32-bit marks on a running `up`, and 0 removes the mark', async (t) => {
  const ns = makeNs(t, 'wgmark');
  const listenPort = port();
  const { name, child, out } = await upWith(t, ns, tempDir(t), '0x1', listenPort);
  await wg(t, ns, 'set', name, 'fwmark', '0x80000001');
  t.is((await wg(t, ns, 'show', name, 'fwmark')).trim(), '0x80000001');
  t.deepEqual(await socketMarks(ns, listenPort), ['0x80000001', '0x80000001']);
  await wg(t, ns, 'set', name, 'fwmark', '4294967295');
  t.is((await wg(t, ns, 'show', name, 'fwmark')).trim(), '0xffffffff');
  await wg(t, ns, 'set', name, 'fwmark', '0');
  t.is((await wg(t, ns, 'show', name, 'fwmark')).trim(), 'off');
  t.deepEqual(await socketMarks(ns, listenPort), ['none', 'none']);
  child.kill('SIGTERM');
  t.is(await waitExit(child), 0, out.text());
});

rootTest('tunvpnd: wg set fwmark 0xffffffff marks the sockets and reads back', async (t) => {
  const ns = makeNs(t, 'dmark');
  const name = uniqueIf();
  const child = spawnInNs(t, ns, process.execPath, [DAEMON, '-f', name]);
  const out = collect(child);
  await waitFor(() => existsSync(socketPath(name)), () => undefined, `${socketPath(name)}`);
  const dir = tempDir(t);
  const keyFile = join(dir, 'key');
  writeFileSync(keyFile, `${newKey()}\n`, { mode: 0o600 });
  const listenPort = port();
  await wg(t, ns, 'set', name, 'private-key', keyFile, 'listen-port', String(listenPort), 'fwmark', '0xffffffff');
  t.is((await wg(t, ns, 'show', name, 'fwmark')).trim(), '0xffffffff');
  t.deepEqual(await socketMarks(ns, listenPort), ['0xffffffff', '0xffffffff'], out.text());
  child.kill('SIGTERM');
  t.is(await waitExit(child), 0, out.text());
});
