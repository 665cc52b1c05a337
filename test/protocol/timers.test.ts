import test from 'ava';
import {
  KEEPALIVE_TIMEOUT_MS, MAX_TIMER_HANDSHAKES, REJECT_AFTER_TIME_MS, REKEY_AFTER_TIME_MS, REKEY_ATTEMPT_TIME_MS,
  REKEY_TIMEOUT_JITTER_MAX_MS, REKEY_TIMEOUT_MS, ZERO_KEY_MATERIAL_AFTER_MS,
} from '../../src/protocol/constants.js';
import { deliver, encap, handshake, ipv4, makePair, type Side } from './helpers.js';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import { referenceHandshakeCrypto } from '../../src/crypto/reference-handshake.js';
import { seededRng } from '../../src/crypto/random.js';

const T0 = 5_000_000;
const pktAB = (): Uint8Array => ipv4([10, 9, 0, 1], [10, 9, 0, 2], 10);
const pktBA = (): Uint8Array => ipv4([10, 9, 0, 2], [10, 9, 0, 1], 10);
const types = (side: Side): number[] => side.proto.takeOutbound().map((o) => o.data[0]!);

function established(): { a: Side; b: Side } {
  const { a, b } = makePair();
  handshake(a, b, T0);
  return { a, b };
}

test('handshake retransmits after REKEY_TIMEOUT + jitter, and gives up after REKEY_ATTEMPT_TIME', (t) => {
  const { a } = makePair();
  t.is(encap(a, pktAB(), T0), null);
  t.deepEqual(types(a), [1]);
  t.is(a.peer.staged.length, 1);
  const sends = [T0];
  for (let i = 0; i < 40; i++) {
    const due = a.peer.timers.retransmitHandshakeAt;
    if (due === Infinity) break;
    const prev = sends.at(-1)!;
    t.true(due >= prev + REKEY_TIMEOUT_MS && due < prev + REKEY_TIMEOUT_MS + REKEY_TIMEOUT_JITTER_MAX_MS, `retry ${i}`);
    a.proto.tick(due - 1);
    t.deepEqual(types(a), [], 'nothing before the deadline');
    a.proto.tick(due);
    const out = types(a);
    if (out.length === 0) break; // gave up
    t.deepEqual(out, [1]);
    sends.push(due);
  }
  // The first initiation plus MAX_TIMER_HANDSHAKES + 1 retries (the kernel's and wireguard-go's count).
  t.is(sends.length, MAX_TIMER_HANDSHAKES + 2);
  t.true(sends.at(-1)! - sends[0]! >= REKEY_ATTEMPT_TIME_MS);
  a.proto.tick(sends.at(-1)! + REKEY_ATTEMPT_TIME_MS);
  t.deepEqual(types(a), [], 'no initiation after giving up until there is something to send');
  t.is(a.peer.staged.length, 0, 'queued packets dropped on giving up');
  t.is(a.peer.timers.retransmitHandshakeAt, Infinity);
});

test('initiator rekeys when sending on a session older than REKEY_AFTER_TIME; responder does not', (t) => {
  const { a, b } = established();
  a.proto.takeOutbound();
  t.not(encap(a, pktAB(), T0 + REKEY_AFTER_TIME_MS - 1), null);
  t.deepEqual(types(a), []);
  t.not(encap(b, pktBA(), T0 + REKEY_AFTER_TIME_MS + 1), null);
  t.deepEqual(types(b), []);
  t.not(encap(a, pktAB(), T0 + REKEY_AFTER_TIME_MS + 1), null); // still sent on the old session
  t.deepEqual(types(a), [1]); // and a new handshake started
});

test('sessions are rejected after REJECT_AFTER_TIME, both for sending and receiving', (t) => {
  const { a, b } = established();
  const old = Uint8Array.from(encap(a, pktAB(), T0 + 1)!);
  const late = T0 + REJECT_AFTER_TIME_MS;
  t.deepEqual(deliver(a, b, old, late).result, { kind: 'error', error: 'expiredSession' });
  b.proto.takeOutbound();
  t.is(encap(b, pktBA(), late), null, 'staged instead of sent on an expired session');
  t.deepEqual(types(b), [1]);
});

