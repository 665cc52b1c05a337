/**
 * NativeBind over loopback (root: SO_MARK and the FORCE buffer options need CAP_NET_ADMIN). Skipped, with a
 * logged reason, when the addon is not built or we are not root.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeLocalSlot } from '../../src/net/addr-slot.js';
import { PacketBatch } from '../../src/packet/batch.js';
import { Endpoint } from '../../src/net/endpoint.js';
import { NativeBind } from '../../src/conn/native-bind.js';
import { nativeUdp } from '../../src/native/udp.js';
import { sendDatagram } from '../helpers/bind.js';
import { skipReason, testWhen } from '../helpers/skip.js';
import { until } from '../helpers/wait.js';

const why = skipReason({ root: true, addon: true });
const nativeTest = testWhen(why);

const BATCH = 64;
const WAIT_MS = 5_000;

interface Got {
  from: string;
  seq: number;
  length: number;
}

/** Starts the bind and resolves once `want` datagrams have arrived (rejects after WAIT_MS). */
function receiveN(bind: NativeBind, want: number, batches: number[] = []): Promise<Got[]> {
  const got: Got[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`received ${got.length} of ${want} datagrams`)), WAIT_MS);
    bind.start((batch) => {
      batches.push(batch.count);
      for (let i = 0; i < batch.count; i++) {
        const v = batch.view(i);
        got.push({ from: Endpoint.fromSlot(batch.addrs!, i * 24).toString(), seq: (v[0]! << 8) | v[1]!, length: v.length });
      }
      if (got.length >= want) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

function batchOf(dests: Endpoint[], count: number, size = 100): PacketBatch {
  const b = new PacketBatch(count, 2048, { addrs: true });
  const payload = new Uint8Array(size);
  for (let i = 0; i < count; i++) {
    payload[0] = i >> 8;
    payload[1] = i & 0xff;
    payload.fill(i & 0xff, 2);
    b.push(payload, 0, size, dests[i % dests.length]!.slot);
  }
  return b;
}

async function openPair(t: { teardown(fn: () => Promise<void>): void }): Promise<[NativeBind, NativeBind]> {
  const a = new NativeBind({ address4: '127.0.0.1', address6: '::1', batchSize: BATCH });
  const b = new NativeBind({ address4: '127.0.0.1', address6: '::1', batchSize: BATCH });
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  await a.open(0);
  await b.open(0);
  return [a, b];
}

nativeTest('port 0 gets one port for both families, and a batch of 64 arrives with the right source', async (t) => {
  const [a, b] = await openPair(t);
  t.is(a.fds.length, 2, 'IPv4 and IPv6 sockets');
  t.true(a.port > 0 && a.port !== b.port);
  const batches: number[] = [];
  const arriving = receiveN(b, BATCH, batches);
  a.send(batchOf([Endpoint.fromString(`127.0.0.1:${b.port}`)], BATCH));
  const got = await arriving;
  t.deepEqual(got.map((g) => g.seq), Array.from({ length: BATCH }, (_, i) => i));
  t.true(got.every((g) => g.from === `127.0.0.1:${a.port}` && g.length === 100));
  t.true(batches.some((n) => n > 1), `recvmmsg returned more than one datagram at a time: ${batches.join(',')}`);
  t.is(a.stats.sent, BATCH);
  t.is(a.stats.sendDropped, 0);
  t.is(b.stats.received, BATCH);
});

nativeTest('a mixed IPv4/IPv6 batch is split by family and answered back', async (t) => {
  const [a, b] = await openPair(t);
  const arriving = receiveN(b, BATCH);
  const dests = [Endpoint.fromString(`127.0.0.1:${b.port}`), Endpoint.fromString(`[::1]:${b.port}`)];
  a.send(batchOf(dests, BATCH));
  const got = await arriving;
  const v4 = got.filter((g) => g.from === `127.0.0.1:${a.port}`).map((g) => g.seq);
  const v6 = got.filter((g) => g.from === `[::1]:${a.port}`).map((g) => g.seq);
  t.deepEqual(v4, Array.from({ length: BATCH / 2 }, (_, i) => 2 * i));
  t.deepEqual(v6, Array.from({ length: BATCH / 2 }, (_, i) => 2 * i + 1));
  const back = receiveN(a, 1);
  sendDatagram(b, Uint8Array.of(0, 7, 9), Endpoint.fromString(`[::1]:${a.port}`));
  t.deepEqual(await back, [{ from: `[::1]:${b.port}`, seq: 7, length: 3 }]);
});

nativeTest('datagrams longer than a slot are dropped and counted, the next ones still arrive', async (t) => {
  const a = new NativeBind({ address4: '127.0.0.1', ipv6: false });
  const b = new NativeBind({ address4: '127.0.0.1', ipv6: false, slotSize: 64 });
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  await a.open(0);
  await b.open(0);
  const arriving = receiveN(b, 1);
  const to = [Endpoint.fromString(`127.0.0.1:${b.port}`)];
  a.send(batchOf(to, 1, 200));
  a.send(batchOf(to, 1, 10));
  const got = await arriving;
  t.deepEqual(got.map((g) => g.length), [10]);
  t.is(b.stats.receiveDropped, 1);
  // IPv6 was not opened: an IPv6 destination is dropped and counted, not thrown.
  a.send(batchOf([Endpoint.fromString('[::1]:9')], 1));
  t.is(a.stats.sendDropped, 1);
});

nativeTest('setMark sets SO_MARK on every socket (read back with getsockopt), before or after open', async (t) => {
  const n = nativeUdp();
  const { SOL_SOCKET, SO_MARK } = n.constants;
  const a = new NativeBind({ address4: '127.0.0.1', address6: '::1' });
  t.teardown(() => a.close());
  a.setMark(0x51);
  await a.open(0);
  t.deepEqual(a.fds.map((fd) => n.getsockoptInt(fd, SOL_SOCKET, SO_MARK)), [0x51, 0x51]);
  a.setMark(0xca6c);
  t.deepEqual(a.fds.map((fd) => n.getsockoptInt(fd, SOL_SOCKET, SO_MARK)), [0xca6c, 0xca6c]);
  // SO_MARK is a u32: marks with the top bit set read back as a negative int, the same 32 bits.
  for (const mark of [0x80000000, 0xffffffff]) {
    a.setMark(mark);
    t.deepEqual(a.fds.map((fd) => n.getsockoptInt(fd, SOL_SOCKET, SO_MARK) >>> 0), [mark, mark]);
  }
  t.throws(() => a.setMark(-1), { instanceOf: RangeError });
  t.throws(() => a.setMark(2 ** 32), { instanceOf: RangeError });
});

nativeTest('an explicit port that is taken fails clearly; close releases the sockets', async (t) => {
  const n = nativeUdp();
  const a = new NativeBind({ address4: '127.0.0.1', address6: '::1' });
  t.teardown(() => a.close());
  const port = await a.open(0);
  const b = new NativeBind({ address4: '127.0.0.1', address6: '::1' });
  await t.throwsAsync(b.open(port), { message: new RegExp(`cannot open UDP port ${port}.*EADDRINUSE`) });
  const fds = a.fds;
  await a.close();
  await a.close();
  for (const fd of fds) t.throws(() => n.getsockoptInt(fd, n.constants.SOL_SOCKET, n.constants.SO_MARK), { message: /EBADF/ });
  // The port is free again.
  t.is(await b.open(port), port);
  await b.close();
});

nativeTest('sticky source: received batches carry the local address; a send batch leaves from its sources, a foreign one is refused and cleared', async (t) => {
  // A namespace of our own with a second address on its loopback device.
  const ns = `tv-bindsrc-${process.pid}-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.teardown(() => execFileSync('ip', ['netns', 'del', ns]));
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  execFileSync('ip', ['-n', ns, 'addr', 'add', '10.231.8.3/32', 'dev', 'lo']);
  const netnsPath = `/run/netns/${ns}`;
  const a = new NativeBind({ netnsPath, batchSize: BATCH });
  const b = new NativeBind({ netnsPath, batchSize: BATCH });
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  await a.open(0);
  await b.open(0);
  t.deepEqual(b.pktinfo, [{ family: 4, pktinfo: true }, { family: 6, pktinfo: true }]);
  const lo = nativeUdp().withNetns(netnsPath, () => nativeUdp().ifNameToIndex('lo'));

  const locals: string[] = [];
  b.start((batch) => {
    for (let i = 0; i < batch.count; i++) {
      const ep = Endpoint.fromSlot(batch.addrs!, i * 24, batch.locals, i * 24);
      locals.push(`${ep.localIp ? [...ep.localIp.bytes].join('.') : '-'}%${ep.localIfIndex}`);
    }
  });
  sendDatagram(a, Uint8Array.of(1), Endpoint.fromString(`10.231.8.3:${b.port}`));
  sendDatagram(a, Uint8Array.of(2), Endpoint.fromString(`127.0.0.1:${b.port}`));
  await until(() => locals.length === 2);
  t.deepEqual(locals, [`10.231.8.3%${lo}`, `127.0.0.1%${lo}`]);

  // b → a, mixed families (the split path): 3 from 10.231.8.3, 1 over IPv6, 1 from an address nobody has.
  const atA = receiveN(a, 5);
  const toA4 = Endpoint.fromString(`127.0.0.1:${a.port}`);
  const out = new PacketBatch(5, 2048, { addrs: true, locals: true });
  const source = new Uint8Array(24);
  const foreign = new Uint8Array(24);
  writeLocalSlot(source, 0, 4, Uint8Array.of(10, 231, 8, 3));
  writeLocalSlot(foreign, 0, 4, Uint8Array.of(10, 231, 8, 99));
  for (let i = 0; i < 5; i++) {
    const payload = new Uint8Array(100);
    payload[1] = i;
    const k = out.push(payload, 0, 100, i === 3 ? Endpoint.fromString(`[::1]:${a.port}`).slot : toA4.slot);
    out.setLocal(k, i < 3 ? source : i === 4 ? foreign : undefined);
  }
  t.is(b.send(out), 1, 'one source refused');
  t.is(b.stats.sourceRefused, 1);
  t.deepEqual([0, 1, 2, 3, 4].map((i) => out.locals![i * 24]), [4, 4, 4, 0, 0], 'the refused slot is cleared in the caller\'s batch');
  const got = await atA;
  t.deepEqual(got.sort((x, y) => x.seq - y.seq).map((g) => g.from), [
    `10.231.8.3:${b.port}`, `10.231.8.3:${b.port}`, `10.231.8.3:${b.port}`, `[::1]:${b.port}`, `127.0.0.1:${b.port}`,
  ]);
});
