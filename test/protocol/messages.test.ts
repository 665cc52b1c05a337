import test from 'ava';
import { seededRng } from '../../src/crypto/random.js';
import {
  classify, formatCookieReply, formatInitiation, formatResponse, parseCookieReply, parseInitiation, parseResponse,
  transportCounterHi, transportCounterLo, transportReceiver, writeTransportHeader,
} from '../../src/protocol/messages.js';
import { compareTai64n, tai64n } from '../../src/protocol/tai64n.js';

const filled = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

test('classify dispatches on (type, length) together for every length 0..200', (t) => {
  for (let len = 0; len <= 200; len++) {
    for (let type = 0; type <= 5; type++) {
      const b = new Uint8Array(len);
      if (len > 0) b[0] = type;
      const got = classify(b, 0, len);
      let want: ReturnType<typeof classify>;
      if (len < 4) want = 'tooShort';
      else if (type === 1) want = len === 148 ? 1 : 'badLength';
      else if (type === 2) want = len === 92 ? 2 : 'badLength';
      else if (type === 3) want = len === 64 ? 3 : 'badLength';
      else if (type === 4) want = len >= 32 ? 4 : 'badLength';
      else want = 'unknownType';
      t.is(got, want, `type ${type} len ${len}`);
    }
  }
});

test('reserved bytes must be zero; offsets and short buffers are handled', (t) => {
  const m = new Uint8Array(148);
  m[0] = 1;
  m[2] = 1;
  t.is(classify(m, 0, 148), 'reservedNotZero');
  const big = new Uint8Array(200);
  big[10] = 4;
  t.is(classify(big, 10, 40), 4);
  t.is(classify(big, 190, 40), 'tooShort'); // claims more than the buffer holds
  const rng = seededRng(3);
  for (let i = 0; i < 2000; i++) {
    const b = new Uint8Array(i % 211);
    rng(b);
    t.notThrows(() => classify(b, 0, b.length));
  }
});

test('initiation, response and cookie reply round-trip through format/parse', (t) => {
  const init = formatInitiation({ senderIndex: 0xdeadbeef, ephemeral: filled(32, 1), encryptedStatic: filled(48, 2), encryptedTimestamp: filled(28, 3) });
  t.is(init.length, 148);
  t.is(classify(init, 0, init.length), 1);
  const pi = parseInitiation(init, 0);
  t.is(pi.senderIndex, 0xdeadbeef);
  t.deepEqual([pi.ephemeral, pi.encryptedStatic, pi.encryptedTimestamp, pi.mac1, pi.mac2],
    [filled(32, 1), filled(48, 2), filled(28, 3), filled(16, 0), filled(16, 0)]);
  const resp = formatResponse({ senderIndex: 1, receiverIndex: 0x80000000, ephemeral: filled(32, 4), encryptedNothing: filled(16, 5) });
  t.is(classify(resp, 0, resp.length), 2);
  const pr = parseResponse(resp, 0);
  t.deepEqual([pr.senderIndex, pr.receiverIndex, pr.ephemeral, pr.encryptedNothing], [1, 0x80000000, filled(32, 4), filled(16, 5)]);
  const cookie = formatCookieReply({ receiverIndex: 7, nonce: filled(24, 6), encryptedCookie: filled(32, 7) });
  t.is(classify(cookie, 0, cookie.length), 3);
  const pc = parseCookieReply(cookie, 0);
  t.deepEqual([pc.receiverIndex, pc.nonce, pc.encryptedCookie], [7, filled(24, 6), filled(32, 7)]);
});

test('transport header little-endian layout', (t) => {
  const b = new Uint8Array(40);
  writeTransportHeader(b, 4, 0x01020304, 0x0a0b0c0d, 0x11223344);
  t.deepEqual([...b.subarray(4, 20)], [4, 0, 0, 0, 4, 3, 2, 1, 0x44, 0x33, 0x22, 0x11, 0x0d, 0x0c, 0x0b, 0x0a]);
  t.is(transportReceiver(b, 4), 0x01020304);
  t.is(transportCounterHi(b, 4), 0x0a0b0c0d);
  t.is(transportCounterLo(b, 4), 0x11223344);
});

test('TAI64N: 12 bytes, 2^62 label, ordered by time', (t) => {
  const a = tai64n(1_700_000_000_000);
  t.is(a.length, 12);
  t.is(a[0], 0x40);
  t.is(new DataView(a.buffer).getUint32(4), 1_700_000_000);
  t.true(compareTai64n(tai64n(1_700_000_000_100), a) > 0);
  t.true(compareTai64n(a, tai64n(1_700_000_001_000)) < 0);
  t.is(compareTai64n(a, tai64n(1_700_000_000_000)), 0);
});
