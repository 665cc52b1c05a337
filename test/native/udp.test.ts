/**
 * The native addon against the real kernel (run as root). Every namespace is created with a unique name and
 * removed in t.teardown; traffic goes only to loopback or to addresses inside those namespaces. *
 * This file: UDP batches on 127.0.0.1 and ::1.
 */
import test from 'ava';
import { ADDR_SLOT } from '../../src/net/addr-slot.js';
import { C, LOOPBACK4, LOOPBACK6, batch, ip, makeNetns, n, pattern, receive, throwsNative, writeSlot } from './helpers.js';

for (const v of [
  { family: 4 as const, host: '127.0.0.1', address: LOOPBACK4 },
  { family: 6 as const, host: '::1', address: LOOPBACK6 },
]) {
  test(`udp IPv${v.family} loopback: a batch via sendmmsg arrives via recvmmsg with lengths and sources`, async (t) => {
    const a = n.udpOpen(v.family, v.host, 0, true);
    const b = n.udpOpen(v.family, v.host, 0, true);
    t.teardown(() => {
      n.close(a.fd);
      n.close(b.fd);
    });
    t.true(a.port > 0 && b.port > 0 && a.port !== b.port);
    const sizes = [1, 0, 100, 1400, 8000, 3, 200, 65];
    const payloads = sizes.map((s, i) => pattern(s, i));
    const out = batch(payloads, v.family, v.address, b.port);
    t.is(n.sendmmsg(a.fd, out.arena, out.offsets, out.lengths, out.addrs, sizes.length), sizes.length);

    const got = await receive(b.fd, sizes.length);
    t.deepEqual(got.map((g) => g.length), sizes);
    got.forEach((g, i) => {
      t.deepEqual(g.data, payloads[i]);
      t.deepEqual(g.from, { family: v.family, port: a.port, scope: 0, address: v.address });
    });
    t.is(n.recvmmsg(b.fd, new Uint8Array(16), 16, new Int32Array(1), new Uint8Array(ADDR_SLOT), 1), 0, 'EAGAIN is 0');
  });
}

test('udp: dual-stack socket reports IPv4 sources as family 4 and sends family 4 via ::ffff:a.b.c.d', async (t) => {
  const v4 = n.udpOpen(4, '127.0.0.1', 0, false);
  const dual = n.udpOpen(6, '', 0, false);
  t.teardown(() => {
    n.close(v4.fd);
    n.close(dual.fd);
  });
  const ping = pattern(40, 1);
  const o1 = batch([ping], 4, LOOPBACK4, dual.port);
  t.is(n.sendmmsg(v4.fd, o1.arena, o1.offsets, o1.lengths, o1.addrs, 1), 1);
  const [in1] = await receive(dual.fd, 1);
  t.deepEqual(in1!.from, { family: 4, port: v4.port, scope: 0, address: LOOPBACK4 });

  const pong = pattern(50, 2);
  const o2 = batch([pong], 4, LOOPBACK4, v4.port);
  t.is(n.sendmmsg(dual.fd, o2.arena, o2.offsets, o2.lengths, o2.addrs, 1), 1);
  const [in2] = await receive(v4.fd, 1);
  t.deepEqual(in2!.data, pong);
  t.deepEqual(in2!.from, { family: 4, port: dual.port, scope: 0, address: LOOPBACK4 });
});

test('udp: oversized datagrams are reported as -1; undeliverable ones are skipped and counted', async (t) => {
  const ns = makeNetns(t, 'udperr');
  ip(['-n', ns.name, 'link', 'set', 'dev', 'lo', 'up']);
  const s = n.withNetns(ns.path, () => n.udpOpen(4, '127.0.0.1', 0, false));
  t.teardown(() => n.close(s.fd));

  const big = pattern(2000, 3);
  const small = pattern(10, 4);
  const o = batch([big, small], 4, LOOPBACK4, s.port);
  t.is(n.sendmmsg(s.fd, o.arena, o.offsets, o.lengths, o.addrs, 2), 2);
  const got = await receive(s.fd, 2, 1500);
  t.deepEqual(got.map((g) => g.length), [-1, small.length]);

  // [no route (ENETUNREACH), IPv6 on an AF_INET socket, deliverable, port 0 (EINVAL)] -> all 4 handled, 1 arrives.
  const mixed = batch([pattern(5, 1), pattern(6, 2), pattern(7, 3), pattern(8, 4)], 4, LOOPBACK4, s.port);
  writeSlot(mixed.addrs, 0, 4, [10, 1, 2, 3], 4000);
  writeSlot(mixed.addrs, 1, 6, LOOPBACK6, s.port);
  writeSlot(mixed.addrs, 3, 4, LOOPBACK4, 0);
  t.is(n.sendmmsg(s.fd, mixed.arena, mixed.offsets, mixed.lengths, mixed.addrs, 4), 4);
  const [only] = await receive(s.fd, 1);
  t.is(only!.length, 7);
  t.is(n.recvmmsg(s.fd, new Uint8Array(64), 64, new Int32Array(1), new Uint8Array(ADDR_SLOT), 1), 0);
});

test('setsockoptInt/getsockoptInt round-trip an int option', (t) => {
  const s = n.udpOpen(4, '127.0.0.1', 0, false);
  t.teardown(() => n.close(s.fd));
  n.setsockoptInt(s.fd, C.SOL_SOCKET, C.SO_MARK, 0x1234);
  t.is(n.getsockoptInt(s.fd, C.SOL_SOCKET, C.SO_MARK), 0x1234);
  throwsNative(t, () => n.getsockoptInt(s.fd, C.SOL_SOCKET, 0x7fff), 'ENOPROTOOPT');
});
