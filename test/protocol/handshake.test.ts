import test from 'ava';
import { seededRng } from '../../src/crypto/random.js';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import { INIT_OFF_MAC1, INIT_OFF_TIMESTAMP } from '../../src/protocol/messages.js';
import { consumeInitiation, Handshake, LocalStatic } from '../../src/protocol/noise.js';
import { parseInitiation, parseResponse } from '../../src/protocol/messages.js';
import { Session } from '../../src/protocol/session.js';
import { referenceHandshakeCrypto } from '../../src/crypto/reference-handshake.js';
import { deliver, encap, handshake, ipv4, makePair, makeProtocol, pump, referenceAead, EP_B, type Side } from './helpers.js';

const T0 = 1_000_000;

function established(): { a: Side; b: Side } {
  const { a, b } = makePair();
  handshake(a, b, T0);
  return { a, b };
}

test('full handshake: staged packet delivered, both sides hold a session with matching indices', (t) => {
  const { a, b } = makePair();
  const log = handshake(a, b, T0);
  const kinds = log.map((d) => `${d.from === a ? 'A' : 'B'}:${d.result.kind}`);
  // A→B initiation, B→A response, A→B the staged packet (B then rotates `next` into `current`).
  t.deepEqual(kinds, ['A:done', 'B:done', 'A:tunnel']);
  const tunnel = log[2]!;
  t.deepEqual(tunnel.plaintext, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 8));
  t.not(a.peer.current, null);
  t.not(b.peer.current, null);
  t.is(b.peer.next, null);
  t.is(a.peer.current!.localIndex, b.peer.current!.remoteIndex);
  t.is(a.peer.current!.remoteIndex, b.peer.current!.localIndex);
  t.true(a.peer.current!.isInitiator);
  t.false(b.peer.current!.isInitiator);
  t.is(b.peer.endpoint, a.ep); // B learned A's endpoint from the authenticated initiation
});

test('transport both ways after the handshake, and a keepalive is consumed as done', (t) => {
  const { a, b } = established();
  const toB = ipv4([10, 9, 0, 1], [10, 9, 0, 2], 100, 1);
  const toA = ipv4([10, 9, 0, 2], [10, 9, 0, 1], 33, 2);
  const m1 = encap(a, toB, T0 + 10)!;
  t.is(m1.length, 16 + 128 + 16); // 120 bytes padded to 128
  const r1 = deliver(a, b, m1, T0 + 11);
  t.is(r1.result.kind, 'tunnel');
  t.deepEqual(r1.plaintext, toB);
  const m2 = encap(b, toA, T0 + 12)!;
  const r2 = deliver(b, a, m2, T0 + 13);
  t.deepEqual(r2.plaintext, toA);
  // Keepalive: empty plaintext.
  b.peer.sendKeepalive(T0 + 14);
  const [ka] = b.proto.takeOutbound();
  t.is(ka!.data.length, 32);
  const r3 = deliver(b, a, ka!.data, T0 + 15);
  t.deepEqual(r3.result, { kind: 'done', peer: a.peer });
});

test('a fixed-key, fixed-randomness handshake is reproducible and both sides derive the same keys', (t) => {
  const run = (): { init: Uint8Array; resp: Uint8Array; keysI: string; keysR: string } => {
    const rng = seededRng(42);
    const li = new LocalStatic(generatePrivateKey(rng), referenceHandshakeCrypto);
    const lr = new LocalStatic(generatePrivateKey(rng), referenceHandshakeCrypto);
    const psk = new Uint8Array(32).fill(7);
    const hsI = new Handshake(li, lr.publicKey, psk);
    const hsR = new Handshake(lr, li.publicKey, psk);
    const init = hsI.createInitiation(li, 0x11223344, 1_600_000_000_000, rng) as Uint8Array;
    const consumed = consumeInitiation(lr, parseInitiation(init, 0), () => ({ peer: 'i', handshake: hsR }), T0);
    t.is(typeof consumed, 'object');
    const resp = hsR.createResponse(0x55667788, rng) as Uint8Array;
    t.is(hsI.consumeResponse(li, parseResponse(resp, 0)), null);
    const ki = hsI.deriveKeys();
    const kr = hsR.deriveKeys();
    if (typeof ki === 'string' || typeof kr === 'string') throw new Error('derive failed');
    t.deepEqual(ki.sendKey, kr.recvKey);
    t.deepEqual(ki.recvKey, kr.sendKey);
    t.notDeepEqual(ki.sendKey, ki.recvKey);
    t.is(ki.localIndex, 0x11223344);
    t.is(kr.remoteIndex, 0x11223344);
    t.is(kr.localIndex, 0x55667788);
    const hexs = (k: typeof ki): string => Buffer.concat([k.sendKey, k.recvKey]).toString('hex');
    const out = { init, resp, keysI: hexs(ki), keysR: hexs(kr) };
    // Sessions made from these keys talk to each other.
    const si = new Session(ki, T0, referenceAead());
    const sr = new Session(kr, T0, referenceAead());
    const buf = new Uint8Array(64);
    const n = si.encrypt(Uint8Array.of(1, 2, 3), 0, 3, buf, 0);
    const plain = new Uint8Array(32);
    t.is(sr.decrypt(buf, 0, n, plain, 0), 16);
    t.deepEqual(plain.subarray(0, 3), Uint8Array.of(1, 2, 3));
    return out;
  };
  const first = run();
  const second = run();
  t.deepEqual(first.init, second.init);
  t.deepEqual(first.resp, second.resp);
  t.is(first.keysI, second.keysI);
  t.is(first.init.length, 148);
  t.is(first.resp.length, 92);
});

