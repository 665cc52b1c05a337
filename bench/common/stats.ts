/**
 * The statistics the bench reports: medians over rounds, their min–max spread, nearest-rank percentiles of ping
 * samples, and the median of per-round ratios. Pure; NaN and infinities are never produced from finite input.
 */

/** Median, extremes and count of a set of values (one value per round). */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many values went in. */
  n: number;
}

function sorted(values: readonly number[]): number[] {
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`not a finite number: ${v}`);
  return [...values].sort((a, b) => a - b);
}

/** The median (the mean of the middle two for an even count). Throws RangeError on an empty list or a NaN. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The nearest-rank percentile: the smallest value with at least p % of the values at or below it (so p99 of 100
 * samples is the 99th smallest, and of 20 samples the largest). p in (0, 100]. Throws RangeError on no values.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of no values');
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const s = sorted(values);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('mean of no values');
  return sorted(values).reduce((a, b) => a + b, 0) / values.length;
}

/** Median, min and max; undefined for an empty list (a path with no successful round). */
export function spread(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const s = sorted(values);
  return { median: median(s), min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/**
 * The ratio num/den of each round where both have a value and den > 0, then their spread. Taking the median of
 * per-round ratios (not the ratio of medians) pairs each tunvpn round with the wireguard-go round run next to it,
 * so a round disturbed by the rest of the machine moves one ratio, not the verdict. Rounds are matched by index;
 * undefined entries (a failed round) are skipped.
 */
export function ratioSpread(num: ReadonlyArray<number | undefined>, den: ReadonlyArray<number | undefined>): { perRound: number[]; spread: Spread } | undefined {
  const perRound: number[] = [];
  for (let i = 0; i < Math.min(num.length, den.length); i++) {
    const a = num[i];
    const b = den[i];
    if (a === undefined || b === undefined || !(b > 0) || !Number.isFinite(a)) continue;
    perRound.push(a / b);
  }
  const s = spread(perRound);
  return s && { perRound, spread: s };
}

/** Percentile reported beside the median RTT. */
export const RTT_TAIL_PERCENTILE = 99;

/** Ping a → c: counts, and statistics of the reply times (null when nothing came back). */
export interface RttStats {
  transmitted: number;
  received: number;
  /** 0..1 */
  loss: number;
  medianMs: number | null;
  /** RTT_TAIL_PERCENTILE, nearest rank. */
  p99Ms: number | null;
  avgMs: number | null;
  /** Every reply's RTT, ms, in arrival order: the raw numbers. */
  samplesMs: number[];
}

/** Ping statistics from the summary counts and the reply times. */
export function rttStats(transmitted: number, received: number, loss: number, samplesMs: number[]): RttStats {
  const some = samplesMs.length > 0;
  return {
    transmitted,
    received,
    loss,
    medianMs: some ? median(samplesMs) : null,
    p99Ms: some ? percentile(samplesMs, RTT_TAIL_PERCENTILE) : null,
    avgMs: some ? mean(samplesMs) : null,
    samplesMs,
  };
}
