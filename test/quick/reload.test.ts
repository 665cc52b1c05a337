/**
 * Reload without root: the plan diff (plan.ts planReload), the wg-syncconf-like peer diff (reload.ts
 * peerChanges), undo groups in the Transaction, `tunvpn strip` against wg-quick's own strip, and the UAPI's
 * reload=1 extension.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseConfig, type QuickConfig, type ResolvedEndpoint } from '../../src/config/index.js';
import { encodeKey, generatePresharedKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { shortKey, silentLogger } from '../../src/log.js';
import { planReload, stepKey } from '../../src/quick/plan.js';
import { latestReload, peerChanges, type LivePeer } from '../../src/quick/reload.js';
import { formatPrefix } from '../../src/net/ip.js';
import { stripConfig } from '../../src/quick/strip.js';
import { Transaction } from '../../src/system/transaction.js';
import { RequestFramer } from '../../src/uapi/framing.js';
import { formatReloadReply, parseReloadReply } from '../../src/uapi/text-format.js';
import { UapiServer, ReloadRefused } from '../../src/uapi/server.js';
import { UapiClient } from '../../src/uapi/client.js';
import { MemoryDeviceControl } from '../../src/uapi/memory-control.js';
import { systemRng } from '../../src/crypto/random.js';
import { skipReason, testWhen } from '../helpers/skip.js';
import { tempDir } from '../uapi/helpers.js';

const privateKey = encodeKey(generatePrivateKey(systemRng));
const keyB = encodeKey(publicKeyOf(generatePrivateKey(systemRng)));
const keyC = encodeKey(publicKeyOf(generatePrivateKey(systemRng)));

function conf(iface: string, peers: string): QuickConfig {
  return parseConfig(`[Interface]\nPrivateKey = ${privateKey}\n${iface}\n${peers}`, 'wg0.conf');
}
const peerB = (extra = '') => `\n[Peer]\nPublicKey = ${keyB}\nAllowedIPs = 10.1.0.0/16\nEndpoint = 192.0.2.2:51820\n${extra}`;
const peerC = `\n[Peer]\nPublicKey = ${keyC}\nAllowedIPs = 10.2.0.0/16\n`;
const keys = (c: ReturnType<typeof planReload>) => ({ remove: c.remove.map(stepKey), add: c.add.map(stepKey) });
/** The running peers as if the device matched `c`, keeping only the keys in `only` (all by default). */
const liveOf = (c: QuickConfig, only?: readonly string[]): Map<string, LivePeer> =>
  new Map(
    c.peers
      .filter((p) => only === undefined || only.includes(encodeKey(p.publicKey)))
      .map((p) => [encodeKey(p.publicKey), { presharedKey: p.presharedKey, persistentKeepalive: p.persistentKeepalive ?? 0, allowedIps: p.allowedIPs.map(formatPrefix) }]),
  );
const resolvedOf = (c: QuickConfig): (ResolvedEndpoint | undefined)[] =>
  c.peers.map((p) => (p.endpoint ? { family: 4, address: p.endpoint.host, port: p.endpoint.port } : undefined));

test('planReload: an unchanged file changes nothing; only what differs is removed or added', (t) => {
  const base = conf('Address = 10.0.0.1/24\nMTU = 1420', peerB());
  t.deepEqual(keys(planReload(base, conf('Address = 10.0.0.1/24\nMTU = 1420', peerB()))), { remove: [], add: [] });
  const more = conf('Address = 10.0.0.1/24, 10.5.0.1/24\nMTU = 1380', peerB() + peerC);
  t.deepEqual(keys(planReload(base, more)), { remove: [], add: ['address 10.5.0.1/24', 'mtu', 'route 10.2.0.0/16 table main'] });
  t.deepEqual(keys(planReload(more, base)), { remove: ['route 10.2.0.0/16 table main', 'address 10.5.0.1/24'], add: ['mtu'] });
});

test('planReload: a Table change moves every route; Table = off removes them; a full tunnel comes and goes whole', (t) => {
  const auto = conf('Address = 10.0.0.1/24', peerB() + peerC);
  const numbered = conf('Address = 10.0.0.1/24\nTable = 1234', peerB() + peerC);
  t.deepEqual(keys(planReload(auto, numbered)), {
    remove: ['route 10.2.0.0/16 table main', 'route 10.1.0.0/16 table main'],
    add: ['route 10.1.0.0/16 table 1234', 'route 10.2.0.0/16 table 1234'],
  });
  t.deepEqual(keys(planReload(auto, conf('Address = 10.0.0.1/24\nTable = off', peerB() + peerC))).add, []);
  const full = conf('Address = 10.0.0.1/24', peerB().replace('10.1.0.0/16', '0.0.0.0/0'));
  t.deepEqual(keys(planReload(conf('Address = 10.0.0.1/24', peerB()), full)), { remove: ['route 10.1.0.0/16 table main'], add: ['default-route 4'] });
});

