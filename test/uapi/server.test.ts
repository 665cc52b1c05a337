import test from 'ava';
import { once } from 'node:events';
import { stat, unlink, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { UapiClient, listInterfaces, removeSocket } from '../../src/uapi/client.js';
import { EADDRINUSE, EINVAL, UapiError } from '../../src/uapi/errors.js';
import { MemoryDeviceControl } from '../../src/uapi/memory-control.js';
import { UapiServer } from '../../src/uapi/server.js';
import { formatPrefix } from '../../src/net/ip.js';
import { converse, hex, key, tempDir } from './helpers.js';

async function started(t: import('ava').ExecutionContext, dir: string, iface = 'tv0', control = new MemoryDeviceControl()) {
  const server = new UapiServer({ iface, control, dir, watchIntervalMs: 50 });
  await server.listen();
  t.teardown(() => server.close());
  return { server, control };
}

test('a client does set and get on one connection', async (t) => {
  const dir = await tempDir(t);
  const { server } = await started(t, dir);
  const c = await UapiClient.connect('tv0', { dir });
  t.teardown(() => c.close());
  await c.set(`private_key=${hex(1)}\nlisten_port=51820\npublic_key=${hex(2)}\nendpoint=192.0.2.1:51820\nallowed_ip=10.0.0.1/24\n`);
  const snap = await c.get();
  t.is(snap.listenPort, 51820);
  t.is(snap.peers.length, 1);
  t.is(snap.peers[0]!.endpoint, '192.0.2.1:51820');
  t.deepEqual(snap.peers[0]!.allowedIps.map(formatPrefix), ['10.0.0.0/24']);
  await c.set({ replacePeers: true, peers: [] });
  t.deepEqual((await c.get()).peers, []);
  t.is(server.path, join(dir, 'tv0.sock'));
});

test('pipelined requests in one write get one reply each, in order', async (t) => {
  const dir = await tempDir(t);
  const { server } = await started(t, dir);
  const { text } = await converse(server.path, `set=1\nlisten_port=7\n\nget=1\n\nset=1\nbogus=1\n\nget=1\n\n`, { replies: 4 });
  t.is(text, 'errno=0\n\nlisten_port=7\nerrno=0\n\nerrno=-22\n\nlisten_port=7\nerrno=0\n\n');
});

test('two clients at once are both served', async (t) => {
  const dir = await tempDir(t);
  await started(t, dir);
  const a = await UapiClient.connect('tv0', { dir });
  const b = await UapiClient.connect('tv0', { dir });
  t.teardown(() => (a.close(), b.close()));
  await Promise.all([a.set(`public_key=${hex(2)}\n`), b.set(`public_key=${hex(3)}\n`)]);
  const [sa, sb] = await Promise.all([a.get(), b.get()]);
  t.is(sa.peers.length, 2);
  t.deepEqual(sa, sb);
});

test('invalid set input is refused with the right errno and nothing is applied', async (t) => {
  const dir = await tempDir(t);
  const { control } = await started(t, dir);
  const c = await UapiClient.connect('tv0', { dir });
  t.teardown(() => c.close());
  for (const body of [
    `listen_port=1\npublic_key=${hex(2)}\nallowed_ip=10.0.0.0/8\nallowed_ip=10.0.0.0/99\n`,
    `listen_port=1\npublic_key=${hex(2)}\nendpoint=localhost:1\n`,
    `listen_port=1\npublic_key=${hex(2).slice(2)}zz\n`,
    `listen_port=1\nno_such_key=1\n`,
  ]) {
    const err = await t.throwsAsync(c.set(body), { instanceOf: UapiError });
    t.is(err?.errno, EINVAL, body);
  }
  t.is(control.applied, 0);
  t.deepEqual(await c.get(), { listenPort: 0, fwmark: 0, peers: [] });
});

test('a device failure is reported with its errno (EADDRINUSE for an unbindable port)', async (t) => {
  const dir = await tempDir(t);
  await started(t, dir, 'tv0', new MemoryDeviceControl({ canBind: (p) => p !== 53 }));
  const { text } = await converse(join(dir, 'tv0.sock'), 'set=1\nlisten_port=53\n\n', { replies: 1 });
  t.is(text, `errno=-${EADDRINUSE}\n\n`);
});

test('socket is mode 0600 in a created 0755 directory, and removed on close', async (t) => {
  const base = await tempDir(t);
  const dir = join(base, 'run', 'wireguard');
  const server = new UapiServer({ iface: 'tv0', control: new MemoryDeviceControl(), dir });
  await server.listen();
  t.teardown(() => server.close());
  const st = await stat(server.path);
  t.true(st.isSocket());
  t.is(st.mode & 0o777, 0o600);
  t.is((await stat(dir)).mode & 0o777, 0o755);
  await server.close();
  await t.throwsAsync(stat(server.path), { code: 'ENOENT' });
});

test("'removed' is emitted when the socket file is deleted, and `removed` says so to a late subscriber", async (t) => {
  const dir = await tempDir(t);
  const { server } = await started(t, dir);
  t.false(server.removed);
  let count = 0;
  const removed = once(server, 'removed').then(() => count++);
  await unlink(server.path);
  await removed;
  t.is(count, 1);
  t.true(server.removed);
});

test("'removed' is emitted when the socket file is replaced, and removeSocket() triggers it", async (t) => {
  const dir = await tempDir(t);
  const { server } = await started(t, dir, 'tva');
  const replaced = once(server, 'removed');
  await unlink(server.path);
  await writeFile(server.path, 'someone else');
  await replaced;
  // close() must not delete a file that is no longer ours.
  await server.close();
  t.is((await stat(server.path)).size, 'someone else'.length);
  const other = await started(t, dir, 'tvb');
  const removed = once(other.server, 'removed');
  t.true(await removeSocket('tvb', dir));
  await removed;
  t.false(await removeSocket('tvb', dir));
});

test('many pipelined requests are all answered despite socket backpressure', async (t) => {
  const dir = await tempDir(t);
  const { server } = await started(t, dir);
  const c = await UapiClient.connect('tv0', { dir });
  t.teardown(() => c.close());
  await c.set(`public_key=${hex(2)}\n` + Array.from({ length: 50 }, (_, i) => `allowed_ip=10.${i}.0.0/16\n`).join(''));
  const one = await c.getRaw();
  const count = 3000;
  const { text } = await converse(server.path, 'get=1\n\n'.repeat(count), { replies: count });
  t.is(text.length, one.length * count);
  t.true(text.endsWith(one));
});

test('a stale socket is replaced; a live one is refused with EADDRINUSE', async (t) => {
  const dir = await tempDir(t);
  // Stale: a daemon that died without cleaning up (SIGKILL) leaves a socket file nobody answers on.
  const path = join(dir, 'tv0.sock');
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
  t.teardown(() => child.kill('SIGKILL'));
  await once(child.stdout, 'data');
  child.kill('SIGKILL');
  await once(child, 'exit');
  t.true((await stat(path)).isSocket());
  const { server } = await started(t, dir);
  const c = await UapiClient.connect('tv0', { dir });
  t.teardown(() => c.close());
  t.deepEqual((await c.get()).peers, []);
  const second = new UapiServer({ iface: 'tv0', control: new MemoryDeviceControl(), dir });
  await t.throwsAsync(second.listen(), { code: 'EADDRINUSE', message: /already served/ });
  // The live server's socket is untouched.
  t.deepEqual((await c.get()).peers, []);
  t.is(server.path, path);
});

test('a non-socket file at the path is never replaced', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'tv0.sock'), 'not a socket');
  const server = new UapiServer({ iface: 'tv0', control: new MemoryDeviceControl(), dir });
  await t.throwsAsync(server.listen(), { message: /not a socket/ });
});

