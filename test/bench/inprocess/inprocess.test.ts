/**
 * The in-process bench's fakes and report: PipeBind delivers on a later turn with the sender's address and reuses
 * its batches; PumpTun hands out its packets and counts writes; a short run carries every packet intact. No timing
 * is asserted.
 */
import test from 'ava';
import { ADDR_SLOT } from '../../../src/net/addr-slot.js';
import { PacketBatch } from '../../../src/packet/batch.js';
import { Endpoint } from '../../../src/net/endpoint.js';
import { parseIpPacket } from '../../helpers/packets.js';
import { benchPacket, formatInprocess, PipeBind, PumpTun, runDirection, type InprocessReport } from '../../../bench/inprocess/inprocess.js';

const turn = () => new Promise<void>((r) => setImmediate(r));

test('PipeBind: datagrams reach the other end on a later turn, stamped with the sender address, in order', async (t) => {
  const [a, b] = PipeBind.pair('192.0.2.1:51820', '192.0.2.2:51821', 4, 64);
  const got: Array<{ data: number[]; from: string }> = [];
  b.start((batch) => {
    for (let i = 0; i < batch.count; i++) got.push({ data: [...batch.view(i)], from: Endpoint.fromSlot(batch.addrs!, i * ADDR_SLOT).toString() });
  });
  a.start(() => t.fail('nothing goes b → a'));
  const out = new PacketBatch(8, 16, { addrs: true });
  for (let i = 0; i < 6; i++) out.push(Uint8Array.of(i, i + 1), 0, 2, Endpoint.fromString('198.51.100.9:1').slot);
  a.send(out);
  t.is(got.length, 0, 'not delivered from inside send');
  await turn();
  t.deepEqual(got.map((g) => g.data[0]), [0, 1, 2, 3, 4, 5]);
  t.true(got.every((g) => g.from === '192.0.2.1:51820'));
  t.is(a.stats.sent, 6);
  t.is(b.stats.received, 6);
  t.is(await a.open(), 51820);
});

test('PipeBind drops what does not fit a slot or has no receiver, and counts it', async (t) => {
  const [a, b] = PipeBind.pair('192.0.2.1:1', '192.0.2.2:2', 4, 8);
  a.sendOne(new Uint8Array(4), 0, 4);
  t.is(a.stats.sendDropped, 1, 'b has not started');
  b.start(() => {});
  a.sendOne(new Uint8Array(9), 0, 9);
  t.is(a.stats.sendDropped, 2, 'longer than a slot');
  a.sendOne(new Uint8Array(8), 0, 8);
  await turn();
  t.is(b.stats.received, 1);
});

test('PumpTun: pump hands the device its packets; writes are counted and the first kept', (t) => {
  const packet = benchPacket('a', 100);
  const tun = new PumpTun('a', packet, 8);
  const seen: number[] = [];
  tun.start((batch) => {
    seen.push(batch.count);
    t.deepEqual(batch.view(batch.count - 1), packet);
  });
  tun.pump(3);
  tun.pump(20);
  t.deepEqual(seen, [3, 8]);
  t.is(tun.stats.read, 11);
  const w = new PacketBatch(2, 128);
  w.push(packet);
  w.push(packet.subarray(0, 50));
  tun.write(w);
  t.is(tun.written, 2);
  t.is(tun.writtenBytes, 150);
  t.deepEqual(tun.firstWritten, packet);
  t.throws(() => new PumpTun('b', packet).pump(1), { message: /pump before start/ });
});

test('benchPacket: an IPv4 UDP packet of exactly the size asked, a to b', (t) => {
  const p = benchPacket('a', 1420);
  t.is(p.length, 1420);
  const parsed = parseIpPacket(p)!;
  t.is(parsed.src, '10.0.0.1');
  t.is(parsed.dst, '10.0.0.2');
  t.is(parseIpPacket(benchPacket('b', 28))!.dst, '10.0.0.1');
  t.throws(() => benchPacket('a', 27), { message: /≥ 28/ });
});

test('a short run carries every packet both ways through two real devices, over either bind', async (t) => {
  for (const bind of ['pipe', 'memory'] as const) {
    for (const direction of ['a-b', 'b-a'] as const) {
      const r = await runDirection(direction, 1, 500, 200, bind);
      t.is(r.packets, 500);
      t.is(r.bind, bind);
      t.is(r.direction, direction);
    }
  }
});

test('formatInprocess: one row per run; thread counts the device did not read are flagged', (t) => {
  const base = { bind: 'pipe' as const, packets: 1000, size: 1420, seconds: 0.5, packetsPerSecond: 2000, gbitPerSecond: 0.02272, cpuSeconds: 0.5, percentCore: 100 };
  const report: InprocessReport = {
    date: '2026-01-31T12:00:00.000Z', host: { cpus: 2, cpuModel: 'AMD EPYC', kernel: '6.18', node: 'v20' },
    runs: [
      { ...base, direction: 'a-b', threads: 1, threadsRead: false },
      { ...base, direction: 'a-b', threads: 2, threadsRead: false },
      { ...base, direction: 'b-a', threads: 4, threadsRead: true },
    ],
  };
  const text = formatInprocess(report);
  t.regex(text, /^direction\s+bind\s+threads\s+packets\s+bytes\s+seconds\s+kpps\s+Gbit\/s\s+CPU %core$/m);
  t.regex(text, /^a-b\s+pipe\s+1\s+1000\s+1420\s+0\.500\s+2\.0\s+0\.023\s+100$/m);
  t.regex(text, /^a-b\s+pipe\s+2 \(not read\)\s+1000/m);
  t.regex(text, /^b-a\s+pipe\s+4\s+1000/m);
  t.regex(text, /ran on one thread/);
});
