/** The handshake queue: bounded, FIFO within a source network, round robin between networks. */
import test from 'ava';
import { HandshakeQueue } from '../../src/device/handshake-queue.js';
import { Endpoint } from '../../src/net/endpoint.js';

const msg = (tag: number) => Uint8Array.of(1, 0, 0, 0, tag);
const drain = (q: HandshakeQueue) => {
  const out: string[] = [];
  for (let m = q.take(); m !== undefined; m = q.take()) out.push(`${m.source.toString()}#${m.buf[m.off + 4]}`);
  return out;
};

test('within a network messages keep their order; networks take turns', (t) => {
  const q = new HandshakeQueue(64, 8, 16);
  const a = Endpoint.fromString('192.0.2.1:1'); // 192.0.2.0/24
  const a2 = Endpoint.fromString('192.0.2.77:9'); // same /24 as a: one network
  const b = Endpoint.fromString('198.51.100.1:1');
  const c = Endpoint.fromString('[2001:db8:1::1]:1');
  for (let i = 0; i < 3; i++) t.true(q.offer(msg(i), 0, 5, i === 1 ? a2 : a));
  t.true(q.offer(msg(10), 0, 5, b));
  t.true(q.offer(msg(20), 0, 5, c));
  t.true(q.offer(msg(21), 0, 5, c));
  t.is(q.size, 6);
  t.deepEqual(drain(q), [
    '192.0.2.1:1#0', '198.51.100.1:1#10', '[2001:db8:1::1]:1#20', '192.0.2.77:9#1', '[2001:db8:1::1]:1#21', '192.0.2.1:1#2',
  ]);
  t.is(q.size, 0);
});

test('a network gets its share, the queue its capacity, the table its networks; the rest is shed', (t) => {
  const q = new HandshakeQueue(10, 4, 3);
  const flood = Endpoint.fromString('203.0.113.9:4444');
  let admitted = 0;
  for (let i = 0; i < 100; i++) if (q.offer(msg(i), 0, 5, flood)) admitted++;
  t.is(admitted, 4, 'one network holds at most its share');
  t.true(q.offer(msg(1), 0, 5, Endpoint.fromString('192.0.2.1:1')));
  t.true(q.offer(msg(2), 0, 5, Endpoint.fromString('198.51.100.1:1')));
  t.false(q.offer(msg(3), 0, 5, Endpoint.fromString('[2001:db8::1]:1')), 'a fourth network has no room');
  t.false(q.offer(new Uint8Array(200), 0, 200, Endpoint.fromString('192.0.2.1:1')), 'longer than any handshake');
  t.is(q.size, 6);
  // The legitimate networks are served after one message of the flood, not after all of it.
  t.deepEqual(drain(q).slice(0, 3).map((s) => s.split('#')[0]), ['203.0.113.9:4444', '192.0.2.1:1', '198.51.100.1:1']);
});

test('a queue emptied and refilled many times keeps its bounds (no growth)', (t) => {
  const q = new HandshakeQueue(8, 2, 4);
  for (let round = 0; round < 1000; round++) {
    for (let i = 0; i < 20; i++) q.offer(msg(i), 0, 5, Endpoint.fromString(`10.${round % 7}.${i % 5}.1:1`));
    t.true(q.size <= 8);
    drain(q);
  }
  t.is(q.size, 0);
});
