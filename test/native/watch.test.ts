/**
 * The native addon against the real kernel (run as root). Every namespace is created with a unique name and
 * removed in t.teardown; traffic goes only to loopback or to addresses inside those namespaces. *
 * This file: fd watchers.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { ADDON_PATH, C, GUARD_MS, n, throwsNative } from './helpers.js';

test('watch: reports writability, close is idempotent and safe inside the callback', async (t) => {
  const s = n.udpOpen(4, '127.0.0.1', 0, false);
  t.teardown(() => n.close(s.fd));
  let calls = 0;
  const events = await new Promise<number>((resolve) => {
    const w = n.watch(s.fd, (ev) => {
      calls++;
      w.close();
      w.close();
      resolve(ev);
    });
    w.start(C.POLL_WRITABLE);
  });
  t.is(events & C.POLL_WRITABLE, C.POLL_WRITABLE);
  // A level-triggered writable socket would fire on every loop turn if close() had not stopped it.
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  t.is(calls, 1);

  const w2 = n.watch(s.fd, () => calls++);
  w2.start(C.POLL_WRITABLE);
  w2.stop();
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  t.is(calls, 1, 'a stopped watcher does not fire');
  w2.close();
  w2.close();
  w2.stop();
  throwsNative(t, () => w2.start(C.POLL_READABLE), 'EBADF');
  t.throws(() => n.watch(s.fd, () => 0).start(0), { instanceOf: RangeError });
});

test('watch: a regular file cannot be polled (EPERM)', (t) => {
  const fd = n.openNetnsFd('/proc/self/status');
  t.teardown(() => n.close(fd));
  throwsNative(t, () => n.watch(fd, () => 0), 'EPERM');
});

/** Runs a CommonJS snippet in a fresh node with ADDON set; `n` is the loaded addon. */
function child(script: string, nodeArgs: string[] = []) {
  const prelude = 'const n = require(process.env.ADDON); const s = n.udpOpen(4, "127.0.0.1", 0, false);\n';
  return spawnSync(process.execPath, [...nodeArgs, '-e', prelude + script], {
    env: { ...process.env, ADDON: ADDON_PATH },
    encoding: 'utf8',
    timeout: GUARD_MS,
  });
}

test('watch: an exception in the callback is an ordinary uncaught exception (never an abort)', (t) => {
  const handled = child(`
    process.on('uncaughtException', (e) => { console.log('caught:' + e.message); w.close(); n.close(s.fd); });
    const w = n.watch(s.fd, () => { throw new Error('boom-from-callback'); });
    w.start(n.constants.POLL_WRITABLE);`);
  t.is(handled.signal, null, handled.stderr);
  t.is(handled.status, 0, handled.stderr);
  t.is(handled.stdout.trim(), 'caught:boom-from-callback');

  const unhandled = child(`
    const w = n.watch(s.fd, () => { throw new Error('boom-unhandled'); });
    w.start(n.constants.POLL_WRITABLE);`);
  t.is(unhandled.signal, null, unhandled.stderr);
  t.is(unhandled.status, 1, unhandled.stderr);
  t.regex(unhandled.stderr, /Error: boom-unhandled/);
});

test('watch: un-closed watchers do not crash at exit (normal exit, process.exit, GC, worker teardown)', (t) => {
  const cases: Record<string, { script: string; args?: string[] }> = {
    'stopped, never closed': { script: `const w = n.watch(s.fd, () => 0); w.start(1); w.stop(); console.log('ok');` },
    'process.exit inside the callback': {
      script: `const w = n.watch(s.fd, () => { console.log('ok'); process.exit(0); }); w.start(n.constants.POLL_WRITABLE);`,
    },
    'collected by GC': {
      script: `for (let i = 0; i < 200; i++) n.watch(s.fd, () => 0);
               global.gc(); setImmediate(() => { global.gc(); setImmediate(() => console.log('ok')); });`,
      args: ['--expose-gc'],
    },
    'worker terminated with a started watcher': {
      script: `const { Worker } = require('node:worker_threads');
        const w = new Worker(\`const n = require(process.env.ADDON); const { parentPort } = require('node:worker_threads');
          const s = n.udpOpen(4, '127.0.0.1', 0, false); const a = n.watch(s.fd, () => 0); a.start(n.constants.POLL_READABLE);
          const b = n.watch(n.udpOpen(4, '127.0.0.1', 0, false).fd, () => 0); parentPort.postMessage('up');\`, { eval: true });
        w.on('message', () => w.terminate().then(() => console.log('ok')));`,
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    const r = child(c.script, c.args);
    t.is(r.signal, null, `${name}: ${r.stderr}`);
    t.is(r.status, 0, `${name}: ${r.stderr}`);
    t.is(r.stdout.trim(), 'ok', name);
  }
});
