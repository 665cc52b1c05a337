/**
 * `site up|down|show` over any SiteSystem. `up` is transactional: each change is logged before it is made
 * ("[+] create bridge br-lan"); if one fails, what THIS run did is undone in reverse order ("[-] ...") and the
 * error is rethrown. Nothing that existed before the run is removed.
 */
import type { Logger } from '../log.js';
import { describeAction } from './actions.js';
import { deriveSite, meshTunnels, underlayProbes } from './desired.js';
import { SiteConflictError } from './errors.js';
import type { Site } from './model.js';
import { findConflicts, planDown, planUp, type Operation } from './plan.js';
import { compareSite, type ObjectReport } from './show.js';
import type { SiteSystem } from './system.js';

export class SiteApplyError extends Error {
  constructor(
    readonly failed: string,
    override readonly cause: unknown,
    /** Undo steps that themselves failed (the system may be left partly configured). */
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

async function rollback(system: SiteSystem, done: Operation[], log: Logger): Promise<string[]> {
  const failures: string[] = [];
  for (const o of [...done].reverse()) {
    if (!o.undo) continue;
    const what = describeAction(o.undo);
    log.info(`[-] ${what}`);
    try {
      await system.perform(o.undo);
    } catch (e) {
      log.warn({ err: e }, `undo failed: ${what}`);
      failures.push(what);
    }
  }
  return failures;
}

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
  const done: Operation[] = [];
  for (const o of ops) {
    log.info(`[+] ${o.description}`);
    try {
      await system.perform(o.action);
    } catch (e) {
      log.error(`failed: ${o.description}: ${e instanceof Error ? e.message : String(e)}; undoing ${done.length} changes`);
      const undoFailures = await rollback(system, done, log);
      throw new SiteApplyError(o.description, e, undoFailures);
    }
    done.push(o);
  }
  log.info(`site up: ${done.length} changes`);
  return { changes: done.map((o) => o.description) };
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
  for (const o of plan.operations) {
    log.info(`[-] ${o.description}`);
    await system.perform(o.action);
  }
  log.info(plan.operations.length === 0 ? 'site already down: 0 changes' : `site down: ${plan.operations.length} changes`);
  return { changes: plan.operations.map((o) => o.description), skipped: plan.skipped };
}

export async function siteShow(site: Site, system: SiteSystem): Promise<ObjectReport[]> {
  const state = await system.snapshot(site.namespaces.map((n) => n.name), underlayProbes(site), meshTunnels(site));
  return compareSite(deriveSite(site, state), state);
}
