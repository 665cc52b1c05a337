import test from 'ava';
import { PacketBatch } from '../../src/packet/batch.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { buildIcmpEcho, parseIpPacket } from '../helpers/packets.js';

test('round trip: injected packets arrive in batches, written packets are readable', async (t) => {
  const tun = new MemoryTun({ name: 'mem7', batchSize: 4, headroom: 16 });
  t.is(tun.name, 'mem7');
  t.is(tun.mtu(), 1420);
  const seen: number[] = [];
  const batches: number[] = [];
  const echo = new PacketBatch(8, 2048);
  // A tiny "device": answer every echo request with a reply, written back in one batch per read batch.
  tun.start((batch) => {
    batches.push(batch.count);
    echo.reset();
    for (let i = 0; i < batch.count; i++) {
      t.is(batch.offsets[i]! % batch.slotSize, 16, 'headroom before each packet');
      const p = parseIpPacket(batch.view(i))!;
      const seq = (p.body[6]! << 8) | p.body[7]!;
      seen.push(seq);
      echo.push(buildIcmpEcho({ src: p.dst, dst: p.src, id: 1, seq, reply: true }));
    }
    tun.write(echo);
  });
  const requests = Array.from({ length: 6 }, (_, seq) => buildIcmpEcho({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq }));
  tun.inject(requests);
  const replies = [];
  for (let i = 0; i < 6; i++) replies.push(parseIpPacket(await tun.nextWritten())!);
  t.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  t.deepEqual(batches, [4, 2]);
  t.true(replies.every((r) => r.src === '10.0.0.2' && r.dst === '10.0.0.1' && r.body[0] === 0));
  t.deepEqual(replies.map((r) => r.body[7]), [0, 1, 2, 3, 4, 5]);
  t.is(tun.stats.read, 6);
  t.is(tun.stats.written, 6);
  t.deepEqual(tun.takeWritten(), []);
});

test('remove() emits closed once; writes after it are dropped and counted', async (t) => {
  const tun = new MemoryTun();
  const reasons: string[] = [];
  tun.on('closed', (r) => reasons.push(r));
  tun.start(() => undefined);
  tun.remove();
  await tun.close();
  t.deepEqual(reasons, ['device removed']);
  const b = new PacketBatch(1, 64);
  b.push(Uint8Array.of(0x45));
  tun.write(b);
  t.is(tun.stats.writeDropped, 1);
  t.throws(() => tun.inject(Uint8Array.of(0x45)), { message: /closed/ });
  await t.throwsAsync(tun.nextWritten(10), { message: /nothing written/ });
});
