/**
 * The receiver-index table: random, collision-free 32-bit indices naming our side of a handshake or session, so
 * incoming responses, cookie replies and transport messages find their peer in O(1).
 */
import { randomU32, type Rng } from '../crypto/random.js';

export class IndexTable<T> {
  private readonly entries = new Map<number, T>();
  constructor(private readonly rng: Rng) {}

  /** Registers `value` under a fresh random index and returns it. */
  allocate(value: T): number {
    for (;;) {
      const index = randomU32(this.rng);
      if (!this.entries.has(index)) {
        this.entries.set(index, value);
        return index;
      }
    }
  }

  /** Re-points an existing index (e.g. from a handshake to the session it produced). */
  replace(index: number, value: T): void {
    if (this.entries.has(index)) this.entries.set(index, value);
  }

  get(index: number): T | undefined {
    return this.entries.get(index);
  }

  free(index: number): void {
    this.entries.delete(index);
  }

  get size(): number {
    return this.entries.size;
  }
}