test('PSK is mixed in: mismatched preshared keys make the response fail to authenticate', (t) => {
  const { a, b } = makePair({ pskA: new Uint8Array(32).fill(1), pskB: new Uint8Array(32).fill(2) });
  const log = handshake(a, b, T0);
  t.is(log[0]!.result.kind, 'done'); // B accepts the initiation (PSK is not used until the response)
  t.deepEqual(log[1]!.result, { kind: 'error', error: 'decryptFailed' });
  t.is(a.peer.current, null);
  // Equal PSKs work.
  const ok = makePair({ pskA: new Uint8Array(32).fill(3), pskB: new Uint8Array(32).fill(3) });
  const log2 = handshake(ok.a, ok.b, T0);
  t.is(log2.at(-1)!.result.kind, 'tunnel');
});

test('tampered mac1 and a wrong responder key are rejected', (t) => {
  const { a, b } = makePair();
  encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 8), T0);
  const [init] = a.proto.takeOutbound();
  const tampered = Uint8Array.from(init!.data);
  tampered[INIT_OFF_MAC1]! ^= 1;
  t.deepEqual(deliver(a, b, tampered, T0).result, { kind: 'error', error: 'invalidMac1' });
  // Body changed but mac1 kept: also invalid mac1.
  const body = Uint8Array.from(init!.data);
  body[INIT_OFF_TIMESTAMP]! ^= 1;
  t.deepEqual(deliver(a, b, body, T0).result, { kind: 'error', error: 'invalidMac1' });
  // An unrelated responder (different static key) sees a mac1 made for B.
  const c = { proto: makeProtocol(99), peer: null as never, ep: EP_B };
  c.proto.addPeer(a.proto.local.publicKey);
  t.deepEqual(deliver(a, c, init!.data, T0).result, { kind: 'error', error: 'invalidMac1' });
  // The genuine one is accepted.
  t.is(deliver(a, b, init!.data, T0).result.kind, 'done');
});

test('an initiation from an unknown static key is rejected', (t) => {
  const { a, b } = makePair();
  b.proto.removePeer(b.peer);
  encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 8), T0);
  const [init] = a.proto.takeOutbound();
  t.deepEqual(deliver(a, b, init!.data, T0).result, { kind: 'error', error: 'unknownPeer' });
});

test('replayed initiation (same timestamp) and initiation flood are rejected', (t) => {
  const { a, b } = makePair();
  encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 8), T0);
  const [init] = a.proto.takeOutbound();
  t.is(deliver(a, b, init!.data, T0).result.kind, 'done');
  b.proto.takeOutbound();
  t.deepEqual(deliver(a, b, init!.data, T0 + 10_000).result, { kind: 'error', error: 'replayedTimestamp' });
  // A fresh initiation with a newer timestamp but within 20 ms of the last accepted one: flood.
  a.peer.sendHandshakeInitiation(T0 + 6_000, false);
  const [second] = a.proto.takeOutbound();
  t.deepEqual(deliver(a, b, second!.data, T0 + 15).result, { kind: 'error', error: 'initiationFlood' });
  t.is(deliver(a, b, second!.data, T0 + 21).result.kind, 'done');
});

