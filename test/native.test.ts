/**
 * The native addon against the real kernel (run as root). Every namespace is created here with a unique name and
 * removed in t.teardown; traffic goes only to loopback or to addresses inside those namespaces.
 *
 *   root ns: 127.0.0.1 / ::1 UDP batches, fd watchers, netlink
 *   ns "tun":   tvn0 (TUN, 10.77.0.1/24) <-- UDP socket bound to 10.77.0.1 sends to 10.77.0.2 --> readBatch
 *               writeBatch(IPv4/UDP 10.77.0.2 -> 10.77.0.1) --> recvmmsg on that socket
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, fstatSync, readlinkSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDR_SLOT, isNativeError, native, type NativeError } from '../src/native/addon.js';

const n = native();
const C = n.constants;
const NETNS_DIR = '/run/netns';
const THREAD_NETNS = '/proc/thread-self/ns/net';
const GUARD_MS = 10_000; // only to turn a hang into a failure; no assertion depends on time
const SLOT_BYTES = 9216; // receive slot: bigger than any datagram sent here except the truncation test
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ADDON_PATH = join(ROOT, 'native', 'build', 'Release', 'tunvpn.node');
const NLMSG_ERROR = 2;
const RTM_UNKNOWN = 0x7ff0; // above RTM_MAX: rtnetlink answers EOPNOTSUPP
const EOPNOTSUPP = 95;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLMSG_HDRLEN = 16;

// ---- helpers ---------------------------------------------------------------------------------------------

interface Netns {
  name: string;
  path: string;
}

/** Namespaces still to delete; also swept at process exit, in case a crash skips the teardowns. */
const liveNetns = new Set<string>();

function deleteNetns(path: string): void {
  liveNetns.delete(path);
  try {
    n.netnsDelete(path);
  } catch (e) {
    if (!isNativeError(e) || e.code !== 'ENOENT') throw e;
  }
}

process.on('exit', () => {
  for (const path of liveNetns) deleteNetns(path);
});

