/**
 * The protocol core's events (protocol/events.ts): what the device counts and logs, recorded by the pure core in
 * the order things happened, with the reason of every initiation and every rejected handshake message.
 */
import test from 'ava';
import { MAX_QUEUED_EVENTS, type PeerEvent } from '../../src/protocol/index.js';
import { REKEY_AFTER_TIME_MS } from '../../src/protocol/constants.js';
import { generatePresharedKey } from '../../src/crypto/keys.js';
import { seededRng } from '../../src/crypto/random.js';
import { EP_A, EP_B, deliver, encap, handshake, ipv4, makePair, pump, type Side } from './helpers.js';

const T0 = 7_000_000;
const kinds = (side: Side): string[] => side.proto.takeEvents().map((e) => e.kind);
const pktAB = (): Uint8Array => ipv4([10, 9, 0, 1], [10, 9, 0, 2], 10);

test('a handshake records each step on both sides, a first session, and the responder\'s session on first data', (t) => {
  const { a, b } = makePair();
  handshake(a, b, T0);
  t.deepEqual(kinds(a), ['initiationSent', 'responseReceived', 'sessionEstablished']);
  const eb = b.proto.takeEvents();
  t.deepEqual(eb.map((e) => e.kind), ['initiationReceived', 'endpointChanged', 'responseSent', 'sessionEstablished']);
  const sa = eb.at(-1) as Extract<PeerEvent<string>, { kind: 'sessionEstablished' }>;
  t.like(sa, { initiator: false, first: true, rekey: false, endpoint: EP_A });
  const changed = eb[1] as Extract<PeerEvent<string>, { kind: 'endpointChanged' }>;
  t.like(changed, { from: undefined, to: EP_A });
});

test('a PresharedKey mismatch: the initiator records the response as failed with decryptFailed, naming the peer', (t) => {
  const rng = seededRng(9);
  const { a, b } = makePair({ pskA: generatePresharedKey(rng), pskB: generatePresharedKey(rng) });
  encap(a, pktAB(), T0);
  pump(a, b, T0);
  const failed = a.proto.takeEvents().find((e) => e.kind === 'handshakeFailed');
  t.like(failed, { kind: 'handshakeFailed', message: 'response', reason: 'decryptFailed', peer: a.peer, endpoint: EP_B });
});

test('a replayed initiation is recorded as replayedTimestamp, naming its peer', (t) => {
  const { a, b } = makePair();
  encap(a, pktAB(), T0);
  const [init] = a.proto.takeOutbound();
  deliver(a, b, init!.data, T0);
  b.proto.takeEvents();
  deliver(a, b, init!.data, T0 + 1000);
  const failed = b.proto.takeEvents().find((e) => e.kind === 'handshakeFailed');
  t.like(failed, { message: 'initiation', reason: 'replayedTimestamp', peer: b.peer, endpoint: EP_A });
});

test('an initiation from a stranger is recorded as unknownPeer with its public key', (t) => {
  const { a } = makePair({ seedA: 1, seedB: 2 });
  // `other` knows a, but a's peer list does not hold other's key: its initiation decrypts but names nobody a knows.
  const other = makePair({ seedA: 5, seedB: 6 });
  const p = other.a.proto.addPeer(a.proto.local.publicKey);
  p.endpoint = EP_A;
  encap({ ...other.a, peer: p }, pktAB(), T0);
  const [init] = other.a.proto.takeOutbound();
  deliver(other.a, a, init!.data, T0);
  const failed = a.proto.takeEvents().find((e) => e.kind === 'handshakeFailed') as Extract<PeerEvent<string>, { kind: 'handshakeFailed' }>;
  t.is(failed.reason, 'unknownPeer');
  t.is(failed.peer, null);
  t.deepEqual(failed.unknownKey, other.a.proto.local.publicKey);
});

test('initiations say why: staged, rekey, retry; giving up is recorded once', (t) => {
  const { a, b } = makePair();
  handshake(a, b, T0);
  a.proto.takeEvents();
  encap(a, pktAB(), T0 + REKEY_AFTER_TIME_MS + 1);
  const rekey = a.proto.takeEvents().find((e) => e.kind === 'initiationSent');
  t.like(rekey, { reason: 'rekey', attempt: 1 });

  const lone = makePair().a;
  encap(lone, pktAB(), T0);
  let gaveUp = 0;
  const reasons = new Set<string>();
  for (let i = 0; i < 40; i++) {
    lone.proto.tick(lone.peer.timers.retransmitHandshakeAt);
    for (const e of lone.proto.takeEvents()) {
      if (e.kind === 'initiationSent') reasons.add(e.reason);
      if (e.kind === 'handshakeGaveUp') gaveUp++;
    }
    if (lone.peer.timers.retransmitHandshakeAt === Infinity) break;
  }
  t.deepEqual([...reasons].sort(), ['retry', 'staged']);
  t.is(gaveUp, 1);
});

test('the event queue is bounded: nobody draining it costs nothing beyond MAX_QUEUED_EVENTS', (t) => {
  const { a, b } = makePair();
  const junk = new Uint8Array(148);
  junk[0] = 1;
  for (let i = 0; i < MAX_QUEUED_EVENTS + 10; i++) deliver(a, b, junk, T0 + i);
  t.is(b.proto.takeEvents().length, MAX_QUEUED_EVENTS);
  t.is(b.proto.eventsLost, 10);
});
