/** The handshake queue: bounded, FIFO within a source, round robin between sources, heavier sources make room. */
import test from 'ava';
import { HandshakeQueue } from '../../src/device/handshake-queue.js';
import { Endpoint } from '../../src/net/endpoint.js';

const msg = (tag: number) => Uint8Array.of(1, 0, 0, 0, tag);
const drain = (q: HandshakeQueue) => {
  const out: string[] = [];
  for (let m = q.take(); m !== undefined; m = q.take()) out.push(`${m.source.toString()}#${m.buf[m.off + 4]}`);
  return out;
};

test('within a source messages keep their order; sources take turns', (t) => {
  const q = new HandshakeQueue(64, 8);
  const a = Endpoint.fromString('192.0.2.1:1');
  const a2 = Endpoint.fromString('192.0.2.1:9'); // the same address, another port: the same source
  const b = Endpoint.fromString('192.0.2.2:1'); // the same /24 as a, another source
  const c = Endpoint.fromString('[2001:db8:1::1]:1');
  const c2 = Endpoint.fromString('[2001:db8:1::ffff]:1'); // the same /64 as c
  for (let i = 0; i < 3; i++) t.true(q.offer(msg(i), 0, 5, i === 1 ? a2 : a));
  t.true(q.offer(msg(10), 0, 5, b));
  t.true(q.offer(msg(20), 0, 5, c));
  t.true(q.offer(msg(21), 0, 5, c2));
  t.is(q.size, 6);
  t.is(q.sources, 3);
  t.deepEqual(drain(q), [
    '192.0.2.1:1#0', '192.0.2.2:1#10', '[2001:db8:1::1]:1#20', '192.0.2.1:9#1', '[2001:db8:1::ffff]:1#21', '192.0.2.1:1#2',
  ]);
  t.is(q.size, 0);
  t.is(q.sources, 0);
});

test('a source gets its share; a full queue makes room for a lighter source at a heavier one\'s expense', (t) => {
  const q = new HandshakeQueue(10, 4);
  const flood = ['203.0.113.1:1', '203.0.113.2:1', '203.0.113.3:1'].map((s) => Endpoint.fromString(s));
  let admitted = 0;
  for (let i = 0; i < 100; i++) if (q.offer(msg(i), 0, 5, flood[i % 3]!)) admitted++;
  t.is(q.size, 10, 'full');
  t.true(admitted >= 10);
  // One initiation from a quiet peer still gets in: the oldest message of a flooding source makes way.
  const peer = Endpoint.fromString('192.0.2.7:51820');
  t.true(q.offer(msg(99), 0, 5, peer));
  t.is(q.size, 10);
  // A second from the same peer too (it holds 1, the flooders 3 or 4) ...
  t.true(q.offer(msg(98), 0, 5, peer));
  t.false(q.offer(new Uint8Array(200), 0, 200, peer), 'longer than any handshake');
  const served = drain(q);
  t.deepEqual(served.filter((s) => s.startsWith('192.0.2.7')), ['192.0.2.7:51820#99', '192.0.2.7:51820#98']);
  // ... and it is served within the first round of sources, not after the flood.
  t.true(served.indexOf('192.0.2.7:51820#99') <= 3, served.join(' '));
});

test('a source at its share is shed; when no source is heavier the newcomer is shed', (t) => {
  const q = new HandshakeQueue(4, 2);
  const a = Endpoint.fromString('192.0.2.1:1');
  t.true(q.offer(msg(1), 0, 5, a));
  t.true(q.offer(msg(2), 0, 5, a));
  t.false(q.offer(msg(3), 0, 5, a), 'its share');
  t.is(q.timesFull, 0, 'a source at its share is no full queue');
  t.true(q.offer(msg(4), 0, 5, Endpoint.fromString('192.0.2.2:1')));
  t.true(q.offer(msg(5), 0, 5, Endpoint.fromString('192.0.2.3:1')));
  // Full: a newcomer takes the place of a's oldest (a holds 2, more than the newcomer's 0 + 1) ...
  t.true(q.offer(msg(6), 0, 5, Endpoint.fromString('192.0.2.4:1')));
  // ... but now every source holds 1, and the next newcomer is shed.
  t.false(q.offer(msg(7), 0, 5, Endpoint.fromString('192.0.2.5:1')));
  t.is(q.timesFull, 2, 'both offers found it full');
  t.is(q.size, 4);
  t.deepEqual(drain(q).map((s) => s.split('#')[1]), ['2', '4', '5', '6']);
});

test('a queue emptied and refilled many times keeps its bounds (no growth)', (t) => {
  const q = new HandshakeQueue(8, 2);
  for (let round = 0; round < 1000; round++) {
    for (let i = 0; i < 20; i++) q.offer(msg(i), 0, 5, Endpoint.fromString(`10.${round % 7}.${i % 5}.1:1`));
    t.true(q.size <= 8);
    t.true(q.sources <= 8);
    drain(q);
  }
  t.is(q.size, 0);
});
