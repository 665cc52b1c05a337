import test from 'ava';
import { COUNTER_WINDOW_SIZE, REJECT_AFTER_MESSAGES } from '../../src/protocol/constants.js';
import { ReplayWindow } from '../../src/protocol/replay.js';

const W = BigInt(COUNTER_WINDOW_SIZE);
const T_LIM = W + 1n;
const R = REJECT_AFTER_MESSAGES;

function check(w: ReplayWindow, c: bigint): boolean {
  return w.validate(Number(c >> 32n), Number(c & 0xffff_ffffn));
}

// The numbered table of the Linux kernel's counter selftest (same window semantics as wireguard-go).
const TABLE: [bigint, boolean][] = [
  [0n, true], [1n, true], [1n, false], [9n, true], [8n, true], [7n, true], [7n, false], [T_LIM, true],
  [T_LIM - 1n, true], [T_LIM - 1n, false], [T_LIM - 2n, true], [2n, true], [2n, false], [T_LIM + 16n, true],
  [3n, false], [T_LIM + 16n, false], [T_LIM * 4n, true], [T_LIM * 4n - (T_LIM - 1n), true], [10n, false],
  [T_LIM * 4n - T_LIM, false], [T_LIM * 4n - (T_LIM + 1n), false], [T_LIM * 4n - (T_LIM - 2n), true],
  [T_LIM * 4n + 1n - T_LIM, false], [0n, false], [R, false], [R - 1n, true], [R, false], [R - 1n, false],
  [R - 2n, true], [R + 1n, false], [R + 2n, false], [R - 2n, false], [R - 3n, true], [0n, false],
];

test('window size is 8128 as in wireguard-go', (t) => {
  t.is(COUNTER_WINDOW_SIZE, 8128);
});

test('numbered replay table', (t) => {
  const w = new ReplayWindow();
  TABLE.forEach(([counter, expected], i) => {
    t.is(check(w, counter), expected, `entry ${i + 1}: counter ${counter}`);
  });
});

test('bulk: full window ascending then 0 once', (t) => {
  const w = new ReplayWindow();
  for (let i = 1n; i <= W; i++) t.true(check(w, i));
  t.true(check(w, 0n));
  t.false(check(w, 0n));
});

test('bulk: window+1 ascending, then 1 accepted and 0 rejected', (t) => {
  const w = new ReplayWindow();
  for (let i = 2n; i <= W + 1n; i++) t.true(check(w, i));
  t.true(check(w, 1n));
  t.false(check(w, 0n));
});

test('bulk: descending fills, edges behave', (t) => {
  let w = new ReplayWindow();
  for (let i = W + 1n; i-- > 0n;) t.true(check(w, i));
  w = new ReplayWindow();
  for (let i = W + 2n; i-- > 1n;) t.true(check(w, i));
  t.false(check(w, 0n));
  w = new ReplayWindow();
  for (let i = W + 1n; i-- > 1n;) t.true(check(w, i));
  t.true(check(w, W + 1n));
  t.false(check(w, 0n));
  w = new ReplayWindow();
  for (let i = W + 1n; i-- > 1n;) t.true(check(w, i));
  t.true(check(w, 0n));
  t.true(check(w, W + 1n));
});

test('crossing the 2^32 boundary keeps exact arithmetic', (t) => {
  const w = new ReplayWindow();
  const base = 0xffff_fff0n;
  for (let i = 0n; i < 40n; i += 2n) t.true(check(w, base + i));
  for (let i = 1n; i < 40n; i += 2n) t.true(check(w, base + i));
  for (let i = 0n; i < 40n; i++) t.false(check(w, base + i));
  t.false(check(w, base + 39n - W - 1n));
  t.true(check(w, base + 39n - W));
});