test('peerChanges: unchanged peers get no operation at all; removed, added and changed peers get what differs', (t) => {
  const old = conf('', peerB('PersistentKeepalive = 25') + peerC);
  const same = peerChanges({ config: old, resolved: resolvedOf(old) }, { config: old, resolved: resolvedOf(old) }, liveOf(old));
  t.deepEqual(same, { ops: [], changes: [] });

  const next = conf('', peerB('PersistentKeepalive = 10').replace('192.0.2.2', '192.0.2.9'));
  const diff = peerChanges({ config: old, resolved: resolvedOf(old) }, { config: next, resolved: resolvedOf(next) }, liveOf(old));
  t.is(diff.ops.length, 2);
  const [removeC, changeB] = diff.ops;
  t.like(removeC, { remove: true });
  t.is(encodeKey(removeC!.publicKey), keyC);
  t.is(changeB!.endpoint?.toString(), '192.0.2.9:51820');
  t.is(changeB!.persistentKeepaliveInterval, 10);
  t.is(changeB!.presharedKey, undefined, 'the PresharedKey did not change: not sent');
  t.false(changeB!.replaceAllowedIps, 'allowed IPs did not change: not sent');
  t.regex(diff.changes.join('\n'), /removed[\s\S]*Endpoint, PersistentKeepalive changed/);

  // A peer of the file that is not live (removed by `wg set`) is added back whole; a new PSK is sent.
  const psk = conf('', peerB(`PresharedKey = ${encodeKey(generatePresharedKey(systemRng))}`));
  const back = peerChanges({ config: old, resolved: resolvedOf(old) }, { config: psk, resolved: resolvedOf(psk) }, liveOf(old, [keyC]));
  const addB = back.ops.find((o) => encodeKey(o.publicKey) === keyB)!;
  t.true(addB.replaceAllowedIps);
  t.is(addB.persistentKeepaliveInterval, 0);
  t.truthy(addB.presharedKey);
});

test('peerChanges: what `wg set` changed since is put back to the file; a roamed endpoint stays', (t) => {
  const file = conf('', peerB('PersistentKeepalive = 25') + peerC);
  const running = liveOf(file);
  // wg set IFACE peer B allowed-ips 10.1.0.0/16,10.7.0.0/24 persistent-keepalive 7 endpoint 10.231.1.9:51820
  running.set(keyB, { ...running.get(keyB)!, persistentKeepalive: 7, allowedIps: ['10.1.0.0/16', '10.7.0.0/24'] });
  const r = peerChanges({ config: file, resolved: resolvedOf(file) }, { config: file, resolved: resolvedOf(file) }, running);
  t.is(r.ops.length, 1, 'only B differs from the file');
  const [b] = r.ops;
  t.is(encodeKey(b!.publicKey), keyB);
  t.is(b!.persistentKeepaliveInterval, 25);
  t.true(b!.replaceAllowedIps);
  t.deepEqual(b!.allowedIps.map((a) => formatPrefix(a.prefix)), ['10.1.0.0/16']);
  t.is(b!.endpoint, undefined, 'the file did not change the endpoint: the running one (maybe roamed) stays');
  t.is(b!.presharedKey, undefined);
  t.deepEqual(r.changes, [`peer ${shortKey(keyB)}: PersistentKeepalive, AllowedIPs changed`]);
});

test('undo groups: a reload takes one step back alone; adopted undos run at the final rollback', async (t) => {
  const done: string[] = [];
  const tx = new Transaction(silentLogger);
  await tx.step('a', () => ({ value: 1, undo: () => void done.push('a') }), 'A');
  await tx.step('b1', () => ({ value: 1, undo: () => void done.push('b1') }), 'B');
  await tx.step('b2', () => ({ value: 1, undo: () => void done.push('b2') }), 'B');
  t.true(tx.has('B'));
  await tx.undoGroup('B');
  t.deepEqual(done, ['b2', 'b1']);
  t.false(tx.has('B'));
  const sub = new Transaction(silentLogger);
  await sub.step('c', () => ({ value: 1, undo: () => void done.push('c') }), 'C');
  tx.adopt(sub);
  t.is(sub.size, 0);
  await tx.rollback();
  t.deepEqual(done, ['b2', 'b1', 'c', 'a']);
});

const SAMPLE = `# a comment line
[Interface]
PrivateKey = ${privateKey}   # trailing comment
Address = 10.0.0.1/24, fd00::1/64
  mtu=1420
ListenPort = 51820
DNS = 10.0.0.53, example.com
Table = off
PreUp = echo pre %i # a hook comment
PostUp = echo up
PreDown = echo down
PostDown = echo gone
SaveConfig = false
FwMark = 0x10

[Peer]
# Address = not stripped here: this is a comment in a peer
PublicKey = ${keyB}
AllowedIPs = 10.1.0.0/16
Endpoint = 192.0.2.2:51820
`;

test('strip drops the [Mesh] section whole, wherever it stands, and keeps the sections after it', (t) => {
  const withMesh = SAMPLE.replace('[Peer]\n', '[ mesh ]\n# the mesh\nEtcd = http://10.40.0.1:2379\nAllowedIPs = 10.1.0.0/16\n\n[Peer]\n');
  t.not(withMesh, SAMPLE);
  t.is(stripConfig(withMesh), stripConfig(SAMPLE));
  t.is(stripConfig(`${SAMPLE}\n[Mesh]\nEtcd = http://10.40.0.1:2379\n`), `${stripConfig(SAMPLE)}\n`);
});

