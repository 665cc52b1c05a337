import test from 'ava';
import { PacketBatch } from '../../src/packet/batch.js';
import { Endpoint } from '../../src/net/endpoint.js';
import { MemoryNetwork, type MemoryBind } from '../../src/conn/memory-bind.js';
import { ADDR_SLOT, writeLocalSlot } from '../../src/net/addr-slot.js';
import { parseIp } from '../../src/net/ip.js';
import { sendDatagram } from '../helpers/bind.js';

interface Received {
  from: string;
  data: number[];
}

/** Collects what a bind receives, with the batch sizes seen. */
function collect(bind: MemoryBind): { got: Received[]; batches: number[] } {
  const got: Received[] = [];
  const batches: number[] = [];
  bind.start((batch) => {
    batches.push(batch.count);
    for (let i = 0; i < batch.count; i++) {
      got.push({ from: Endpoint.fromSlot(batch.addrs!, i * 24).toString(), data: [...batch.view(i)] });
    }
  });
  return { got, batches };
}

function batchTo(to: Endpoint, payloads: number[][]): PacketBatch {
  const b = new PacketBatch(payloads.length, 64, { addrs: true });
  for (const p of payloads) b.push(Uint8Array.from(p), 0, p.length, to.slot);
  return b;
}

async function pair(batchSize = 32) {
  const net = new MemoryNetwork();
  const a = net.createBind('192.0.2.1', { batchSize });
  const b = net.createBind(['192.0.2.2', '2001:db8::2'], { batchSize });
  await a.open(51820);
  await b.open(0);
  return { net, a, b };
}

test('a bind pair delivers batches both ways with the right sources', async (t) => {
  const { net, a, b } = await pair();
  const atA = collect(a);
  const atB = collect(b);
  const payloads = Array.from({ length: 10 }, (_, i) => [i, i + 1]);
  a.send(batchTo(b.endpoint(4), payloads));
  b.send(batchTo(a.endpoint(4), [[42]]));
  t.is(atB.got.length, 0, 'delivery is asynchronous');
  await net.settle();
  t.deepEqual(atB.got.map((r) => r.data), payloads);
  t.true(atB.got.every((r) => r.from === '192.0.2.1:51820'));
  t.deepEqual(atB.batches, [10], 'one batch for one send');
  t.deepEqual(atA.got, [{ from: `192.0.2.2:${b.port}`, data: [42] }]);
  t.is(a.stats.sent, 10);
  t.is(b.stats.received, 10);
  await a.close();
  await b.close();
});

