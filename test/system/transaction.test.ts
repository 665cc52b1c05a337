/**
 * The Transaction: each change announced before it is made, undone newest first on rollback with each undo
 * announced before it runs (as wg-quick prints its `down`), failing undos logged and collected while the rest run.
 */
import test from 'ava';
import { pino } from 'pino';
import { Transaction } from '../../src/system/transaction.js';

function capture() {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push((JSON.parse(s) as { msg: string }).msg) });
  return { log, lines };
}

test('rollback announces each undo before it runs, newest first, in its own words or "undo: WHAT"', async (t) => {
  const { log, lines } = capture();
  const tx = new Transaction(log);
  const order: string[] = [];
  const run = (name: string) => () => void order.push(`${name} ran after ${lines.at(-1)}`);
  await tx.step('ip link add wg0', () => ({ value: 1, undo: run('link'), undoWhat: 'ip link delete dev wg0' }));
  await tx.step('write /run/x.pid', () => ({ value: 2, undo: run('pid') }));
  await tx.step('sysctl -q x=1', () => ({ value: 3 }));
  tx.onRollback('resolvconf -d tun.wg0 -f', run('dns'));
  t.is(tx.size, 3);
  t.deepEqual(lines.splice(0), ['[#] ip link add wg0', '[#] write /run/x.pid', '[#] sysctl -q x=1']);
  t.deepEqual(await tx.rollback(), []);
  t.deepEqual(lines, ['[#] resolvconf -d tun.wg0 -f', '[#] undo: write /run/x.pid', '[#] ip link delete dev wg0']);
  t.deepEqual(order, [
    'dns ran after [#] resolvconf -d tun.wg0 -f',
    'pid ran after [#] undo: write /run/x.pid',
    'link ran after [#] ip link delete dev wg0',
  ]);
  t.is(tx.size, 0);
});

test('a failing undo is logged and returned; the undos before it still run', async (t) => {
  const { log, lines } = capture();
  const tx = new Transaction(log);
  const ran: string[] = [];
  await tx.step('a', () => ({ value: 0, undo: () => void ran.push('a'), undoWhat: 'undo a' }));
  await tx.step('b', () => ({ value: 0, undo: () => Promise.reject(new Error('EBUSY')), undoWhat: 'undo b' }));
  const failures = await tx.rollback();
  t.deepEqual(failures.map((f) => [f.what, f.error.message]), [['undo b', 'EBUSY']]);
  t.deepEqual(ran, ['a']);
  t.deepEqual(lines.slice(2), ['[#] undo b', '[!] undo failed: undo b', '[#] undo a']);
});

test('a step whose action throws registers nothing and the error propagates', async (t) => {
  const tx = new Transaction(capture().log);
  await t.throwsAsync(tx.step('ip link add wg0', () => Promise.reject(new Error('EEXIST'))), { message: 'EEXIST' });
  t.is(tx.size, 0);
});

test('undoGroup runs one group unannounced (its caller announces the removal) and keeps the rest', async (t) => {
  const { log, lines } = capture();
  const tx = new Transaction(log);
  const ran: string[] = [];
  await tx.step('a', () => ({ value: 0, undo: () => void ran.push('a') }), 'A');
  await tx.step('b', () => ({ value: 0, undo: () => void ran.push('b') }), 'B');
  lines.splice(0);
  t.deepEqual(await tx.undoGroup('B'), []);
  t.deepEqual(ran, ['b']);
  t.deepEqual(lines, []);
  t.false(tx.has('B'));
  t.true(tx.has('A'));
});
