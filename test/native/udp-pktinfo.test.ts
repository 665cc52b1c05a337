/**
 * The addon's local addresses against the real kernel (run as root), inside a namespace of the test's own with a
 * second address on its loopback device: recvmmsg/recvmmsgGro report the address a datagram was sent to and the
 * interface it came through (IP_PKTINFO / IPV6_RECVPKTINFO), sendmmsg/sendmmsgGso send from a given source, and a
 * source that is not ours (EINVAL) is dropped: the datagram leaves from the kernel's choice, its slot is cleared and
 * counted in the report.
 */
import test, { type ExecutionContext } from 'ava';
import { SEND_REPORT_LENGTH, SEND_REPORT_UNSOURCED } from '../../src/native/udp.js';
import { ADDR_SLOT } from '../../src/net/addr-slot.js';
import { C, batch, ip, makeNetns, n, pattern, readSlot, whenReadable, type Netns } from './helpers.js';

const SLOT = 2048;
const GRO_SLOT = 65_536;

interface Family {
  family: 4 | 6;
  /** The kernel's own choice of source towards `second` (from a socket bound to any address). */
  first: number[];
  /** The extra address the test adds; datagrams are sent to it. */
  second: number[];
  secondText: string;
  /** An address the namespace does not have. */
  foreign: number[];
  pktinfo: () => [number, number];
}

const V4: Family = {
  family: 4,
  first: [127, 0, 0, 1],
  second: [10, 231, 9, 3],
  secondText: '10.231.9.3/32',
  foreign: [10, 231, 9, 99],
  pktinfo: () => [C.IPPROTO_IP, C.IP_PKTINFO],
};
const V6: Family = {
  family: 6,
  first: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  second: [0xfd, 0, 0x23, 0x19, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3],
  secondText: 'fd00:2319::3/128',
  foreign: [0xfd, 0, 0x23, 0x19, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99],
  pktinfo: () => [C.IPPROTO_IPV6, C.IPV6_RECVPKTINFO],
};

/** A namespace whose loopback device is up with `f.second` on it; returns it and lo's interface index. */
function loopbackWithSecondAddress(t: ExecutionContext, f: Family): { ns: Netns; lo: number } {
  const ns = makeNetns(t, `pkt${f.family}`);
  ip(['-n', ns.name, 'link', 'set', 'dev', 'lo', 'up']);
  ip(['-n', ns.name, 'addr', 'add', f.secondText, 'dev', 'lo', ...(f.family === 6 ? ['nodad'] : [])]);
  const lo = n.withNetns(ns.path, () => n.ifNameToIndex('lo'));
  t.true(lo > 0);
  return { ns, lo };
}

/** Two sockets bound to any address in the namespace, `b` with packet info on. */
function socketPair(t: ExecutionContext, ns: Netns, f: Family) {
  const [a, b] = n.withNetns(ns.path, () => [n.udpOpen(f.family, '', 0, true), n.udpOpen(f.family, '', 0, true)]);
  t.teardown(() => {
    n.close(a.fd);
    n.close(b.fd);
  });
  const [level, name] = f.pktinfo();
  n.setsockoptInt(b.fd, level, name, 1);
  return { a: a, b: b };
}

function localSlot(f: Family, address: number[], ifindex = 0): Uint8Array {
  const s = new Uint8Array(ADDR_SLOT);
  s[0] = f.family;
  new DataView(s.buffer).setUint32(4, ifindex, true);
  s.set(address, 8);
  return s;
}

/** Receives exactly `want` datagrams with recvmmsg and locals. */
async function receiveWithLocals(fd: number, want: number) {
  const arena = new Uint8Array(SLOT * want);
  const lengths = new Int32Array(want);
  const addrs = new Uint8Array(ADDR_SLOT * want);
  const locals = new Uint8Array(ADDR_SLOT * want).fill(0xee);
  const out: Array<{ data: Uint8Array; from: ReturnType<typeof readSlot>; local: ReturnType<typeof readSlot> }> = [];
  while (out.length < want) {
    const k = n.recvmmsg(fd, arena, SLOT, lengths, addrs, want - out.length, locals);
    for (let i = 0; i < k; i++) {
      out.push({ data: arena.slice(i * SLOT, i * SLOT + lengths[i]!), from: readSlot(addrs, i), local: readSlot(locals, i) });
    }
    if (out.length < want) await whenReadable(fd);
  }
  return out;
}

