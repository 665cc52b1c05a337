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

/**
 * TAI64N as the kernel and wireguard-go write it: seconds = 0x400000000000000a + Unix seconds (2^62 plus the 10 s
 * TAI-UTC offset of 1970, cr.yp.to/libtai/tai64.html), nanoseconds rounded down to a multiple of 2^24.
 * 1_700_000_000 s = 0x6553f100, so its seconds field is 0x400000006553f10a; 123 ms = 123_000_000 ns, and
 * floor(123_000_000 / 2^24) = 7, so the nanoseconds field is 7·2^24 = 0x07000000.
 */
test('TAI64N: the kernel\'s and wireguard-go\'s encoding of a known instant', (t) => {
  const a = tai64n(1_700_000_000_123);
  t.deepEqual([...a], [0x40, 0, 0, 0, 0x65, 0x53, 0xf1, 0x0a, 0x07, 0, 0, 0]);
  // Unix second 0 is TAI64 label 0x400000000000000a.
  t.deepEqual([...tai64n(0)], [0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0]);
  // The +10 carries into the high word: Unix second 2^32 - 10 (in 2106) is 0x4000000100000000.
  t.deepEqual([...tai64n((2 ** 32 - 10) * 1000)], [0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
});

/** An independent encoder (BigInt) of the same rule, as the oracle for many instants. */
function referenceStamp(ms: number): number[] {
  const secs = BigInt(Math.floor(ms / 1000)) + 0x400000000000000an;
  const nanos = ((ms % 1000) * 1_000_000) & ~0xffffff;
  const out: number[] = [];
  for (let i = 7; i >= 0; i--) out.push(Number((secs >> BigInt(8 * i)) & 0xffn));
  for (let i = 3; i >= 0; i--) out.push((nanos >>> (8 * i)) & 0xff);
  return out;
}

test('TAI64N: equal to the reference encoding at any instant, ordered by time', (t) => {
  for (const ms of [1, 999, 1000, 16_777, 16_778, 1_700_000_000_000, 1_700_000_000_999, 1_767_225_599_983, 4_102_444_800_500]) {
    t.deepEqual([...tai64n(ms)], referenceStamp(ms), `at ${ms} ms`);
  }
  const a = tai64n(1_700_000_000_000);
  t.is(a.length, 12);
  t.true(compareTai64n(tai64n(1_700_000_000_100), a) > 0);
  t.true(compareTai64n(a, tai64n(1_700_000_001_000)) < 0);
  t.is(compareTai64n(a, tai64n(1_700_000_000_000)), 0);
  // Within one 2^24 ns grain the stamps are equal (the whitening), across grains they order.
  t.is(compareTai64n(tai64n(1_700_000_000_001), tai64n(1_700_000_000_016)), 0);
  t.true(compareTai64n(tai64n(1_700_000_000_017), tai64n(1_700_000_000_016)) > 0);
});

test('TAI64N: a stamp the kernel or wireguard-go wrote a second ago is older than ours now (a key that moves)', (t) => {
  const now = 1_700_000_123_456;
  for (const earlier of [now - 1000, now - 5000, now - 9000]) {
    t.true(compareTai64n(tai64n(now), Uint8Array.from(referenceStamp(earlier))) > 0, `${now - earlier} ms earlier`);
  }
  // And the other way round: ours from a second ago is older than theirs now.
  t.true(compareTai64n(Uint8Array.from(referenceStamp(now)), tai64n(now - 1000)) > 0);
});
