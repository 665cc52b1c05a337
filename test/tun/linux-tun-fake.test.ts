/**
 * LinuxTun's error and EAGAIN paths against a scripted fake addon (no root): partial writes wait for
 * POLL_WRITABLE in order, a refused packet is dropped without losing the rest, and EBADFD on read means 'closed'.
 */
import test from 'ava';
import { pino } from 'pino';
import { PacketBatch } from '../../src/packet/batch.js';
import { LinuxTun, type LinuxTunAddon } from '../../src/tun/linux-tun.js';

const READABLE = 1;
const WRITABLE = 2;

function nativeError(code: string): Error {
  return Object.assign(new Error(`${code}: write: fake`), { code, errno: 1, syscall: 'write' });
}

function fakeAddon() {
  const state = {
    room: Infinity,
    refuse: new Set<number>(), // first payload bytes the kernel rejects with EINVAL
    written: [] as number[],
    readError: undefined as string | undefined,
    closedFds: [] as number[],
    watcher: { events: 0, cb: (_e: number) => undefined as void },
  };
  const writeOne = (buf: Uint8Array, off: number): number => {
    if (state.room <= 0) return -1;
    if (state.refuse.has(buf[off]!)) throw nativeError('EINVAL');
    state.room--;
    state.written.push(buf[off]!);
    return 1;
  };
  const addon = {
    constants: { IFF_TUN: 1, IFF_NO_PI: 0x1000, POLL_READABLE: READABLE, POLL_WRITABLE: WRITABLE },
    tunOpen: (name: string) => ({ fd: 5, name: name || 'tun0' }),
    close: (fd: number) => void state.closedFds.push(fd),
    watch: (_fd: number, cb: (e: number) => void) => {
      state.watcher.cb = cb;
      return { start: (e: number) => (state.watcher.events = e), stop: () => undefined, close: () => undefined };
    },
    write: (_fd: number, buf: Uint8Array, off: number) => writeOne(buf, off),
    writeBatch: (_fd: number, buf: Uint8Array, offsets: Int32Array, _l: Int32Array, count: number) => {
      let done = 0;
      for (; done < count; done++) {
        try {
          if (writeOne(buf, offsets[done]!) < 0) break;
        } catch (e) {
          if (done === 0) throw e;
          break;
        }
      }
      return done;
    },
    readBatch: (_fd: number, arena: Uint8Array, slot: number, lengths: Int32Array) => {
      if (state.readError) throw Object.assign(new Error(state.readError), { code: state.readError, errno: 77, syscall: 'read' });
      arena[0] = 0x45;
      arena[slot] = 0x60;
      lengths[0] = 20;
      lengths[1] = 40;
      return 2;
    },
  };
  return { addon: addon as unknown as LinuxTunAddon, state };
}

function packets(...first: number[]): PacketBatch {
  const b = new PacketBatch(first.length, 64);
  for (const f of first) b.push(Uint8Array.of(f, 0, 0));
  return b;
}

test('partial writes queue in order for POLL_WRITABLE; refused packets are dropped, the rest go on', (t) => {
  const { addon, state } = fakeAddon();
  const tun = LinuxTun.open({ name: 'tvfake', addon, mtu: 1400 });
  t.is(tun.mtu(), 1400);
  tun.start(() => undefined);
  state.refuse.add(2);
  tun.write(packets(1, 2, 3));
  t.deepEqual(state.written, [1, 3]);
  t.is(tun.stats.writeDropped, 1);
  state.room = 1;
  tun.write(packets(4, 5, 6));
  t.deepEqual(state.written, [1, 3, 4]);
  t.is(state.watcher.events, READABLE | WRITABLE);
  tun.write(packets(7));
  t.deepEqual(state.written, [1, 3, 4], 'queued behind the backlog');
  state.room = Infinity;
  state.watcher.cb(WRITABLE);
  t.deepEqual(state.written, [1, 3, 4, 5, 6, 7]);
  t.is(state.watcher.events, READABLE);
  t.is(tun.stats.written, 6);
});

test('reads come as one batch; EBADFD on read emits closed once and releases the fd', async (t) => {
  const { addon, state } = fakeAddon();
  const tun = LinuxTun.open({ addon });
  const seen: number[][] = [];
  const reasons: string[] = [];
  tun.on('closed', (r) => reasons.push(r));
  tun.start((b) => seen.push([b.count, b.view(0)[0]!, b.view(1)[0]!]));
  state.watcher.cb(READABLE);
  t.deepEqual(seen, [[2, 0x45, 0x60]]);
  state.readError = 'EBADFD';
  state.watcher.cb(READABLE);
  await tun.close();
  t.is(reasons.length, 1);
  t.regex(reasons[0]!, /EBADFD/);
  t.deepEqual(state.closedFds, [5]);
});

test('a poll error emits closed', (t) => {
  const { addon, state } = fakeAddon();
  const tun = LinuxTun.open({ addon });
  let reason = '';
  tun.on('closed', (r) => (reason = r));
  tun.start(() => undefined);
  state.watcher.cb(-5);
  t.regex(reason, /poll error -5 on the TUN device/);
});

test('EBADF from poll (the device was deleted) is named as such', (t) => {
  const { addon, state } = fakeAddon();
  const tun = LinuxTun.open({ addon });
  let reason = '';
  tun.on('closed', (r) => (reason = r));
  tun.start(() => undefined);
  state.watcher.cb(-9);
  t.regex(reason, /the TUN device \S+ was deleted/);
});

test('open and close are one info line each, saying it all in the message; the offloads are at debug', async (t) => {
  const { addon } = fakeAddon();
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug', base: undefined, timestamp: false }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const tun = LinuxTun.open({ name: 'tvlog', addon, mtu: 1400, logger });
  await tun.close();
  t.deepEqual(lines.filter((l) => l.level === 30), [
    { level: 30, msg: 'TUN device tvlog open' },
    { level: 30, msg: 'TUN device tvlog closed (closed by the device)' },
  ]);
  t.like(lines.find((l) => l.msg === 'TUN device features'), { level: 20, component: 'tun', tun: 'tvlog', fd: 5, offload: 'off' });
});
