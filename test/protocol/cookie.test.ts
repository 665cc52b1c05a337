import test from 'ava';
import { seededRng } from '../../src/crypto/random.js';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import { COOKIE_REFRESH_TIME_MS } from '../../src/protocol/constants.js';
import { CookieChecker, CookieGenerator } from '../../src/protocol/cookie.js';
import { INIT_OFF_MAC1, INIT_OFF_MAC2, parseCookieReply } from '../../src/protocol/messages.js';
import { LocalStatic } from '../../src/protocol/noise.js';
import { referenceHandshakeCrypto as crypto } from '../../src/crypto/reference-handshake.js';
import { deliver, encap, ipv4, makePair, type Side } from './helpers.js';

const T0 = 2_000_000;
const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

test('under load: initiation without mac2 gets a cookie reply; the retry carries a mac2 that is accepted', (t) => {
  const { a, b } = makePair();
  b.proto.underLoad = true;
  encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 8), T0);
  const [init1] = a.proto.takeOutbound();
  t.true(isZero(init1!.data.subarray(INIT_OFF_MAC2)), 'no cookie yet: mac2 is zero');
  t.deepEqual(deliver(a, b, init1!.data, T0).result, { kind: 'error', error: 'cookieSent' });
  const replies = b.proto.takeOutbound();
  t.is(replies.length, 1);
  t.is(replies[0]!.data.length, 64);
  t.is(replies[0]!.data[0], 3);
  t.is(replies[0]!.endpoint, a.ep);
  t.is(replies[0]!.peer, null);
  t.is(b.peer.next, null, 'no state created for the unverified initiation');

  t.deepEqual(deliver(b, a, replies[0]!.data, T0 + 1).result, { kind: 'done', peer: a.peer });
  t.true(a.peer.cookies.hasFreshCookie(T0 + 1));
  // A replayed cookie reply is not accepted twice.
  t.deepEqual(deliver(b, a, replies[0]!.data, T0 + 1).result, { kind: 'error', error: 'invalidCookieReply' });

  const retry = a.peer.timers.retransmitHandshakeAt;
  a.proto.tick(retry);
  const [init2] = a.proto.takeOutbound();
  t.false(isZero(init2!.data.subarray(INIT_OFF_MAC2)));
  // From another source address the cookie does not match: another cookie reply.
  const elsewhere: Side = { ...a, ep: '192.0.2.9:1234' };
  t.deepEqual(deliver(elsewhere, b, init2!.data, retry).result, { kind: 'error', error: 'cookieSent' });
  b.proto.takeOutbound();
  // From the right source it is processed normally.
  t.deepEqual(deliver(a, b, init2!.data, retry).result, { kind: 'done', peer: b.peer });
  t.is(b.proto.takeOutbound()[0]!.data[0], 2, 'a handshake response follows');
});

test('not under load, mac2 is not required', (t) => {
  const { a, b } = makePair();
  encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 8), T0);
  const [init] = a.proto.takeOutbound();
  t.deepEqual(deliver(a, b, init!.data, T0).result, { kind: 'done', peer: b.peer });
});

test('a cookie reply bound to another message (mac1 as AAD) or for another index is rejected', (t) => {
  const rng = seededRng(5);
  const responder = new LocalStatic(generatePrivateKey(rng), crypto);
  const checker = new CookieChecker(responder.publicKey, rng, crypto);
  const generator = new CookieGenerator(responder.publicKey, crypto);
  const msgX = new Uint8Array(148).fill(1);
  const msgY = new Uint8Array(148).fill(2);
  generator.addMacs(msgX, INIT_OFF_MAC1, T0);
  const replyX = checker.createReply(msgX, INIT_OFF_MAC1, 9, new Uint8Array([1, 2, 3]), T0);
  generator.addMacs(msgY, INIT_OFF_MAC1, T0); // the generator now remembers Y's mac1
  t.false(generator.consumeReply(parseCookieReply(replyX, 0), T0));
  t.false(generator.hasFreshCookie(T0));
  const replyY = checker.createReply(msgY, INIT_OFF_MAC1, 9, new Uint8Array([1, 2, 3]), T0);
  t.true(generator.consumeReply(parseCookieReply(replyY, 0), T0));
  // mac2 then verifies for that source only, and only until the secret rotates.
  const msgZ = new Uint8Array(148).fill(3);
  generator.addMacs(msgZ, INIT_OFF_MAC1, T0 + 1);
  t.true(checker.checkMac2(msgZ, INIT_OFF_MAC1, new Uint8Array([1, 2, 3]), T0 + 1));
  t.false(checker.checkMac2(msgZ, INIT_OFF_MAC1, new Uint8Array([1, 2, 4]), T0 + 1));
  t.false(checker.checkMac2(msgZ, INIT_OFF_MAC1, new Uint8Array([1, 2, 3]), T0 + COOKIE_REFRESH_TIME_MS + 1));

  // Through the protocol: a reply to a superseded initiation names a freed index.
  const { a, b } = makePair();
  b.proto.underLoad = true;
  encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 8), T0);
  const [init1] = a.proto.takeOutbound();
  deliver(a, b, init1!.data, T0);
  const [reply] = b.proto.takeOutbound();
  a.peer.sendHandshakeInitiation(T0 + 6000, false);
  a.proto.takeOutbound();
  t.deepEqual(deliver(b, a, reply!.data, T0 + 6000).result, { kind: 'error', error: 'unknownIndex' });
  t.false(a.peer.cookies.hasFreshCookie(T0 + 6000));
});
