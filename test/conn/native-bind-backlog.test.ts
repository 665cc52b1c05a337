/**
 * NativeBind's EAGAIN handling against a scripted fake addon (no root, no sockets): the kernel takes only what
 * the script allows, the rest waits in the backlog in order until POLL_WRITABLE, and overflow is counted.
 */
import test from 'ava';
import { pino, type Logger } from 'pino';
import { PacketBatch } from '../../src/packet/batch.js';
import { Endpoint } from '../../src/net/endpoint.js';
import { NativeBind } from '../../src/conn/native-bind.js';
import type { NativeUdp } from '../../src/native/udp.js';

const READABLE = 1;
const WRITABLE = 2;

/** A fake kernel: sendmmsg accepts up to `room` datagrams, recording payload byte 0 and the destination port. */
function fakeAddon() {
  const state = {
    room: Infinity,
    sent: [] as Array<{ fd: number; seq: number; port: number }>,
    watchers: new Map<number, { events: number; cb: (e: number) => void }>(),
  };
  let nextFd = 10;
  const addon = {
    constants: { POLL_READABLE: READABLE, POLL_WRITABLE: WRITABLE, SOL_SOCKET: 1, SO_MARK: 36, SO_RCVBUF: 8, SO_SNDBUF: 7, SO_RCVBUFFORCE: 33, SO_SNDBUFFORCE: 32 },
    udpOpen: (_f: number, _a: string, port: number) => ({ fd: nextFd++, port: port || 40000 }),
    setsockoptInt: () => undefined,
    close: () => undefined,
    watch: (fd: number, cb: (e: number) => void) => {
      const w = { events: 0, cb };
      state.watchers.set(fd, w);
      return { start: (e: number) => (w.events = e), stop: () => (w.events = 0), close: () => state.watchers.delete(fd) };
    },
    recvmmsg: () => 0,
    sendmmsg: (fd: number, buf: Uint8Array, offsets: Int32Array, _l: Int32Array, addrs: Uint8Array, count: number) => {
      const n = Math.min(count, state.room);
      state.room -= n;
      for (let i = 0; i < n; i++) state.sent.push({ fd, seq: buf[offsets[i]!]!, port: (addrs[i * 24 + 2]! << 8) | addrs[i * 24 + 3]! });
      return n;
    },
  };
  return { addon: addon as unknown as NativeUdp, state };
}

function batch(from: number, count: number, to: Endpoint[]): PacketBatch {
  const b = new PacketBatch(count, 32, { addrs: true });
  for (let i = 0; i < count; i++) b.push(Uint8Array.of(from + i), 0, 1, to[i % to.length]!.slot);
  return b;
}