for (const f of [V4, V6]) {
  test(`IPv${f.family}: recvmmsg reports the address a datagram was sent to; sendmmsg replies from it`, async (t) => {
    const { ns, lo } = loopbackWithSecondAddress(t, f);
    const { a, b } = socketPair(t, ns, f);
    const ping = pattern(60, 1);
    const o = batch([ping], f.family, f.second, b.port);
    t.is(n.sendmmsg(a.fd, o.arena, o.offsets, o.lengths, o.addrs, 1), 1);
    const [got] = await receiveWithLocals(b.fd, 1);
    t.deepEqual(got!.data, ping);
    t.deepEqual(got!.local, { family: f.family, port: 0, scope: lo, address: f.second }, 'the address it was sent to, and lo');

    // To a at f.first: without a source the kernel picks f.first; with the local slot the datagram comes from f.second.
    const plain = batch([pattern(10, 2)], f.family, f.first, a.port);
    t.is(n.sendmmsg(b.fd, plain.arena, plain.offsets, plain.lengths, plain.addrs, 1), 1);
    const sticky = batch([pattern(11, 3)], f.family, f.first, a.port);
    const locals = localSlot(f, f.second, lo);
    const report = new Int32Array(SEND_REPORT_LENGTH);
    t.is(n.sendmmsg(b.fd, sticky.arena, sticky.offsets, sticky.lengths, sticky.addrs, 1, locals, report), 1);
    const replies = await receiveWithLocals(a.fd, 2);
    t.deepEqual(replies.map((r) => r.from.address), [f.first, f.second]);
    t.is(report[SEND_REPORT_UNSOURCED], 0);
    t.is(locals[0], f.family, 'an accepted source stays');
  });

  test(`IPv${f.family}: a source that is not ours is dropped, counted, and the datagrams still go out`, async (t) => {
    const { ns } = loopbackWithSecondAddress(t, f);
    const { a, b } = socketPair(t, ns, f);
    // Three datagrams to a: from a foreign address, from f.second, from the foreign address again.
    const o = batch([pattern(20, 1), pattern(21, 2), pattern(22, 3)], f.family, f.first, a.port);
    const locals = new Uint8Array(3 * ADDR_SLOT);
    locals.set(localSlot(f, f.foreign), 0);
    locals.set(localSlot(f, f.second), ADDR_SLOT);
    locals.set(localSlot(f, f.foreign), 2 * ADDR_SLOT);
    const report = new Int32Array(SEND_REPORT_LENGTH);
    t.is(n.sendmmsg(b.fd, o.arena, o.offsets, o.lengths, o.addrs, 3, locals, report), 3);
    t.is(report[SEND_REPORT_UNSOURCED], 2, 'both datagrams with the foreign source');
    t.deepEqual([locals[0], locals[ADDR_SLOT], locals[2 * ADDR_SLOT]], [0, f.family, 0], 'their slots cleared');
    const got = await receiveWithLocals(a.fd, 3);
    t.deepEqual(got.map((g) => g.data.length), [20, 21, 22]);
    t.deepEqual(got.map((g) => g.from.address), [f.first, f.second, f.first]);
  });
}

for (const f of [V4, V6]) {
  test(`IPv${f.family}: a destination without a route keeps the datagram's source: only the destination is dropped`, async (t) => {
    const { ns } = loopbackWithSecondAddress(t, f);
    const { a, b } = socketPair(t, ns, f);
    // To an address no route leads to (ENETUNREACH with or without the source), then to a, both from f.second.
    const nowhere = f.family === 4 ? [192, 0, 2, 77] : [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x77];
    const o = batch([pattern(30, 1), pattern(31, 2)], f.family, f.first, a.port);
    o.addrs.set(batch([pattern(1, 1)], f.family, nowhere, 9).addrs, 0);
    const locals = new Uint8Array(2 * ADDR_SLOT);
    locals.set(localSlot(f, f.second), 0);
    locals.set(localSlot(f, f.second), ADDR_SLOT);
    const report = new Int32Array(SEND_REPORT_LENGTH);
    t.is(n.sendmmsg(b.fd, o.arena, o.offsets, o.lengths, o.addrs, 2, locals, report), 2, 'both handled');
    t.is(report[SEND_REPORT_UNSOURCED], 0, 'the source was not at fault');
    t.deepEqual([locals[0], locals[ADDR_SLOT]], [f.family, f.family]);
    const [got] = await receiveWithLocals(a.fd, 1);
    t.is(got!.data.length, 31);
    t.deepEqual(got!.from.address, f.second);
  });
}

