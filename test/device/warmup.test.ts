/** warmDataPath: two in-process devices complete the round trips asked for, and leave nothing running. */
import test from 'ava';
import { warmDataPath } from '../../src/device/warmup.js';

test('every round trip asked for completes (a broken data path would stop it short), and nothing keeps running', async (t) => {
  t.is(await warmDataPath(25), 25);
  t.is(await warmDataPath(0), 0);
  // Both devices are closed: no handle of theirs is left (ava would not exit otherwise), and a second warm-up works.
  t.is(await warmDataPath(5), 5);
});
