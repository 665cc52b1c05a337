/**
 * The order the compare bench measures paths in: round by round, every path once per round in the order given
 * (A B A B for wireguard-go, tunvpn), so a slow drift of the machine (another developer's job, thermal state)
 * touches both sides of each ratio alike. Paths that are only a reference or are not compared (veth, and the
 * drivers that are only reported as skipped) run in the first round only. Pure.
 */
import { DENOMINATOR, NUMERATOR, type PathName } from './report.js';

export interface ScheduledRun {
  /** 1-based. */
  round: number;
  path: PathName;
}

/** Paths measured in every round: the two the verdict compares. */
const EVERY_ROUND: readonly PathName[] = [DENOMINATOR, NUMERATOR];

export function roundSchedule(paths: readonly PathName[], rounds: number): ScheduledRun[] {
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${rounds}`);
  const out: ScheduledRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const path of paths) if (round === 1 || EVERY_ROUND.includes(path)) out.push({ round, path });
  }
  return out;
}