test('IPv4: a socket without IP_PKTINFO reports no local address (family 0)', async (t) => {
  const { ns } = loopbackWithSecondAddress(t, V4);
  const [a, b] = n.withNetns(ns.path, () => [n.udpOpen(4, '', 0, false), n.udpOpen(4, '', 0, false)]);
  t.teardown(() => {
    n.close(a.fd);
    n.close(b.fd);
  });
  const o = batch([pattern(5, 1)], 4, V4.second, b.port);
  t.is(n.sendmmsg(a.fd, o.arena, o.offsets, o.lengths, o.addrs, 1), 1);
  const [got] = await receiveWithLocals(b.fd, 1);
  t.is(got!.local.family, 0);
});

for (const f of [V4, V6]) {
  test(`IPv${f.family}: sendmmsgGso groups carry their source; recvmmsgGro reports the local address per message`, async (t) => {
    const { ns, lo } = loopbackWithSecondAddress(t, f);
    const { a, b } = socketPair(t, ns, f);
    n.setsockoptInt(b.fd, C.SOL_UDP, C.UDP_GRO, 1);
    // a → b's second address: a group of 3 × 800 from f.first, then a group of 2 × 800 from a foreign source (the
    // kernel refuses it: ENETUNREACH for IPv4, EINVAL for IPv6, where the group is first resent as plain datagrams).
    const sizes = [800, 800, 800, 800, 800];
    const o = batch(sizes.map((size, i) => pattern(size, i + 1)), f.family, f.second, b.port);
    const locals = new Uint8Array(sizes.length * ADDR_SLOT);
    for (const i of [0, 1, 2]) locals.set(localSlot(f, f.first), i * ADDR_SLOT);
    for (const i of [3, 4]) locals.set(localSlot(f, f.foreign), i * ADDR_SLOT);
    const report = new Int32Array(SEND_REPORT_LENGTH);
    t.is(n.sendmmsgGso(a.fd, o.arena, o.offsets, o.lengths, o.addrs, 5, Int32Array.of(3, 2), 2, report, locals), 5);
    t.is(report[SEND_REPORT_UNSOURCED], 2, 'the foreign group was resent without its source');

    const max = 8;
    const arena = new Uint8Array(max * GRO_SLOT);
    const lengths = new Int32Array(max);
    const addrs = new Uint8Array(max * ADDR_SLOT);
    const segs = new Int32Array(max);
    const rxLocals = new Uint8Array(max * ADDR_SLOT);
    const bytesFrom = new Map<string, number>();
    let bytes = 0;
    while (bytes < 5 * 800) {
      const m = n.recvmmsgGro(b.fd, arena, GRO_SLOT, lengths, addrs, segs, max, rxLocals);
      for (let j = 0; j < m; j++) {
        bytes += lengths[j]!;
        const from = readSlot(addrs, j).address.join('.');
        bytesFrom.set(from, (bytesFrom.get(from) ?? 0) + lengths[j]!);
        t.deepEqual(readSlot(rxLocals, j), { family: f.family, port: 0, scope: lo, address: f.second });
      }
      if (bytes < 5 * 800) await whenReadable(b.fd);
    }
    t.deepEqual(Object.fromEntries(bytesFrom), { [f.first.join('.')]: 3 * 800, [f.second.join('.')]: 2 * 800 });
  });
}

test('sendmmsgGso refuses a group whose datagrams name different sources, before sending anything', (t) => {
  const s = n.udpOpen(4, '127.0.0.1', 0, false);
  t.teardown(() => n.close(s.fd));
  const o = batch([pattern(100, 1), pattern(100, 2)], 4, V4.first, 9);
  const locals = new Uint8Array(2 * ADDR_SLOT);
  locals.set(localSlot(V4, V4.first), 0);
  const report = new Int32Array(SEND_REPORT_LENGTH);
  t.throws(() => n.sendmmsgGso(s.fd, o.arena, o.offsets, o.lengths, o.addrs, 2, Int32Array.of(2), 1, report, locals), {
    instanceOf: RangeError,
    message: /another source/,
  });
  // With locals the report needs its third entry; locals need a slot per datagram.
  t.throws(() => n.sendmmsg(s.fd, o.arena, o.offsets, o.lengths, o.addrs, 2, new Uint8Array(2 * ADDR_SLOT), new Int32Array(2)), {
    instanceOf: RangeError,
  });
  t.throws(() => n.sendmmsg(s.fd, o.arena, o.offsets, o.lengths, o.addrs, 2, new Uint8Array(ADDR_SLOT), report), {
    instanceOf: RangeError,
  });
});
