/** The bench's statistics: medians, nearest-rank percentiles, spreads and the median of per-round ratios. */
import test from 'ava';
import { mean, median, percentile, ratioSpread, spread } from '../../../bench/common/stats.js';

test('median: odd and even counts, unsorted input, input left untouched', (t) => {
  const xs = [5, 1, 3];
  t.is(median(xs), 3);
  t.deepEqual(xs, [5, 1, 3]);
  t.is(median([4, 1, 3, 2]), 2.5);
  t.is(median([7]), 7);
  t.throws(() => median([]), { message: /no values/ });
  t.throws(() => median([1, Number.NaN]), { message: /not a finite number/ });
});

test('percentile: nearest rank (p99 of 100 samples is the 99th, of 20 the largest)', (t) => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
  t.is(percentile(hundred, 99), 99);
  t.is(percentile(hundred, 50), 50);
  t.is(percentile(hundred, 100), 100);
  t.is(percentile(hundred, 1), 1);
  const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
  t.is(percentile(twenty, 99), 20);
  t.is(percentile([3], 99), 3);
  t.throws(() => percentile([], 50), { message: /no values/ });
  t.throws(() => percentile([1], 0), { message: /\(0, 100\]/ });
  t.throws(() => percentile([1], 101), { message: /\(0, 100\]/ });
});

test('mean and spread', (t) => {
  t.is(mean([1, 2, 6]), 3);
  t.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  t.is(spread([]), undefined);
});

test('ratioSpread: per-round ratios matched by index, then their median; one wild round does not flip it', (t) => {
  // tunvpn vs wireguard-go over 3 rounds; in round 2 the machine was busy while wireguard-go ran.
  const tunvpn = [1.2, 1.2, 1.2];
  const wgo = [1.0, 0.3, 1.0];
  const r = ratioSpread(tunvpn, wgo)!;
  t.deepEqual(r.perRound, [1.2, 4, 1.2]);
  t.is(r.spread.median, 1.2);
  t.is(r.spread.max, 4);
  t.is(r.spread.n, 3);
  // The ratio of medians would hide the pairing; the per-round form keeps it: rounds are compared side by side.
  t.deepEqual(ratioSpread([2, 1], [1, 2])!.perRound, [2, 0.5]);
});

test('ratioSpread skips rounds where a side failed or the denominator is 0, and gives nothing when no round pairs', (t) => {
  const r = ratioSpread([1, undefined, 3, 4], [2, 2, 0, 2])!;
  t.deepEqual(r.perRound, [0.5, 2]);
  t.is(r.spread.median, 1.25);
  t.is(ratioSpread([undefined], [1]), undefined);
  t.is(ratioSpread([], []), undefined);
});
