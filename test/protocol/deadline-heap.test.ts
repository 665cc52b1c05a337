/** The timer heap against a naive list: random inserts, moves and removals keep the same earliest item. */
import test from 'ava';
import fc from 'fast-check';
import { DeadlineHeap, type HeapItem } from '../../src/protocol/deadline-heap.js';

interface Item extends HeapItem {
  id: number;
}

test('peekKey and the pop order equal a sorted naive list under random operations', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constant(Infinity))), { maxLength: 300 }),
      (ops) => {
        const items: Item[] = Array.from({ length: 41 }, (_, id) => ({ id, heapIndex: -1, heapKey: Infinity }));
        const heap = new DeadlineHeap<Item>();
        const naive = new Map<number, number>();
        for (const [id, key] of ops) {
          heap.set(items[id]!, key);
          if (key === Infinity) naive.delete(id);
          else naive.set(id, key);
          const min = Math.min(Infinity, ...naive.values());
          if (heap.peekKey() !== min) return false;
          if (heap.size !== naive.size) return false;
        }
        // Drain in order: keys never decrease and every item comes out once.
        let last = -Infinity;
        const seen = new Set<number>();
        while (heap.size > 0) {
          const top = heap.peek()!;
          if (top.heapKey < last || seen.has(top.id) || naive.get(top.id) !== top.heapKey) return false;
          last = top.heapKey;
          seen.add(top.id);
          heap.remove(top);
        }
        return seen.size === naive.size && items.every((i) => i.heapIndex === -1);
      },
    ),
    { numRuns: 300 },
  );
  t.is(new DeadlineHeap<Item>().peekKey(), Infinity);
});