test('EAGAIN: the rest is kept in order, later sends queue behind it, overflow is dropped and counted', async (t) => {
  const { addon, state } = fakeAddon();
  const bind = new NativeBind({ addon, batchSize: 4, backlog: 6 });
  await bind.open(0);
  bind.start(() => undefined);
  const [fd4, fd6] = bind.fds as [number, number];
  const v4 = Endpoint.fromString('192.0.2.1:7');
  state.room = 3;
  bind.send(batch(0, 5, [v4]));
  t.deepEqual(state.sent.map((s) => s.seq), [0, 1, 2]);
  t.is(state.watchers.get(fd4)!.events, READABLE | WRITABLE, 'waits for writability');
  t.is(state.watchers.get(fd6)!.events, READABLE);
  state.room = Infinity;
  bind.send(batch(5, 6, [v4])); // 2 queued + 6 new > 6: the last two overflow
  t.deepEqual(state.sent.map((s) => s.seq), [0, 1, 2], 'nothing jumps the queue');
  t.is(bind.stats.sendDropped, 2);
  state.watchers.get(fd4)!.cb(WRITABLE);
  t.deepEqual(state.sent.map((s) => s.seq), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  t.is(state.watchers.get(fd4)!.events, READABLE, 'back to readable only');
  t.is(bind.stats.sent, 9);
  await bind.close();
});

test('a mixed batch goes to each family socket with its own destinations', async (t) => {
  const { addon, state } = fakeAddon();
  const bind = new NativeBind({ addon, batchSize: 2 });
  await bind.open(0);
  const [fd4, fd6] = bind.fds as [number, number];
  const v4 = Endpoint.fromString('192.0.2.1:4');
  const v6 = Endpoint.fromString('[2001:db8::1]:6');
  bind.send(batch(0, 7, [v4, v6, v6])); // more than the per-socket scratch of 2: flushed in chunks
  const to4 = state.sent.filter((s) => s.fd === fd4);
  const to6 = state.sent.filter((s) => s.fd === fd6);
  t.deepEqual(to4.map((s) => s.seq), [0, 3, 6]);
  t.true(to4.every((s) => s.port === 4));
  t.deepEqual(to6.map((s) => s.seq), [1, 2, 4, 5]);
  t.true(to6.every((s) => s.port === 6));
  await bind.close();
});

/** A fake addon whose setsockoptInt records its arguments, or throws an errno error like the addon's. */
function markAddon(fail?: { code: string; errno: number }) {
  const { addon } = fakeAddon();
  const calls: Array<[number, number, number, number]> = [];
  const setsockoptInt = (fd: number, level: number, name: number, value: number) => {
    if (value < -(2 ** 31) || value > 2 ** 31 - 1) throw new RangeError(`value must be an int32, got ${value}`);
    if (fail && name === addon.constants.SO_MARK) {
      throw Object.assign(new Error(`${fail.code}: setsockopt: (errno ${fail.errno})`), { ...fail, syscall: 'setsockopt' });
    }
    calls.push([fd, level, name, value]);
  };
  return { addon: { ...addon, constants: addon.constants, setsockoptInt } as NativeUdp, calls };
}

test('setMark hands a mark of 2^31 or more to setsockopt as its int32 bit pattern (the kernel keeps the u32)', async (t) => {
  const { addon, calls } = markAddon();
  const bind = new NativeBind({ addon, offload: false });
  await bind.open(0);
  for (const mark of [0x80000000, 2147483648, 0xffffffff, 0x7fffffff, 0x51820]) {
    calls.length = 0;
    bind.setMark(mark);
    const marks = calls.filter((c) => c[2] === addon.constants.SO_MARK).map((c) => c[3] >>> 0);
    t.deepEqual(marks, [mark, mark], `0x${mark.toString(16)} on both sockets`);
  }
  await bind.close();
});

test('a refused fwmark names CAP_NET_ADMIN only when the errno is EPERM', async (t) => {
  const eperm = markAddon({ code: 'EPERM', errno: 1 });
  const a = new NativeBind({ addon: eperm.addon, offload: false });
  await a.open(0);
  t.throws(() => a.setMark(0x80000000), { message: /^cannot set fwmark 0x80000000 on the IPv4 socket \(needs CAP_NET_ADMIN\): EPERM/ });
  await a.close();

  const other = markAddon({ code: 'ENOPROTOOPT', errno: 92 });
  const b = new NativeBind({ addon: other.addon, offload: false });
  await b.open(0);
  const e = t.throws(() => b.setMark(0x80000000));
  t.regex(e.message, /^cannot set fwmark 0x80000000 on the IPv4 socket: ENOPROTOOPT/);
  t.notRegex(e.message, /CAP_NET_ADMIN/);
  await b.close();
});

/** A debug-level pino logger whose JSON lines are kept as objects. */
function recordingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug', base: undefined, timestamp: false }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

test('open and close are one info line each, saying it all in the message; the socket features are at debug', async (t) => {
  const { addon } = fakeAddon();
  const { logger, lines } = recordingLogger();
  const bind = new NativeBind({ addon, offload: false, logger });
  await bind.open(0);
  await bind.close();
  const info = lines.filter((l) => l.level === 30);
  t.deepEqual(info, [
    { level: 30, msg: 'UDP port 40000 open (IPv4 and IPv6)' },
    { level: 30, msg: 'UDP port 40000 closed' },
  ]);
  const features = lines.find((l) => l.msg === 'UDP socket features');
  t.like(features, { level: 20, component: 'bind', IPv4: 'pktinfo', IPv6: 'pktinfo' });
});
