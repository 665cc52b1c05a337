/**
 * A transaction of system changes: each change is announced before it is made ("[#] ..."), and registers how to
 * undo it. A failure part-way, or the daemon's shutdown, undoes everything in reverse order. Undo steps never
 * throw out of rollback: a failing undo is logged and the rest still run, so nothing is left behind that could be
 * removed.
 */
import type { Logger } from '../log.js';

export type Undo = () => void | Promise<void>;

export class Transaction {
  private readonly undos: Array<{ what: string; undo: Undo }> = [];

  constructor(private readonly log: Logger) {}

  /** Runs `action` (announced as `what`); if it returns an undo, that is registered. */
  async step<T>(what: string, action: () => Promise<{ value: T; undo?: Undo }> | { value: T; undo?: Undo }): Promise<T> {
    this.log.info(`[#] ${what}`);
    const { value, undo } = await action();
    if (undo) this.undos.push({ what, undo });
    return value;
  }

  /** Registers an undo for something done outside `step` (e.g. a resource opened by a constructor). */
  onRollback(what: string, undo: Undo): void {
    this.undos.push({ what, undo });
  }

  get size(): number {
    return this.undos.length;
  }

  /** Undoes everything, newest first. Returns the errors of undos that failed (already logged). */
  async rollback(): Promise<Error[]> {
    const failures: Error[] = [];
    while (this.undos.length) {
      const { what, undo } = this.undos.pop()!;
      try {
        await undo();
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        this.log.warn({ err: err.message }, `[!] could not undo: ${what}`);
        failures.push(err);
      }
    }
    return failures;
  }
}
