/**
 * `tunvpn up` / `tunvpn down` for real, inside namespaces this test makes: the interface, its addresses, MTU and
 * routes appear as `ip` shows them, SIGTERM removes every one of them, and a bad config or a failing step leaves
 * nothing behind.
 */
import type { ExecutionContext } from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { collect, ipJson, makeNs, sh, shAsync, spawnInNs, waitExit } from './harness.js';
import { systemRng } from '../../src/crypto/random.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const rootTest = testWhen(skipReason({ root: true }), { concurrent: true });

interface Link { ifname: string; mtu: number; flags: string[] }
interface Addr { ifname: string; addr_info: Array<{ local: string; prefixlen: number }> }
interface Route { dst: string; dev?: string; table?: string }

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'tunvpn-up-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function uniqueIf(): string {
  return `tvu${randomBytes(3).toString('hex')}`;
}

const peerKey = encodeKey(publicKeyOf(generatePrivateKey(systemRng)));

function writeConf(dir: string, name: string, body: string): string {
  const path = join(dir, `${name}.conf`);
  writeFileSync(path, body, { mode: 0o600 });
  return path;
}

function goodConf(extraInterface = '', extraPeer = ''): string {
  return `[Interface]
PrivateKey = ${encodeKey(generatePrivateKey(systemRng))}
Address = 10.77.0.1/24, fd77::1/64
${extraInterface}

[Peer]
PublicKey = ${peerKey}
AllowedIPs = 10.77.0.2/32, 10.78.0.0/16, fd78::/48
Endpoint = 192.0.2.1:51820
${extraPeer}
`;
}

