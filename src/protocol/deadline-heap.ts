/**
 * A binary min-heap of items keyed by a deadline (monotonic ms), indexed so an item can be moved or removed in
 * O(log n): the device core keeps every peer with a pending timer here, so finding the next deadline is O(1) and
 * firing timers costs O(log n) per peer that fired, however many peers sit idle (ten thousand idle peers cost
 * nothing per packet).
 *
 * Keys may be stale on the early side: a peer whose deadline moved later keeps its earlier key until it comes up,
 * is looked at, and is put back with its real deadline (cheaper than moving it on every packet). A key never
 * lags on the late side: an earlier deadline is always pushed up at once (see DeviceCore.timersChanged).
 */

/** What the heap stores in an item: its slot (-1 when not in the heap) and its key. */
export interface HeapItem {
  heapIndex: number;
  heapKey: number;
}

export class DeadlineHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The earliest key, or Infinity when empty. */
  peekKey(): number {
    return this.items.length > 0 ? this.items[0]!.heapKey : Infinity;
  }

  /** The item with the earliest key, or undefined. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Puts `item` in the heap with `key`, or moves it there if it is in already. Infinity removes it. */
  set(item: T, key: number): void {
    if (key === Infinity) {
      this.remove(item);
      return;
    }
    const old = item.heapKey;
    item.heapKey = key;
    if (item.heapIndex < 0) {
      item.heapIndex = this.items.length;
      this.items.push(item);
      this.up(item.heapIndex);
    } else if (key < old) {
      this.up(item.heapIndex);
    } else if (key > old) {
      this.down(item.heapIndex);
    }
  }

  /** Takes `item` out of the heap (nothing if it is not in). */
  remove(item: T): void {
    const i = item.heapIndex;
    if (i < 0) return;
    const last = this.items.pop()!;
    item.heapIndex = -1;
    item.heapKey = Infinity;
    if (last === item) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.up(i);
    this.down(last.heapIndex);
  }

  private up(i: number): void {
    const items = this.items;
    const item = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (p.heapKey <= item.heapKey) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && items[right]!.heapKey < items[left]!.heapKey ? right : left;
      const c = items[child]!;
      if (c.heapKey >= item.heapKey) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