test('batches are capped at the receiver batch size', async (t) => {
  const { net, a, b } = await pair(4);
  const atB = collect(b);
  a.send(batchTo(b.endpoint(4), Array.from({ length: 10 }, (_, i) => [i])));
  await net.settle();
  t.deepEqual(atB.batches, [4, 4, 2]);
  t.deepEqual(atB.got.map((r) => r.data[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('roaming: a new source address shows up at the receiver, the old one is gone', async (t) => {
  const { net, a, b } = await pair();
  const atB = collect(b);
  const atA = collect(a);
  a.send(batchTo(b.endpoint(4), [[1]]));
  await net.settle();
  a.setAddresses('198.51.100.7');
  a.send(batchTo(b.endpoint(4), [[2]]));
  b.send(batchTo(Endpoint.fromString('192.0.2.1:51820'), [[3]])); // the old address
  await net.settle();
  t.deepEqual(atB.got.map((r) => r.from), ['192.0.2.1:51820', '198.51.100.7:51820']);
  t.is(atA.got.length, 0);
  t.is(net.stats.undeliverable, 1);
  b.send(batchTo(a.endpoint(4), [[4]]));
  await net.settle();
  t.deepEqual(atA.got.map((r) => r.data), [[4]]);
});

test('faults on demand: drop, duplicate, reorder, filter', async (t) => {
  const { net, a, b } = await pair();
  const atB = collect(b);
  net.dropNext(2);
  a.send(batchTo(b.endpoint(4), [[1], [2], [3]]));
  await net.settle();
  t.deepEqual(atB.got.map((r) => r.data[0]), [3]);
  net.duplicateNext();
  a.send(batchTo(b.endpoint(4), [[4], [5]]));
  await net.settle();
  t.deepEqual(atB.got.map((r) => r.data[0]), [3, 4, 4, 5]);
  net.reorderNext(3);
  a.send(batchTo(b.endpoint(4), [[6], [7], [8], [9]]));
  await net.settle();
  t.deepEqual(atB.got.map((r) => r.data[0]).slice(4), [8, 7, 6, 9]);
  net.filter = (_from, _to, data) => data[0] !== 10;
  a.send(batchTo(b.endpoint(4), [[10], [11]]));
  await net.settle();
  t.deepEqual(atB.got.map((r) => r.data[0]).slice(8), [11]);
  t.is(net.stats.dropped, 3);
});

test('IPv6 destinations, unsupported families and closed binds', async (t) => {
  const { net, a, b } = await pair();
  const c = net.createBind('2001:db8::3');
  await c.open(0);
  const atB = collect(b);
  c.send(batchTo(b.endpoint(6), [[6]]));
  a.send(batchTo(b.endpoint(6), [[7]])); // a has no IPv6 address
  await net.settle();
  t.deepEqual(atB.got, [{ from: `[2001:db8::3]:${c.port}`, data: [6] }]);
  t.is(a.stats.sendDropped, 1);
  await b.close();
  c.send(batchTo(b.endpoint(6), [[8]]));
  await net.settle();
  t.is(atB.got.length, 1, 'nothing after close');
});

test('ports: explicit port conflicts are refused, port 0 picks distinct ports', async (t) => {
  const net = new MemoryNetwork();
  const x = net.createBind('192.0.2.1');
  const y = net.createBind('192.0.2.1');
  await x.open(1000);
  await t.throwsAsync(y.open(1000), { message: /EADDRINUSE/ });
  const p = await y.open(0);
  t.not(p, 1000);
  t.throws(() => net.createBind('not-an-ip'), { message: /invalid IP address/ });
});

test('a batch of one reaches the peer, from its offset', async (t) => {
  const { net, a, b } = await pair();
  const atB = collect(b);
  sendDatagram(a, Uint8Array.of(0, 1, 2, 3), b.endpoint(4), 1, 2);
  await net.settle();
  t.deepEqual(atB.got.map((r) => r.data), [[1, 2]]);
});

test('several addresses: datagrams report the one they were sent to; local slots pick the source, a foreign one is refused', async (t) => {
  const net = new MemoryNetwork();
  const a = net.createBind('192.0.2.1');
  const b = net.createBind(['192.0.2.2', '192.0.2.3'], { ifIndex: 5 });
  t.throws(() => net.createBind(['192.0.2.4', '192.0.2.4']), { message: /given twice/ });
  await a.open(0);
  await b.open(0);
  const locals: Array<{ address: string; ifIndex: number }> = [];
  b.start((batch) => {
    for (let i = 0; i < batch.count; i++) {
      const ep = Endpoint.fromSlot(batch.addrs!, i * ADDR_SLOT, batch.locals, i * ADDR_SLOT);
      locals.push({ address: ep.localIp ? [...ep.localIp.bytes].join('.') : '-', ifIndex: ep.localIfIndex });
    }
  });
  const atA = collect(a);
  a.send(batchTo(b.endpoint(4, 1), [[1]]));
  a.send(batchTo(b.endpoint(4, 0), [[2]]));
  await net.settle();
  t.deepEqual(locals, [{ address: '192.0.2.3', ifIndex: 5 }, { address: '192.0.2.2', ifIndex: 5 }]);

  // b → a: no source, from .3, from a foreign address (refused: sent from the first address, slot cleared, counted).
  const out = new PacketBatch(3, 16, { addrs: true, locals: true });
  for (const [i, source] of [undefined, '192.0.2.3', '198.51.100.1'].entries()) {
    out.push(Uint8Array.of(10 + i), 0, 1, a.endpoint(4).slot);
    if (source !== undefined) writeLocalSlot(out.locals!, i * ADDR_SLOT, 4, parseIp(source)!.bytes);
  }
  t.is(b.send(out), 1);
  t.deepEqual([out.locals![0], out.locals![ADDR_SLOT], out.locals![2 * ADDR_SLOT]], [0, 4, 0]);
  t.is(b.stats.sourceRefused, 1);
  await net.settle();
  t.deepEqual(atA.got.map((r) => r.from), [`192.0.2.2:${b.port}`, `192.0.2.3:${b.port}`, `192.0.2.2:${b.port}`]);
});