test('hostile input gets an error reply and a closed connection, and the server keeps serving', async (t) => {
  const dir = await tempDir(t);
  const { server, control } = await started(t, dir);
  const huge = await converse(server.path, 'set=1\n' + 'a'.repeat(1024 * 1024));
  t.true(huge.closedByServer);
  t.regex(huge.text, /^errno=-\d+\n\n$/);
  const junk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
  const garbage = await converse(server.path, junk);
  t.true(garbage.closedByServer);
  t.regex(garbage.text, /^(errno=-?\d+\n\n)?$/);
  const unknownOp = await converse(server.path, 'get=2\n\n');
  t.true(unknownOp.closedByServer);
  const nul = await converse(server.path, 'set=1\npublic_key=\0\0\0\n\n', { replies: 1 });
  t.is(nul.text, 'errno=-22\n\n');
  const halfSent = await converse(server.path, `set=1\nlisten_port=9`, { end: true });
  t.true(halfSent.closedByServer);
  t.is(halfSent.text, '');
  t.is(control.applied, 0);
  // Still serving, and a half-closing client still gets its reply.
  const ok = await converse(server.path, 'get=1\n\n', { end: true });
  t.is(ok.text, 'errno=0\n\n');
});

test('close() drops open connections and listInterfaces finds only live sockets', async (t) => {
  const dir = await tempDir(t);
  const { server } = await started(t, dir, 'tva');
  await started(t, dir, 'tvb');
  await writeFile(join(dir, 'junk.sock'), '');
  t.deepEqual(await listInterfaces(dir), ['tva', 'tvb']);
  const c = await UapiClient.connect('tva', { dir });
  t.teardown(() => c.close());
  await server.close();
  await t.throwsAsync(c.get());
  t.deepEqual(await listInterfaces(dir), ['tvb']);
  t.deepEqual(await listInterfaces(join(dir, 'missing')), []);
});

test('connecting to a missing interface fails with ENOENT', async (t) => {
  const dir = await tempDir(t);
  await t.throwsAsync(UapiClient.connect('nope', { dir }), { code: 'ENOENT' });
  t.throws(() => new UapiServer({ iface: '../x', control: new MemoryDeviceControl(), dir }), { instanceOf: RangeError });
  t.truthy(key(1));
});
