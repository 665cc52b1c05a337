/**
 * The native addon against the real kernel (run as root). Every namespace is created with a unique name and
 * removed in t.teardown; traffic goes only to loopback or to addresses inside those namespaces. *
 * This file: constants and argument checking.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ADDR_SLOT } from '../../src/net/addr-slot.js';
import { C, NETNS_DIR, n, oneSlot, throwsNative } from './helpers.js';

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
