/**
 * A transaction of system changes, as wg-quick makes them: each change is announced before it is made
 * ("[#] ip -4 address add 10.0.0.1/24 dev wg0") and registers how to undo it. A failure part-way, or the daemon's
 * shutdown, undoes everything in reverse order, each undo announced before it runs in the words of the command
 * that would do it by hand ("[#] ip -4 address delete 10.0.0.1/24 dev wg0", "[#] ip link delete dev wg0"), as
 * wg-quick prints its `down`. Undo steps never throw out of rollback: a failing undo is logged and collected, and
 * the rest still run, so nothing is left behind that could be removed.
 *
 * It is the one undo mechanism of tunvpn: `up` and `tunvpnd` (quick/, daemon/), reloads, and `site up|down`
 * (site/apply.ts) all record their changes in one.
 */
import type { Logger } from '../log.js';

/** Takes back one change. May throw (or reject): rollback logs it, collects it and carries on. */
export type Undo = () => void | Promise<void>;

/** What the action of a step returns: its value and, when the change can be taken back, how. */
export interface Change<T> {
  value: T;
  undo?: Undo;
  /**
   * How `undo` is announced when it runs: the command that would take the change back by hand, in the words of
   * iproute2 where there are some ("ip link delete dev wg0", "ip -4 route delete 10.0.0.0/24 dev wg0").
   * Default: "undo: " and the step's own announcement.
   */
  undoWhat?: string;
}

/** An undo that failed during rollback or undoGroup: what it was to do (as announced) and why it failed. */
export interface UndoFailure {
  what: string;
  error: Error;
}

interface Entry {
  /** How the undo is announced ("ip link delete dev wg0"). */
  what: string;
  undo: Undo;
  /** The plan step this undo belongs to (quick/plan.ts stepKey), so a reload can undo one step and keep the rest. */
  group?: string;
}

export class Transaction {
  private readonly undos: Entry[] = [];

  /** `log` receives the "[#] ..." announcements (info) and the "[!] undo failed: ..." warnings. */
  constructor(private readonly log: Logger) {}

  /**
   * Announces `what` ("[#] WHAT"), then runs `action`; if it returns an undo, that is registered, under `group`
   * when given (see undoGroup). Resolves with the action's value; when the action throws, nothing is registered
   * and the error propagates (the caller decides whether to roll back).
   */
  async step<T>(what: string, action: () => Promise<Change<T>> | Change<T>, group?: string): Promise<T> {
    this.log.info(`[#] ${what}`);
    const { value, undo, undoWhat } = await action();
    if (undo) this.push(undoWhat ?? `undo: ${what}`, undo, group);
    return value;
  }

  /**
   * Registers an undo for something done outside `step` (e.g. a resource opened by a constructor); `what` is how
   * the undo is announced when it runs ("resolvconf -d tun.wg0", "leave the mesh").
   */
  onRollback(what: string, undo: Undo, group?: string): void {
    this.push(what, undo, group);
  }

  /** Undos registered and not yet run. */
  get size(): number {
    return this.undos.length;
  }

  /** Whether any undo is registered under `group`. */
  has(group: string): boolean {
    return this.undos.some((u) => u.group === group);
  }

  /**
   * Undoes now, newest first, everything registered under `group`, and forgets it (a reload removing one step).
   * The caller announces the removal as a whole (a reload says it once per step, quick/plan.ts describeRemoval),
   * so the undos themselves run unannounced. Like rollback, a failing undo is logged and returned, and the others
   * still run.
   */
  async undoGroup(group: string): Promise<UndoFailure[]> {
    const mine = this.undos.filter((u) => u.group === group);
    const rest = this.undos.filter((u) => u.group !== group);
    this.undos.splice(0, this.undos.length, ...rest);
    return this.runUndos(mine, false);
  }

  /** Takes over every undo of `other` (which is left empty), on top of ours: a reload's changes join the daemon's. */
  adopt(other: Transaction): void {
    this.undos.push(...other.undos.splice(0));
  }

  /**
   * Undoes everything, newest first, announcing each undo before it runs ("[#] ip link delete dev wg0"). Resolves
   * with the undos that failed (already logged); never rejects.
   */
  async rollback(): Promise<UndoFailure[]> {
    return this.runUndos(this.undos.splice(0), true);
  }

  private push(what: string, undo: Undo, group: string | undefined): void {
    this.undos.push(group === undefined ? { what, undo } : { what, undo, group });
  }

  private async runUndos(entries: Entry[], announce: boolean): Promise<UndoFailure[]> {
    const failures: UndoFailure[] = [];
    while (entries.length) {
      const { what, undo } = entries.pop()!;
      if (announce) this.log.info(`[#] ${what}`);
      try {
        await undo();
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        this.log.warn({ err: error.message }, `[!] undo failed: ${what}`);
        failures.push({ what, error });
      }
    }
    return failures;
  }
}
