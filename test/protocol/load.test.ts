/** When handshakes put the protocol under load: a numbered walk through one window and the hold, fake clock. */
import test from 'ava';
import { UNDER_LOAD_HOLD_MS } from '../../src/protocol/constants.js';
import { HandshakeLoad } from '../../src/protocol/load.js';

test('more than perSecond handshakes within a second put it under load until the hold runs out', (t) => {
  const load = new HandshakeLoad(4);
  for (let i = 0; i < 4; i++) load.count(100 + i);
  t.false(load.busy(104), 'four in a second is the limit, not over it');
  load.count(105);
  t.true(load.busy(105));
  t.true(load.busy(105 + UNDER_LOAD_HOLD_MS - 1));
  t.false(load.busy(105 + UNDER_LOAD_HOLD_MS));
});

test('a new second starts a new count: a steady rate at the limit never trips it', (t) => {
  const load = new HandshakeLoad(4);
  for (let s = 0; s < 5; s++) for (let i = 0; i < 4; i++) load.count(s * 1000 + i * 10);
  t.false(load.busy(4999));
});

test('a nonsense threshold is refused', (t) => {
  t.throws(() => new HandshakeLoad(0), { instanceOf: RangeError });
});
