/**
 * `site up|down|show` over any SiteSystem, each change recorded in a Transaction (system/transaction.ts), the one
 * undo mechanism `up` and the daemon use too. `up` is transactional: each change is announced before it is made
 * ("[#] create bridge br-lan"); if one fails, what THIS run did is undone in reverse order, each undo announced
 * ("[#] delete link br-lan"), and the error is rethrown. Nothing that existed before the run is removed.
 */
import type { Logger } from '../log.js';
import { Transaction } from '../system/transaction.js';
import { describeAction } from './actions.js';
import { deriveSite, meshTunnels, underlayProbes } from './desired.js';
import { SiteConflictError } from './errors.js';
import type { Site } from './model.js';
import { findConflicts, planDown, planUp } from './plan.js';
import { compareSite, type ObjectReport } from './show.js';
import type { SiteSystem } from './system.js';

/** `site up` failed part-way and what it had done was undone (`undoFailures` empty) or undone in part. */
export class SiteApplyError extends Error {
  constructor(
    /** The change that failed, as announced ("add route default via 192.168.50.1 dev eth0 (netns c1)"). */
    readonly failed: string,
    override readonly cause: unknown,
    /** Undo steps that themselves failed, as announced (the system may be left partly configured). */
    readonly undoFailures: string[],
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const tail = undoFailures.length > 0 ? `; undo also failed for: ${undoFailures.join('; ')}` : '; undone';
    super(`failed to ${failed}: ${why}${tail}`);
    this.name = 'SiteApplyError';
  }
}

export interface SiteUpResult {
  /** Descriptions of the changes made, in order (empty when the site was already up). */
  changes: string[];
}

/**
 * Creates or repairs what `site` declares and the system lacks. Throws SiteConflictError before any change when
 * an existing object must not be repaired; SiteApplyError when a change fails (this run's changes undone).
 */
export async function siteUp(site: Site, system: SiteSystem, log: Logger): Promise<SiteUpResult> {
  const state = await system.snapshot(site.namespaces.map((n) => n.name), underlayProbes(site), meshTunnels(site));
  const desired = deriveSite(site, state);
  const conflicts = findConflicts(desired, state);
  if (conflicts.length > 0) throw new SiteConflictError(conflicts);
  const ops = planUp(desired, state);
  if (ops.length === 0) {
    log.info('site up to date: 0 changes');
    return { changes: [] };
  }
  const tx = new Transaction(log);
  const changes: string[] = [];
  for (const o of ops) {
    try {
      await tx.step(o.description, async () => {
        await system.perform(o.action);
        const undo = o.undo;
        return undo ? { value: undefined, undo: () => system.perform(undo), undoWhat: describeAction(undo) } : { value: undefined };
      });
    } catch (e) {
      log.error(`failed: ${o.description}: ${e instanceof Error ? e.message : String(e)}; undoing ${changes.length} changes`);
      const undoFailures = await tx.rollback();
      throw new SiteApplyError(o.description, e, undoFailures.map((f) => f.what));
    }
    changes.push(o.description);
  }
  log.info(`site up: ${changes.length} changes`);
  return { changes };
}

export interface SiteDownResult {
  changes: string[];
  /** Declared names that exist as something else and were left alone. */
  skipped: string[];
}

/** Removes what the site declares and is present; missing pieces are not errors. Stops at the first failure. */
export async function siteDown(site: Site, system: SiteSystem, log: Logger): Promise<SiteDownResult> {
  const state = await system.snapshot(site.namespaces.map((n) => n.name), underlayProbes(site), meshTunnels(site));
  const plan = planDown(deriveSite(site, state), state);
  for (const s of plan.skipped) log.warn(`left alone: ${s}`);
  // Removals have no undo: a failure stops here and leaves the rest for the next `down`.
  const tx = new Transaction(log);
  for (const o of plan.operations) await tx.step(o.description, async () => ({ value: await system.perform(o.action) }));
  log.info(plan.operations.length === 0 ? 'site already down: 0 changes' : `site down: ${plan.operations.length} changes`);
  return { changes: plan.operations.map((o) => o.description), skipped: plan.skipped };
}

/** Each declared object: present, missing, or differing (and how), against the system now. */
export async function siteShow(site: Site, system: SiteSystem): Promise<ObjectReport[]> {
  const state = await system.snapshot(site.namespaces.map((n) => n.name), underlayProbes(site), meshTunnels(site));
  return compareSite(deriveSite(site, state), state);
}
