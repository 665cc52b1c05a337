/**
 * The native addon against the real kernel (run as root). Every namespace is created with a unique name and
 * removed in t.teardown; traffic goes only to loopback or to addresses inside those namespaces. *
 * This file: network namespaces.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync, fstatSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NETNS_DIR, THREAD_NETNS, deleteNetns, ip, liveNetns, makeNetns, n, throwsNative } from './helpers.js';

test('netnsCreate/netnsDelete add and remove a namespace seen by `ip netns list`', (t) => {
  const name = `tv-nsls-${process.pid}-${randomBytes(3).toString('hex')}`;
  const path = join(NETNS_DIR, name);
  n.netnsCreate(path);
  liveNetns.add(path);
  t.teardown(() => deleteNetns(path));
  t.true(ip(['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === name));
  t.not(readlinkSync(THREAD_NETNS), `net:[${statSync(path).ino}]`, 'the caller is back in its own namespace');
  throwsNative(t, () => n.netnsCreate(path), 'EEXIST');
  t.true(existsSync(path), 'a failed create does not remove the existing namespace');

  n.netnsDelete(path);
  liveNetns.delete(path);
  t.false(existsSync(path));
  t.false(ip(['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === name));
  throwsNative(t, () => n.netnsDelete(path), 'ENOENT');
});

test('withNetns switches the calling thread, returns fn value, and restores it also when fn throws', (t) => {
  const a = makeNetns(t, 'wa');
  const b = makeNetns(t, 'wb');
  const home = readlinkSync(THREAD_NETNS);
  const inA = n.withNetns(a.path, () => readlinkSync(THREAD_NETNS));
  t.is(inA, `net:[${statSync(a.path).ino}]`);
  t.is(readlinkSync(THREAD_NETNS), home);

  const nested = n.withNetns(a.path, () => [n.withNetns(b.path, () => readlinkSync(THREAD_NETNS)), readlinkSync(THREAD_NETNS)]);
  t.deepEqual(nested, [`net:[${statSync(b.path).ino}]`, inA]);

  const boom = new Error('boom inside the namespace');
  const thrown = t.throws(() =>
    n.withNetns(a.path, () => {
      throw boom;
    }),
  );
  t.is(thrown, boom, 'the very same exception is rethrown');
  t.is(readlinkSync(THREAD_NETNS), home);

  throwsNative(t, () => n.withNetns('/nonexistent/ns', () => 1), 'ENOENT');
  throwsNative(t, () => n.withNetns('/proc/self/status', () => 1), 'EINVAL');
  t.is(readlinkSync(THREAD_NETNS), home);

  const fd = n.openNetnsFd(a.path);
  t.true(fd > 2);
  t.is(fstatSync(fd).ino, statSync(a.path).ino);
  n.close(fd);
});
