/**
 * A transaction of system changes: each change is announced before it is made ("[#] ..."), and registers how to
 * undo it. A failure part-way, or the daemon's shutdown, undoes everything in reverse order. Undo steps never
 * throw out of rollback: a failing undo is logged and the rest still run, so nothing is left behind that could be
 * removed.
 */
import type { Logger } from '../log.js';

export type Undo = () => void | Promise<void>;

interface Entry {
  what: string;
  undo: Undo;
  /** The plan step this undo belongs to (plan.ts stepKey), so a reload can undo one step and keep the rest. */
  group?: string;
}

export class Transaction {
  private readonly undos: Entry[] = [];

  constructor(private readonly log: Logger) {}

  /**
   * Runs `action` (announced as `what`); if it returns an undo, that is registered, under `group` when given
   * (see undoGroup).
   */
  async step<T>(what: string, action: () => Promise<{ value: T; undo?: Undo }> | { value: T; undo?: Undo }, group?: string): Promise<T> {
    this.log.info(`[#] ${what}`);
    const { value, undo } = await action();
    if (undo) this.undos.push(group === undefined ? { what, undo } : { what, undo, group });
    return value;
  }

  /** Registers an undo for something done outside `step` (e.g. a resource opened by a constructor). */
  onRollback(what: string, undo: Undo, group?: string): void {
    this.undos.push(group === undefined ? { what, undo } : { what, undo, group });
  }

  get size(): number {
    return this.undos.length;
  }

  /** Whether any undo is registered under `group`. */
  has(group: string): boolean {
    return this.undos.some((u) => u.group === group);
  }

  /**
   * Undoes now, newest first, everything registered under `group`, and forgets it (a reload removing one step).
   * Like rollback, a failing undo is logged and returned, and the others still run.
   */
  async undoGroup(group: string): Promise<Error[]> {
    const mine = this.undos.filter((u) => u.group === group);
    const rest = this.undos.filter((u) => u.group !== group);
    this.undos.splice(0, this.undos.length, ...rest);
    return this.runUndos(mine);
  }

  /** Takes over every undo of `other` (which is left empty), on top of ours: a reload's changes join the daemon's. */
  adopt(other: Transaction): void {
    this.undos.push(...other.undos.splice(0));
  }

  /** Undoes everything, newest first. Returns the errors of undos that failed (already logged). */
  async rollback(): Promise<Error[]> {
    return this.runUndos(this.undos.splice(0));
  }

  private async runUndos(entries: Entry[]): Promise<Error[]> {
    const failures: Error[] = [];
    while (entries.length) {
      const { what, undo } = entries.pop()!;
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
