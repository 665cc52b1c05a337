import test from 'ava';
import { PacketBatch } from '../../src/conn/batch.js';
import { Endpoint } from '../../src/conn/endpoint.js';
import { DgramBind } from '../../src/conn/dgram-bind.js';

const COUNT = 16;
const WAIT_MS = 5_000;

test('two dgram binds on loopback exchange a batch with correct sources; setMark is refused', async (t) => {
  const a = new DgramBind({ address4: '127.0.0.1', address6: '::1' });
  const b = new DgramBind({ address4: '127.0.0.1', address6: '::1' });
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  await a.open(0);
  const bPort = await b.open(0);
  const got: Array<{ from: string; seq: number }> = [];
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`received ${got.length} of ${COUNT}`)), WAIT_MS);
    b.start((batch) => {
      for (let i = 0; i < batch.count; i++) got.push({ from: Endpoint.fromSlot(batch.addrs!, i * 24).toString(), seq: batch.view(i)[0]! });
      if (got.length === COUNT) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const batch = new PacketBatch(COUNT, 64, { addrs: true });
  const dests = [Endpoint.fromString(`127.0.0.1:${bPort}`), Endpoint.fromString(`[::1]:${bPort}`)];
  for (let i = 0; i < COUNT; i++) batch.push(Uint8Array.of(i, 1, 2), 0, 3, dests[i % 2]!.slot);
  a.send(batch);
  batch.buf.fill(0xee); // the bind must not depend on the caller's buffer after send returns
  await done;
  t.deepEqual(got.filter((g) => g.from === `127.0.0.1:${a.port}`).map((g) => g.seq), [0, 2, 4, 6, 8, 10, 12, 14]);
  t.deepEqual(got.filter((g) => g.from === `[::1]:${a.port}`).map((g) => g.seq), [1, 3, 5, 7, 9, 11, 13, 15]);
  t.throws(() => a.setMark(1), { message: /not supported by the node:dgram bind/ });
  t.notThrows(() => a.setMark(0));
});