test('a keepalive is sent KEEPALIVE_TIMEOUT after receiving data with nothing sent back', (t) => {
  const { a, b } = established();
  // The handshake delivered A's staged packet to B at T0: B owes a keepalive at T0 + KEEPALIVE_TIMEOUT.
  b.proto.tick(T0 + KEEPALIVE_TIMEOUT_MS - 1);
  t.deepEqual(types(b), []);
  b.proto.tick(T0 + KEEPALIVE_TIMEOUT_MS);
  t.deepEqual(b.proto.takeOutbound().map((o) => o.data.length), [32]);
  const rx = T0 + 30_000;
  t.is(deliver(a, b, encap(a, pktAB(), rx)!, rx).result.kind, 'tunnel');
  b.proto.tick(rx + KEEPALIVE_TIMEOUT_MS - 1);
  t.deepEqual(types(b), []);
  b.proto.tick(rx + KEEPALIVE_TIMEOUT_MS);
  const out = b.proto.takeOutbound();
  t.is(out.length, 1);
  t.is(out[0]!.data.length, 32, 'an empty transport message');
  t.is(deliver(b, a, out[0]!.data, rx + KEEPALIVE_TIMEOUT_MS).result.kind, 'done');
  // If we answer with data first, no keepalive follows.
  const rx2 = rx + 30_000;
  deliver(a, b, encap(a, pktAB(), rx2)!, rx2);
  t.not(encap(b, pktBA(), rx2 + 1), null);
  b.proto.tick(rx2 + KEEPALIVE_TIMEOUT_MS + 1);
  t.deepEqual(types(b), []);
});

test('data sent with no reply triggers a new handshake after KEEPALIVE_TIMEOUT + REKEY_TIMEOUT', (t) => {
  const { a } = established();
  a.proto.takeOutbound();
  encap(a, pktAB(), T0 + 10);
  const due = a.peer.timers.newHandshakeAt;
  t.true(due >= T0 + 10 + KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS);
  a.proto.tick(due - 1);
  t.deepEqual(types(a), []);
  a.proto.tick(due);
  t.deepEqual(types(a), [1]);
});

test('persistent keepalive: one immediately when enabled, then every interval of silence', (t) => {
  const { a, b } = established();
  b.proto.takeOutbound();
  const interval = 25_000;
  b.peer.setPersistentKeepalive(interval, T0 + 100);
  t.deepEqual(b.proto.takeOutbound().map((o) => o.data.length), [32]);
  t.is(b.peer.timers.persistentKeepaliveAt, T0 + 100 + interval);
  b.proto.tick(T0 + 100 + interval - 1);
  t.deepEqual(types(b), []);
  b.proto.tick(T0 + 100 + interval);
  t.deepEqual(b.proto.takeOutbound().map((o) => o.data.length), [32]);
  b.peer.setPersistentKeepalive(0, T0 + 30_000);
  b.proto.tick(T0 + 200_000);
  t.false(b.proto.takeOutbound().some((o) => o.data.length === 32));
  void a;
});

test('key material is zeroed 3 × REJECT_AFTER_TIME after the last session was derived', (t) => {
  const { a, b } = established();
  a.proto.takeOutbound();
  const msg = Uint8Array.from(encap(b, pktBA(), T0 + 1)!);
  t.is(ZERO_KEY_MATERIAL_AFTER_MS, 540_000);
  a.proto.tick(T0 + ZERO_KEY_MATERIAL_AFTER_MS - 1);
  t.not(a.peer.current, null);
  a.proto.tick(T0 + ZERO_KEY_MATERIAL_AFTER_MS);
  t.is(a.peer.current, null);
  t.is(a.peer.previous, null);
  t.is(a.peer.next, null);
  t.deepEqual(deliver(b, a, msg, T0 + ZERO_KEY_MATERIAL_AFTER_MS).result, { kind: 'error', error: 'unknownIndex' });
});

test('a thousand idle peers: the next deadline is the one pending peer\'s, and tick fires it alone', (t) => {
  const { a } = makePair();
  const core = a.proto;
  for (let i = 0; i < 1000; i++) core.addPeer(referenceHandshakeCrypto.publicKey(generatePrivateKey(seededRng(1000 + i))));
  t.is(core.nextDeadline(), Infinity, 'idle peers have no pending timer');
  t.is(encap(a, pktAB(), T0), null); // a's peer b: no session yet, so an initiation goes out and a retry is due
  t.deepEqual(types(a), [1]);
  const due = a.peer.timers.retransmitHandshakeAt;
  t.is(core.nextDeadline(), due);
  core.tick(due - 1);
  t.deepEqual(types(a), []);
  core.tick(due);
  t.deepEqual(types(a), [1], 'the retry');
  t.true(core.nextDeadline() > due);
});
