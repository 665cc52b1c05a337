/** UDP GSO grouping (src/conn/gso.ts): which datagrams of a send batch form one UDP_SEGMENT group. */
import test from 'ava';
import fc from 'fast-check';
import { gsoGroups, GSO_MAX_GROUP_BYTES, GSO_MAX_SEGMENTS } from '../../src/conn/gso.js';
import { ADDR_SLOT } from '../../src/net/addr-slot.js';

function batch(items: Array<[len: number, dest: number]>): { lengths: Int32Array; addrs: Uint8Array; groups: Int32Array } {
  const lengths = Int32Array.from(items.map(([l]) => l));
  const addrs = new Uint8Array(items.length * ADDR_SLOT);
  items.forEach(([, d], i) => {
    addrs[i * ADDR_SLOT] = 4;
    addrs[i * ADDR_SLOT + 8] = d;
  });
  return { lengths, addrs, groups: new Int32Array(items.length) };
}

function groupsOf(items: Array<[number, number]>): number[] {
  const b = batch(items);
  const n = gsoGroups(b.lengths, b.addrs, items.length, b.groups);
  return [...b.groups.subarray(0, n)];
}

test('equal sizes to one destination form one group; a shorter last datagram joins and ends it', (t) => {
  t.deepEqual(groupsOf([[1452, 1], [1452, 1], [1452, 1], [300, 1], [1452, 1]]), [4, 1]);
  t.deepEqual(groupsOf([[1452, 1], [1452, 1], [1500, 1], [1500, 1]]), [2, 2], 'a longer datagram starts a new group');
  t.deepEqual(groupsOf([[100, 1], [100, 2], [100, 2], [100, 1]]), [1, 2, 1], 'another destination splits');
  t.deepEqual(groupsOf([[0, 1], [0, 1], [10, 1]]), [1, 1, 1], 'empty datagrams go alone');
  t.deepEqual(groupsOf([]), []);
});

test('groups stop at 64 datagrams and at the byte limit', (t) => {
  t.deepEqual(groupsOf(Array.from({ length: 130 }, () => [100, 1] as [number, number])), [GSO_MAX_SEGMENTS, GSO_MAX_SEGMENTS, 2]);
  const size = 9000;
  const perGroup = Math.floor(GSO_MAX_GROUP_BYTES / size);
  t.deepEqual(groupsOf(Array.from({ length: perGroup + 1 }, () => [size, 1] as [number, number])), [perGroup, 1]);
});

test('property: groups cover the batch in order and every group satisfies the UDP_SEGMENT rules', (t) => {
  const item = fc.tuple(fc.constantFrom(0, 100, 1452, 1452, 1452, 9000), fc.constantFrom(1, 1, 1, 2));
  fc.assert(
    fc.property(fc.array(item, { maxLength: 300 }), (items) => {
      const b = batch(items);
      const n = gsoGroups(b.lengths, b.addrs, items.length, b.groups);
      let i = 0;
      for (let g = 0; g < n; g++) {
        const size = b.groups[g]!;
        if (size < 1 || size > GSO_MAX_SEGMENTS) return false;
        const members = items.slice(i, i + size);
        const total = members.reduce((s, [l]) => s + l, 0);
        if (size > 1) {
          const seg = members[0]![0];
          if (total > GSO_MAX_GROUP_BYTES || seg < 1) return false;
          if (members.some(([l, d], k) => d !== members[0]![1] || l > seg || l < 1 || (l < seg && k < size - 1))) return false;
        }
        i += size;
      }
      return i === items.length;
    }),
  );
  t.throws(() => gsoGroups(new Int32Array(3), new Uint8Array(3 * ADDR_SLOT), 3, new Int32Array(2)), { instanceOf: RangeError });
});

test('with local slots, a group shares one source; slots without a source (family 0) group whatever their other bytes', (t) => {
  const b = batch([[100, 1], [100, 1], [100, 1], [100, 1], [100, 1]]);
  const locals = new Uint8Array(5 * ADDR_SLOT);
  for (const i of [0, 1]) locals.set([4, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 3], i * ADDR_SLOT);
  locals.set([4, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2], 2 * ADDR_SLOT);
  locals.set([0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 9], 3 * ADDR_SLOT); // no source; stale bytes after the family
  const n = gsoGroups(b.lengths, b.addrs, 5, b.groups, locals);
  t.deepEqual([...b.groups.subarray(0, n)], [2, 1, 2]);
  t.is(gsoGroups(b.lengths, b.addrs, 5, b.groups), 1, 'without locals, one group');
});