/** Creates a namespace with netnsCreate (the code under test) and removes it when the test ends. */
function makeNetns(t: ExecutionContext, purpose: string): Netns {
  const name = `tv-${purpose}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const path = join(NETNS_DIR, name);
  n.netnsCreate(path);
  liveNetns.add(path);
  t.teardown(() => deleteNetns(path));
  return { name, path };
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function linkExists(ns: string, dev: string): boolean {
  return spawnSync('ip', ['-n', ns, 'link', 'show', 'dev', dev], { stdio: 'ignore' }).status === 0;
}

function throwsNative(t: ExecutionContext, fn: () => unknown, code: string): NativeError | undefined {
  const e = t.throws(fn);
  if (!isNativeError(e)) {
    t.fail(`expected a NativeError with code ${code}, got ${String(e)}`);
    return undefined;
  }
  t.is(e.code, code, e.message);
  t.true(e.errno > 0);
  t.is(typeof e.syscall, 'string');
  t.true(e.message.startsWith(`${code}: ${e.syscall}: `), e.message);
  return e;
}

/** Resolves with the event mask once fd is readable; the watcher closes itself inside its callback. */
function whenReadable(fd: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`fd ${fd} not readable within ${GUARD_MS} ms`));
    }, GUARD_MS);
    const watcher = n.watch(fd, (events) => {
      watcher.close();
      clearTimeout(timer);
      if (events < 0) reject(new Error(`poll error ${events}`));
      else resolve(events);
    });
    watcher.start(C.POLL_READABLE);
  });
}

function writeSlot(addrs: Uint8Array, i: number, family: 4 | 6, address: number[], port: number, scope = 0): void {
  const s = addrs.subarray(i * ADDR_SLOT, (i + 1) * ADDR_SLOT);
  s.fill(0);
  s[0] = family;
  s[2] = port >> 8;
  s[3] = port & 0xff;
  new DataView(s.buffer, s.byteOffset).setUint32(4, scope, true);
  s.set(address, 8);
}

interface Slot {
  family: number;
  port: number;
  scope: number;
  address: number[];
}

function readSlot(addrs: Uint8Array, i: number): Slot {
  const s = addrs.subarray(i * ADDR_SLOT, (i + 1) * ADDR_SLOT);
  const family = s[0]!;
  return {
    family,
    port: (s[2]! << 8) | s[3]!,
    scope: new DataView(s.buffer, s.byteOffset).getUint32(4, true),
    address: [...s.subarray(8, family === 4 ? 12 : 24)],
  };
}

const LOOPBACK4 = [127, 0, 0, 1];

function oneSlot(): Uint8Array {
  const a = new Uint8Array(ADDR_SLOT);
  writeSlot(a, 0, 4, [127, 0, 0, 1], 9);
  return a;
}
const LOOPBACK6 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/** Receives exactly `want` datagrams from fd (waiting with watch), returning lengths, payloads and sources. */
async function receive(fd: number, want: number, slotSize = SLOT_BYTES) {
  const arena = new Uint8Array(slotSize * want);
  const lengths = new Int32Array(want);
  const addrs = new Uint8Array(ADDR_SLOT * want);
  const out: { length: number; data: Uint8Array; from: Slot }[] = [];
  while (out.length < want) {
    const k = n.recvmmsg(fd, arena, slotSize, lengths, addrs, want - out.length);
    for (let i = 0; i < k; i++) {
      const len = lengths[i]!;
      out.push({ length: len, data: arena.slice(i * slotSize, i * slotSize + Math.max(len, 0)), from: readSlot(addrs, i) });
    }
    if (out.length < want) await whenReadable(fd);
  }
  return out;
}

/** Packs payloads into one arena with offsets/lengths, all to the same destination slot. */
function batch(payloads: Uint8Array[], family: 4 | 6, address: number[], port: number) {
  const total = payloads.reduce((s, p) => s + p.length, 0);
  const arena = new Uint8Array(total);
  const offsets = new Int32Array(payloads.length);
  const lengths = new Int32Array(payloads.length);
  const addrs = new Uint8Array(ADDR_SLOT * payloads.length);
  let at = 0;
  payloads.forEach((p, i) => {
    arena.set(p, at);
    offsets[i] = at;
    lengths[i] = p.length;
    writeSlot(addrs, i, family, address, port);
    at += p.length;
  });
  return { arena, offsets, lengths, addrs };
}

function pattern(length: number, seed: number): Uint8Array {
  const p = new Uint8Array(length);
  for (let i = 0; i < length; i++) p[i] = (seed * 31 + i) & 0xff;
  return p;
}

/** An IPv4/UDP packet (UDP checksum 0 = none, allowed for IPv4). */
function ipv4Udp(src: number[], dst: number[], sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const IPV4_HDR = 20;
  const UDP_HDR = 8;
  const pkt = new Uint8Array(IPV4_HDR + UDP_HDR + payload.length);
  const v = new DataView(pkt.buffer);
  v.setUint8(0, 0x45); // version 4, IHL 5 words
  v.setUint16(2, pkt.length);
  v.setUint16(6, 0x4000); // DF
  v.setUint8(8, 64); // TTL
  v.setUint8(9, 17); // UDP
  pkt.set(src, 12);
  pkt.set(dst, 16);
  let sum = 0;
  for (let i = 0; i < IPV4_HDR; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(10, ~sum & 0xffff);
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint16(24, UDP_HDR + payload.length);
  pkt.set(payload, IPV4_HDR + UDP_HDR);
  return pkt;
}

// ---- constants and argument checking ------------------------------------------------------------------------

test('constants carry the Linux values', (t) => {
  t.like(C, {
    IFF_TUN: 0x1, IFF_TAP: 0x2, IFF_NO_PI: 0x1000, IFF_VNET_HDR: 0x4000, IFF_MULTI_QUEUE: 0x100,
    TUN_F_CSUM: 0x1, TUN_F_TSO4: 0x2, TUN_F_TSO6: 0x4, TUN_F_TSO_ECN: 0x8, TUN_F_USO4: 0x20, TUN_F_USO6: 0x40,
    POLL_READABLE: 1, POLL_WRITABLE: 2, SOL_SOCKET: 1, SO_MARK: 36, SO_RCVBUF: 8, SO_SNDBUF: 7,
    SO_RCVBUFFORCE: 33, SO_SNDBUFFORCE: 32, SOL_UDP: 17, UDP_SEGMENT: 103, UDP_GRO: 104, NETLINK_ROUTE: 0,
  });
});

test('syscall errors carry errno names; bad arguments throw TypeError/RangeError', (t) => {
  const e = throwsNative(t, () => n.tunOpen('abcdefghijklmnop', C.IFF_TUN | C.IFF_NO_PI), 'EINVAL');
  t.is(e?.syscall, 'ioctl(TUNSETIFF)');
  t.is(e?.errno, 22);
  throwsNative(t, () => n.netnsDelete(join(NETNS_DIR, `tv-missing-${process.pid}-${randomBytes(3).toString('hex')}`)), 'ENOENT');
  throwsNative(t, () => n.openNetnsFd('/nonexistent/ns'), 'ENOENT');
  throwsNative(t, () => n.close(0x7ffffff0), 'EBADF');
  throwsNative(t, () => n.readBatch(0x7ffffff0, new Uint8Array(4), 4, new Int32Array(1), 1), 'EBADF');
  throwsNative(t, () => n.writeBatch(0x7ffffff0, new Uint8Array(4), Int32Array.of(0), Int32Array.of(4), 1), 'EBADF');
  throwsNative(t, () => n.sendmmsg(0x7ffffff0, new Uint8Array(4), Int32Array.of(0), Int32Array.of(4), oneSlot(), 1), 'EBADF');
  throwsNative(t, () => n.udpOpen(4, 'not-an-address', 0, false), 'EINVAL');
  throwsNative(t, () => n.udpOpen(6, '10.0.0.1', 0, false), 'EINVAL');

  const loose = n as unknown as Record<string, (...args: unknown[]) => unknown>;
  t.throws(() => loose.readBatch!(-1, new Uint8Array(1), 1, new Int32Array(1), 1), { instanceOf: RangeError });
  t.throws(() => loose.readBatch!(0, new Uint8Array(10), 100, new Int32Array(1), 1), { instanceOf: RangeError, message: /arena too small/ });
  t.throws(() => loose.readBatch!(0, new Uint8Array(100), 10, new Int32Array(1), 2), { instanceOf: RangeError, message: /lengths too small/ });
  t.throws(() => loose.write!(0, 'text', 0, 4), { instanceOf: TypeError, message: /"buf"/ });
  t.throws(() => loose.write!(1.5, new Uint8Array(1), 0, 1), { instanceOf: RangeError });
  t.throws(() => loose.write!(1, new Uint8Array(4), 2, 3), { instanceOf: RangeError });
  t.throws(() => loose.readBatch!(0, new Uint8Array(4), 4, new Uint32Array(1), 1), { instanceOf: TypeError, message: /Int32Array/ });
  t.throws(() => loose.watch!(0, 'not a function'), { instanceOf: TypeError });
  t.throws(() => loose.tunOpen!(undefined, 0), { instanceOf: TypeError });
  t.throws(() => loose.udpOpen!(5, '', 0, false), { instanceOf: RangeError });
  const slots = new Uint8Array(ADDR_SLOT); // family 0
  t.throws(() => n.sendmmsg(0, new Uint8Array(1), Int32Array.of(0), Int32Array.of(1), slots, 1), {
    instanceOf: RangeError,
    message: /family 0/,
  });
  t.throws(() => n.writeBatch(0, new Uint8Array(4), Int32Array.of(2), Int32Array.of(3), 1), { instanceOf: RangeError, message: /outside the arena/ });
});

// ---- namespaces ---------------------------------------------------------------------------------------------

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

// ---- TUN ---------------------------------------------------------------------------------------------------

test('tunOpen: kernel-chosen and requested names inside a namespace; EBUSY; persist', (t) => {
  const ns = makeNetns(t, 'tunname');
  const flags = C.IFF_TUN | C.IFF_NO_PI;
  const picked = n.withNetns(ns.path, () => n.tunOpen('', flags));
  t.teardown(() => n.close(picked.fd));
  t.regex(picked.name, /^tun\d+$/);
  t.true(linkExists(ns.name, picked.name));

  const named = n.withNetns(ns.path, () => n.tunOpen('tvreq0', flags));
  t.is(named.name, 'tvreq0');
  t.true(linkExists(ns.name, 'tvreq0'));
  t.true(ip(['-n', ns.name, '-d', 'link', 'show', 'dev', 'tvreq0']).includes('tun'));
  throwsNative(t, () => n.withNetns(ns.path, () => n.tunOpen('tvreq0', flags)), 'EBUSY');
  n.close(named.fd);
  t.false(linkExists(ns.name, 'tvreq0'), 'a non-persistent device goes away with its fd');

  const tap = n.withNetns(ns.path, () => n.tunOpen('tvtap0', C.IFF_TAP | C.IFF_NO_PI));
  t.true(ip(['-n', ns.name, 'link', 'show', 'dev', 'tvtap0']).includes('link/ether'));
  n.tunSetVnetHdrSize(tap.fd, 12);
  n.close(tap.fd);

  const p = n.withNetns(ns.path, () => n.tunOpen('tvper0', flags));
  n.tunSetPersist(p.fd, true);
  n.close(p.fd);
  t.true(linkExists(ns.name, 'tvper0'), 'a persistent device outlives its fd');
  const again = n.withNetns(ns.path, () => n.tunOpen('tvper0', flags));
  n.tunSetPersist(again.fd, false);
  n.close(again.fd);
  t.false(linkExists(ns.name, 'tvper0'));
});

test('TUN round trip: a routed UDP datagram is read as IPv4 via readBatch; a written packet reaches the socket', async (t) => {
  const ns = makeNetns(t, 'tun');
  const tun = n.withNetns(ns.path, () => n.tunOpen('tvn0', C.IFF_TUN | C.IFF_NO_PI));
  t.teardown(() => n.close(tun.fd));
  ip(['-n', ns.name, 'addr', 'add', '10.77.0.1/24', 'dev', 'tvn0']);
  ip(['-n', ns.name, 'link', 'set', 'dev', 'tvn0', 'up']);
  const sock = n.withNetns(ns.path, () => n.udpOpen(4, '10.77.0.1', 0, false));
  t.teardown(() => n.close(sock.fd));

  const payload = new TextEncoder().encode('through the tunnel device');
  const out = batch([payload], 4, [10, 77, 0, 2], 9999);
  t.is(n.sendmmsg(sock.fd, out.arena, out.offsets, out.lengths, out.addrs, 1), 1);

  const MAX = 8;
  const arena = new Uint8Array(SLOT_BYTES * MAX);
  const lengths = new Int32Array(MAX);
  let found: Uint8Array | undefined;
  for (let rounds = 0; !found && rounds < 50; rounds++) {
    await whenReadable(tun.fd);
    const k = n.readBatch(tun.fd, arena, SLOT_BYTES, lengths, MAX);
    for (let i = 0; i < k && !found; i++) {
      const pkt = arena.subarray(i * SLOT_BYTES, i * SLOT_BYTES + lengths[i]!);
      // Other packets (e.g. IPv6 autoconfiguration) may come first: pick ours.
      if (pkt.length >= 28 && pkt[0]! >> 4 === 4 && pkt[9] === 17 && pkt[16] === 10 && pkt[19] === 2) found = pkt.slice();
    }
  }
  if (!found) return t.fail('no IPv4/UDP packet for 10.77.0.2 came out of the TUN');
  const v = new DataView(found.buffer);
  t.deepEqual([...found.subarray(12, 16)], [10, 77, 0, 1]);
  t.is(v.getUint16(20), sock.port);
  t.is(v.getUint16(22), 9999);
  t.is(v.getUint16(2), found.length, 'IPv4 total length matches the bytes read');
  t.deepEqual(found.subarray(28), payload);

  const reply = pattern(300, 7);
  const pkt = ipv4Udp([10, 77, 0, 2], [10, 77, 0, 1], 5555, sock.port, reply);
  t.is(n.writeBatch(tun.fd, pkt, Int32Array.of(0), Int32Array.of(pkt.length), 1), 1);
  const [got] = await receive(sock.fd, 1);
  t.is(got!.length, reply.length);
  t.deepEqual(got!.data, reply);
  t.deepEqual(got!.from, { family: 4, port: 5555, scope: 0, address: [10, 77, 0, 2] });

  t.is(n.write(tun.fd, pkt, 0, pkt.length), pkt.length);
  const [again] = await receive(sock.fd, 1);
  t.deepEqual(again!.data, reply);
});

// ---- UDP ---------------------------------------------------------------------------------------------------

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

// ---- netlink -----------------------------------------------------------------------------------------------

test('netlinkOpen: port id, 1 MiB receive buffer, NLMSG_ERROR for a malformed request, EMSGSIZE on truncation', async (t) => {
  const nl = n.netlinkOpen(C.NETLINK_ROUTE);
  t.teardown(() => n.close(nl.fd));
  t.true(nl.portId !== 0);
  t.true(n.getsockoptInt(nl.fd, C.SOL_SOCKET, C.SO_RCVBUF) >= 1 << 20);
  t.is(n.recv(nl.fd, new Uint8Array(64)), -1, 'nothing queued: EAGAIN is -1');

  // A message type rtnetlink does not know: the kernel must answer with an NLMSG_ERROR.
  const req = new Uint8Array(NLMSG_HDRLEN);
  const rv = new DataView(req.buffer);
  rv.setUint32(0, NLMSG_HDRLEN, true);
  rv.setUint16(4, RTM_UNKNOWN, true);
  rv.setUint16(6, NLM_F_REQUEST | NLM_F_ACK, true);
  rv.setUint32(8, 4242, true);
  t.is(n.send(nl.fd, req), NLMSG_HDRLEN);
  await whenReadable(nl.fd);
  const buf = new Uint8Array(4096);
  const len = n.recv(nl.fd, buf);
  t.true(len >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN);
  const v = new DataView(buf.buffer);
  t.is(v.getUint16(4, true), NLMSG_ERROR);
  t.is(v.getUint32(8, true), 4242, 'sequence number echoed');
  t.is(v.getUint32(12, true), nl.portId, 'addressed to our port');
  t.is(v.getInt32(16, true), -EOPNOTSUPP);

  rv.setUint32(8, 4243, true);
  t.is(n.send(nl.fd, req), NLMSG_HDRLEN);
  await whenReadable(nl.fd);
  throwsNative(t, () => n.recv(nl.fd, new Uint8Array(8)), 'EMSGSIZE');
  t.is(n.recv(nl.fd, buf), -1, 'the truncated message was consumed');
});

// ---- watchers ----------------------------------------------------------------------------------------------

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