test('strip keeps every wg line as written and drops the wg-quick-only [Interface] keys', (t) => {
  t.is(stripConfig(SAMPLE), `# a comment line
[Interface]
PrivateKey = ${privateKey}   # trailing comment
ListenPort = 51820
FwMark = 0x10

[Peer]
# Address = not stripped here: this is a comment in a peer
PublicKey = ${keyB}
AllowedIPs = 10.1.0.0/16
Endpoint = 192.0.2.2:51820
`);
});

testWhen(skipReason({ root: true, commands: ['wg-quick'] }))('strip prints what wg-quick strip prints', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tv-strip-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'wg0.conf');
  writeFileSync(file, SAMPLE, { mode: 0o600 });
  const theirs = execFileSync('wg-quick', ['strip', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  // wg-quick echoes its buffer, which already ends in a newline: one empty line more at the end.
  t.is(stripConfig(SAMPLE), theirs.replace(/\n\n$/, '\n'));
});

test('reload=1: framed like stats=1; the reply carries messages and errno; a daemon without a file says so', async (t) => {
  const f = new RequestFramer();
  f.push(Buffer.from('reload=1\n\nget=1\n\n'));
  t.deepEqual(f.next(), { kind: 'reload' });
  t.deepEqual(f.next(), { kind: 'get' });
  t.deepEqual(parseReloadReply(formatReloadReply(22, ['wg0.conf:3: bad\nwg0.conf:4: worse'])), {
    errno: 22, messages: ['wg0.conf:3: bad', 'wg0.conf:4: worse'],
  });

  const dir = await tempDir(t);
  const server = new UapiServer({ iface: 'tvrl', control: new MemoryDeviceControl(), dir });
  await server.listen();
  t.teardown(() => server.close());
  const c = await UapiClient.connect('tvrl', { dir });
  t.teardown(() => c.close());
  t.is((await c.reload()).errno, 95);
  server.setReloadHandler(() => Promise.reject(new ReloadRefused(['wg0.conf:7: ListenPort must be 1..65535'])));
  t.deepEqual(await c.reload(), { errno: 22, messages: ['wg0.conf:7: ListenPort must be 1..65535'] });
  server.setReloadHandler(() => Promise.resolve(['peer Ax6m…TeF8 added', 'mtu (1500 − 80)\u0007']));
  t.deepEqual(await c.reload(), { errno: 0, messages: ['peer Ax6m…TeF8 added', 'mtu (1500 − 80)?'] }, 'UTF-8 arrives whole; control characters do not');
});

test('a reload still reading its file (resolver retries) holds up neither wg nor its own connection: get is answered meanwhile, and the idle timeout waits for the reply', async (t) => {
  const dir = await tempDir(t);
  const server = new UapiServer({ iface: 'tvrs', control: new MemoryDeviceControl(), dir, idleTimeoutMs: 100 });
  await server.listen();
  t.teardown(() => server.close());
  let finish: (lines: string[]) => void = () => undefined;
  let applied = false;
  // As up's handler: a slow preparation outside the queue, then the change inside it.
  server.setReloadHandler(async () => {
    const lines = await new Promise<string[]>((resolve) => (finish = resolve));
    return server.exclusive(() => {
      applied = true;
      return Promise.resolve(lines);
    });
  });
  const reloader = await UapiClient.connect('tvrs', { dir });
  t.teardown(() => reloader.close());
  const pending = reloader.reload();
  const other = await UapiClient.connect('tvrs', { dir });
  t.teardown(() => other.close());
  t.is((await other.get()).listenPort, 0, 'get is answered while the reload is still preparing');
  t.false(applied);
  // Longer than the idle timeout: a connection waiting for its reply is not idle.
  await new Promise((resolve) => setTimeout(resolve, 300));
  finish(['peer x added']);
  t.deepEqual(await pending, { errno: 0, messages: ['peer x added'] });
  t.true(applied);
});

test('overlapping reloads: the latest started applies; one overtaken while reading its file is refused and applies nothing', async (t) => {
  const applied: string[] = [];
  const slow: { release: () => void } = { release: () => undefined };
  let calls = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = (fn: () => Promise<string[]>) => {
    const run = queue.then(fn);
    queue = run.catch(() => undefined);
    return run;
  };
  const reload = latestReload(
    async () => {
      const n = ++calls;
      if (n === 1) await new Promise<void>((resolve) => (slow.release = resolve)); // the first one retries a resolver
      return `file version ${n}`;
    },
    (version) => {
      applied.push(version);
      return Promise.resolve([`applied ${version}`]);
    },
    exclusive,
  );
  const first = reload();
  t.deepEqual(await reload(), ['applied file version 2']);
  slow.release();
  const err = await t.throwsAsync(first, { instanceOf: ReloadRefused });
  t.regex(err.problems.join(' '), /a later reload started/);
  t.deepEqual(applied, ['file version 2']);
  t.deepEqual(await reload(), ['applied file version 3'], 'a reload after both applies as usual');
});