async function startUp(t: ExecutionContext, ns: string, conf: string) {
  const child = spawnInNs(t, ns, process.execPath, [CLI, 'up', conf]);
  const out = collect(child);
  await out.wait(/is up \(UDP port/);
  return { child, out };
}

rootTest('up creates the interface with its address, MTU 1420 and AllowedIPs routes; SIGTERM removes them', async (t) => {
  const ns = makeNs(t, 'up');
  const dir = tempDir(t);
  const name = uniqueIf();
  const conf = writeConf(dir, name, goodConf());
  const { child, out } = await startUp(t, ns, conf);

  const [link] = ipJson<Link[]>(ns, 'link', 'show', 'dev', name);
  t.is(link!.mtu, 1420);
  t.true(link!.flags.includes('UP'));
  const addrs = ipJson<Addr[]>(ns, 'address', 'show', 'dev', name)[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
  t.true(addrs.includes('10.77.0.1/24'));
  t.true(addrs.includes('fd77::1/64'));
  const v4 = ipJson<Route[]>(ns, '-4', 'route', 'show', 'dev', name).map((r) => r.dst);
  t.true(v4.includes('10.78.0.0/16'), `routes: ${v4.join(', ')}`);
  // 10.77.0.2/32 is inside the interface's own 10.77.0.0/24: the connected route carries it, none is added.
  t.false(v4.includes('10.77.0.2'));
  const v6 = ipJson<Route[]>(ns, '-6', 'route', 'show', 'dev', name).map((r) => r.dst);
  t.true(v6.includes('fd78::/48'));
  t.true(existsSync(`/var/run/wireguard/${name}.sock`));
  t.regex(out.text(), /\[#\] ip -4 address add 10\.77\.0\.1\/24 dev/);

  child.kill('SIGTERM');
  t.is(await waitExit(child), 0);
  t.deepEqual(ipJson<Link[]>(ns, 'link').map((l) => l.ifname), ['lo']);
  t.false(existsSync(`/var/run/wireguard/${name}.sock`));
  t.false(existsSync(`/run/tunvpn/${name}.pid`));
});

rootTest('the issue\'s x.conf: interface x, and `tunvpn down x` takes it down', async (t) => {
  const ns = makeNs(t, 'upx');
  const dir = tempDir(t);
  const conf = writeConf(dir, 'x', goodConf('ListenPort = 51999'));
  const { child } = await startUp(t, ns, conf);
  t.is(ipJson<Link[]>(ns, 'link', 'show', 'dev', 'x')[0]!.mtu, 1420);
  await shAsync('ip', ['netns', 'exec', ns, process.execPath, CLI, 'down', 'x']);
  t.is(await waitExit(child), 0);
  t.deepEqual(ipJson<Link[]>(ns, 'link').map((l) => l.ifname), ['lo']);
});

rootTest('Table = off adds no routes; Table = 1234 puts them in table 1234', async (t) => {
  const ns = makeNs(t, 'tbl');
  const dir = tempDir(t);
  const off = uniqueIf();
  const a = await startUp(t, ns, writeConf(dir, off, goodConf('Table = off')));
  t.deepEqual(ipJson<Route[]>(ns, '-4', 'route', 'show', 'dev', off).map((r) => r.dst), ['10.77.0.0/24']);
  a.child.kill('SIGTERM');
  await waitExit(a.child);

  const numbered = uniqueIf();
  const b = await startUp(t, ns, writeConf(dir, numbered, goodConf('Table = 1234')));
  const inTable = ipJson<Route[]>(ns, '-4', 'route', 'show', 'table', '1234').map((r) => r.dst);
  t.true(inTable.includes('10.78.0.0/16'));
  t.true(inTable.includes('10.77.0.2'));
  b.child.kill('SIGTERM');
  await waitExit(b.child);
  t.deepEqual(ipJson<Route[]>(ns, '-4', 'route', 'show', 'table', '1234'), []);
});

rootTest('hooks run with %i; a failing PostUp undoes everything and exits non-zero', async (t) => {
  const ns = makeNs(t, 'hook');
  const dir = tempDir(t);
  const name = uniqueIf();
  const marker = join(dir, 'hook.log');
  const conf = writeConf(dir, name, goodConf(`PreUp = echo pre %i >> ${marker}\nPostUp = echo post %i >> ${marker}\nPostUp = false`));
  const child = spawnInNs(t, ns, process.execPath, [CLI, 'up', conf]);
  const out = collect(child);
  t.is(await waitExit(child), 1);
  t.regex(out.text(), /PostUp hook failed/);
  t.is(sh('cat', [marker]), `pre ${name}\npost ${name}\n`);
  t.deepEqual(ipJson<Link[]>(ns, 'link').map((l) => l.ifname), ['lo']);
  t.false(existsSync(`/var/run/wireguard/${name}.sock`));
});

rootTest('an interface that already exists is refused and left alone', async (t) => {
  const ns = makeNs(t, 'dup');
  const dir = tempDir(t);
  const name = uniqueIf();
  const conf = writeConf(dir, name, goodConf());
  const first = await startUp(t, ns, conf);
  const second = spawnInNs(t, ns, process.execPath, [CLI, 'up', conf]);
  const out = collect(second);
  t.is(await waitExit(second), 1);
  t.regex(out.text(), new RegExp(`interface ${name} already exists`));
  t.is(ipJson<Link[]>(ns, 'link', 'show', 'dev', name).length, 1);
  first.child.kill('SIGTERM');
  t.is(await waitExit(first.child), 0);
});

const malformed: Array<[string, (s: string) => string, RegExp]> = [
  ['bad base64 key', (s) => s.replace(/PrivateKey = .*/, 'PrivateKey = not-a-key'), /:2: .*PrivateKey/],
  ['ListenPort = 99999', (s) => s.replace('[Interface]\n', '[Interface]\nListenPort = 99999\n'), /:2: .*ListenPort/],
  ['Address = 10.0.0.300/24', (s) => s.replace('Address = 10.77.0.1/24, fd77::1/64', 'Address = 10.0.0.300/24'), /:3: .*10\.0\.0\.300/],
  ['an unknown key', (s) => s.replace('[Interface]\n', '[Interface]\nFrobnicate = yes\n'), /:2: .*Frobnicate/],
];

for (const [what, mangle, expected] of malformed) {
  rootTest(`a config with ${what} fails with FILE:LINE and leaves no link`, async (t) => {
    const ns = makeNs(t, 'bad');
    const dir = tempDir(t);
    const name = uniqueIf();
    const conf = writeConf(dir, name, mangle(goodConf()));
    const child = spawnInNs(t, ns, process.execPath, [CLI, 'up', conf]);
    const out = collect(child);
    t.is(await waitExit(child), 1);
    t.regex(out.text(), new RegExp(`${conf.replaceAll('.', '\\.')}${expected.source}`));
    t.deepEqual(ipJson<Link[]>(ns, 'link').map((l) => l.ifname), ['lo']);
    t.false(existsSync(`/var/run/wireguard/${name}.sock`));
  });
}

rootTest('deleting the TUN device ends the daemon cleanly, as with wireguard-go', async (t) => {
  const ns = makeNs(t, 'del');
  const dir = tempDir(t);
  const name = uniqueIf();
  const { child, out } = await startUp(t, ns, writeConf(dir, name, goodConf()));
  await shAsync('ip', ['-n', ns, 'link', 'del', name]);
  t.is(await waitExit(child), 0);
  t.regex(out.text(), /TUN device closed: the TUN device \S+ was deleted/);
  t.false(existsSync(`/var/run/wireguard/${name}.sock`));
  t.false(existsSync(`/run/tunvpn/${name}.pid`));
});

/** Threads of `pid` named `name` (/proc/PID/task/TID/comm). */
function threadsNamed(pid: number, name: string): number {
  return readdirSync(`/proc/${pid}/task`).filter((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === name;
    } catch {
      return false; // the thread ended meanwhile
    }
  }).length;
}

rootTest('--threads N starts N - 1 helper threads for the packet cipher; a bad count is refused before anything', async (t) => {
  const dir = tempDir(t);
  const one = await startUp(t, makeNs(t, 'thr1'), writeConf(dir, uniqueIf(), goodConf()));
  t.is(threadsNamed(one.child.pid!, 'tunvpn-aead'), 0, 'the default: the event loop alone');
  const ns = makeNs(t, 'thr3');
  const name = uniqueIf();
  const three = spawnInNs(t, ns, process.execPath, [CLI, 'up', '--threads', '3', writeConf(dir, name, goodConf())]);
  await collect(three).wait(/is up \(UDP port/);
  t.is(threadsNamed(three.pid!, 'tunvpn-aead'), 2);
  const bad = spawnInNs(t, ns, process.execPath, [CLI, 'up', '--threads', '0', writeConf(dir, uniqueIf(), goodConf())]);
  const badOut = collect(bad);
  t.is(await waitExit(bad), 1);
  t.regex(badOut.text(), /--threads must be a whole number 1\.\.64, got "0"/);
  t.deepEqual(ipJson<Link[]>(ns, 'link').map((l) => l.ifname).sort(), ['lo', name].sort(), 'the refused one made no link');
});