test('transport rejections: replayed counter, out of window, unknown index, tampered tag', (t) => {
  const { a, b } = established();
  const msgs: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) msgs.push(Uint8Array.from(encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 4), T0 + 1)!));
  t.is(deliver(a, b, msgs[1]!, T0 + 2).result.kind, 'tunnel');
  t.deepEqual(deliver(a, b, msgs[1]!, T0 + 2).result, { kind: 'error', error: 'replayedCounter' });
  t.is(deliver(a, b, msgs[0]!, T0 + 2).result.kind, 'tunnel'); // out of order but inside the window
  // Jump the sender far ahead, then an old message is outside the window.
  a.peer.current!.setSendCounter(10_000n);
  t.is(deliver(a, b, encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 4), T0 + 3)!, T0 + 3).result.kind, 'tunnel');
  t.deepEqual(deliver(a, b, msgs[2]!, T0 + 3).result, { kind: 'error', error: 'replayedCounter' });
  const bad = Uint8Array.from(msgs[2]!);
  bad[bad.length - 1]! ^= 1;
  t.deepEqual(deliver(a, b, bad, T0 + 3).result, { kind: 'error', error: 'authFailed' });
  const unknown = Uint8Array.from(msgs[2]!);
  unknown[4]! ^= 0xff;
  t.deepEqual(deliver(a, b, unknown, T0 + 3).result, { kind: 'error', error: 'unknownIndex' });
});

test('counters at REJECT_AFTER_MESSAGES are never sent, and a message claiming one is rejected', (t) => {
  const { a, b } = established();
  const s = a.peer.current!;
  s.setSendCounter(2n ** 64n - 2n ** 13n - 2n); // the last usable counter
  const last = encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 4), T0 + 1)!;
  t.is(deliver(a, b, last, T0 + 1).result.kind, 'tunnel');
  t.false(s.canSend(T0 + 1));
  // The next packet is staged and a handshake starts instead of reusing or exceeding the counter.
  t.is(encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 4), T0 + 10_000), null);
  const queued = a.proto.takeOutbound();
  t.is(queued.length, 1);
  t.is(queued[0]!.data[0], 1);
  // A forged header with counter = REJECT_AFTER_MESSAGES is rejected before decryption.
  const forged = Uint8Array.from(last);
  const view = new DataView(forged.buffer);
  view.setUint32(8, 0xffff_dfff, true);
  view.setUint32(12, 0xffff_ffff, true);
  t.deepEqual(deliver(a, b, forged, T0 + 1).result, { kind: 'error', error: 'replayedCounter' });
});

test('packets whose inner source is not in the peer\'s allowed IPs are dropped', (t) => {
  const { a, b } = established();
  const spoofed = encap(a, ipv4([10, 9, 0, 77], [10, 9, 0, 2], 4), T0 + 1)!;
  t.deepEqual(deliver(a, b, spoofed, T0 + 1).result, { kind: 'error', error: 'disallowedSource' });
  const notIp = new Uint8Array(30).fill(0x11);
  const m = encap(a, notIp, T0 + 1)!;
  t.deepEqual(deliver(a, b, m, T0 + 1).result, { kind: 'error', error: 'badInnerPacket' });
});

test('garbage of every length 0..200 with random types never throws and is rejected', (t) => {
  const { a, b } = established();
  const rng = seededRng(7);
  let rejected = 0;
  for (let len = 0; len <= 200; len++) {
    for (let k = 0; k < 8; k++) {
      const buf = new Uint8Array(len);
      rng(buf);
      if (len > 0 && k < 5) buf[0] = (k % 4) + 1;
      if (len > 3 && k < 4) buf[1] = buf[2] = buf[3] = 0;
      const dst = new Uint8Array(len);
      const r = b.proto.decapsulate(buf, 0, len, 'x', T0 + 1, dst, 0);
      if (r.kind === 'error') rejected++;
    }
  }
  t.is(rejected, 201 * 8);
  // Still working afterwards.
  t.is(deliver(a, b, encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 4), T0 + 2)!, T0 + 2).result.kind, 'tunnel');
});

test('simultaneous initiations from both sides converge after one retransmission', (t) => {
  const { a, b } = makePair();
  b.peer.endpoint = a.ep;
  encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 8), T0);
  encap(b, ipv4([10, 9, 0, 2], [10, 9, 0, 1], 8), T0);
  const crossed = pump(a, b, T0);
  // Each side answered the other's initiation, which replaced its own: both responses are stale.
  t.deepEqual(crossed.filter((d) => d.result.kind === 'error').map((d) => d.result),
    [{ kind: 'error', error: 'unknownIndex' }, { kind: 'error', error: 'unknownIndex' }]);
  const retry = a.peer.timers.retransmitHandshakeAt;
  a.proto.tick(retry);
  pump(a, b, retry);
  t.is(b.peer.timers.retransmitHandshakeAt, Infinity); // B's handshake completed via A's retry
  const m = encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 8), retry + 100);
  t.not(m, null);
  t.is(deliver(a, b, m!, retry + 100).result.kind, 'tunnel');
  const m2 = encap(b, ipv4([10, 9, 0, 2], [10, 9, 0, 1], 8), retry + 100);
  t.is(deliver(b, a, m2!, retry + 100).result.kind, 'tunnel');
});
