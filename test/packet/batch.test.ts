import test from 'ava';
import { ADDR_SLOT } from '../../src/net/addr-slot.js';
import { PacketBatch } from '../../src/packet/batch.js';
import { Backlog } from '../../src/packet/backlog.js';

test('push copies packets into their slots after the headroom', (t) => {
  const b = new PacketBatch(3, 32, { headroom: 8, addrs: true });
  const addr = new Uint8Array(ADDR_SLOT).fill(6);
  t.is(b.push(Uint8Array.of(1, 2, 3), 0, 3, addr), 0);
  t.is(b.push(Uint8Array.of(9, 4, 5, 6), 1), 1);
  t.deepEqual([...b.view(0)], [1, 2, 3]);
  t.deepEqual([...b.view(1)], [4, 5, 6]);
  t.is(b.offsets[1], 32 + 8);
  t.deepEqual([...b.addrs!.subarray(0, ADDR_SLOT)], [...addr]);
  t.is(b.push(Uint8Array.of(7)), 2);
  t.is(b.push(Uint8Array.of(8)), -1, 'full');
  t.throws(() => new PacketBatch(1, 32, { headroom: 8 }).push(new Uint8Array(25)), { instanceOf: RangeError });
  b.reset();
  t.is(b.count, 0);
  t.throws(() => b.view(0), { instanceOf: RangeError });
});

test('compact drops negative lengths and keeps order and addresses', (t) => {
  const b = new PacketBatch(4, 8, { addrs: true });
  for (let i = 0; i < 4; i++) b.push(Uint8Array.of(i), 0, 1, new Uint8Array(ADDR_SLOT).fill(i + 1));
  b.lengths[0] = -1;
  b.lengths[2] = -1;
  t.is(b.compact(), 2);
  t.is(b.count, 2);
  t.deepEqual([...b.view(0), ...b.view(1)], [1, 3]);
  t.is(b.addrs![0], 2);
  t.is(b.addrs![ADDR_SLOT], 4);
});

test('backlog keeps FIFO order across partial consumption and refuses when full', (t) => {
  const q = new Backlog(3, 16);
  const addr = new Uint8Array(ADDR_SLOT);
  for (let i = 0; i < 3; i++) t.true(q.add(Uint8Array.of(10 + i, 20 + i), 0, 2, addr.fill(i)));
  t.false(q.add(Uint8Array.of(1), 0, 1), 'full');
  q.consume(1);
  t.true(q.add(Uint8Array.of(13), 0, 1, addr.fill(3)));
  const b = q.batch;
  t.deepEqual([0, 1, 2].map((i) => [...b.view(i)]), [[11, 21], [12, 22], [13]]);
  t.deepEqual([0, 1, 2].map((i) => b.addrs![i * ADDR_SLOT]), [1, 2, 3]);
  t.false(q.add(new Uint8Array(17), 0, 17), 'larger than a slot');
  q.consume(5);
  t.is(q.count, 0);
});

test('local slots: setLocal copies or clears, compact and pushFrom carry them, the backlog keeps them in order', (t) => {
  const b = new PacketBatch(3, 8, { addrs: true, locals: true });
  const local = (v: number) => new Uint8Array(ADDR_SLOT).fill(v);
  for (let i = 0; i < 3; i++) b.setLocal(b.push(Uint8Array.of(i), 0, 1, new Uint8Array(ADDR_SLOT)), local(i + 4));
  b.setLocal(1, undefined);
  t.is(b.locals![ADDR_SLOT], 0, 'no source: family 0');
  b.lengths[0] = -1;
  b.compact();
  t.is(b.locals![0], 0, 'packet 1 moved down with its cleared slot');
  t.deepEqual([...b.locals!.subarray(ADDR_SLOT, 2 * ADDR_SLOT)], [...local(6)]);
  const c = new PacketBatch(2, 8, { addrs: true, locals: true });
  c.pushFrom(b, 1);
  t.deepEqual([...c.locals!.subarray(0, ADDR_SLOT)], [...local(6)]);
  t.is(new PacketBatch(1, 8, { addrs: true }).locals, undefined);

  const q = new Backlog(3, 8, true, true);
  q.add(Uint8Array.of(1), 0, 1, b.addrs, 0, b.locals);
  q.add(Uint8Array.of(2), 0, 1, b.addrs, ADDR_SLOT, b.locals);
  q.add(Uint8Array.of(3), 0, 1, b.addrs, ADDR_SLOT, undefined);
  q.consume(1);
  t.deepEqual([...q.batch.locals!.subarray(0, ADDR_SLOT)], [...local(6)]);
  t.is(q.batch.locals![ADDR_SLOT], 0);
});
