import test from 'ava';
import fc from 'fast-check';
import { base64KeyProblem, clampPrivateKey, constantTimeEqual, decodeHexKey, decodeKey, encodeHexKey, encodeKey, generatePresharedKey, generatePrivateKey, KeyFormatError } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

// RFC 7748 §6.1: Alice's and Bob's X25519 key pairs.
const ALICE_PRIVATE = '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a';
const ALICE_PUBLIC = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
const BOB_PRIVATE = '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb';
const BOB_PUBLIC = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';

test('publicKeyOf matches the RFC 7748 X25519 vectors', (t) => {
  t.is(encodeHexKey(publicKeyOf(hex(ALICE_PRIVATE))), ALICE_PUBLIC);
  t.is(encodeHexKey(publicKeyOf(hex(BOB_PRIVATE))), BOB_PUBLIC);
});

test('publicKeyOf clamps: an unclamped key and its clamped form have the same public key', (t) => {
  const raw = hex(ALICE_PRIVATE); // byte 0 = 0x77 has low bits set, so clamping changes it
  const clamped = clampPrivateKey(new Uint8Array(raw));
  t.notDeepEqual(clamped, raw);
  t.deepEqual(publicKeyOf(raw), publicKeyOf(clamped));
});

test('generatePrivateKey returns clamped, distinct 32-byte keys', (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const k = generatePrivateKey(systemRng);
    t.is(k.length, 32);
    t.is(k[0]! & 7, 0, 'low three bits of byte 0 cleared');
    t.is(k[31]! & 0x80, 0, 'top bit of byte 31 cleared');
    t.is(k[31]! & 0x40, 0x40, 'second-top bit of byte 31 set');
    seen.add(encodeKey(k));
  }
  t.is(seen.size, 64);
});

test('generatePresharedKey is 32 random bytes and not clamped (some key has a low bit set)', (t) => {
  const keys = Array.from({ length: 32 }, () => generatePresharedKey(systemRng));
  t.true(keys.every((k) => k.length === 32));
  t.true(keys.some((k) => (k[0]! & 7) !== 0 || (k[31]! & 0x80) !== 0));
});

test('clampPrivateKey on all-ones and all-zeros', (t) => {
  const ones = clampPrivateKey(new Uint8Array(32).fill(0xff));
  t.is(ones[0], 0xf8);
  t.is(ones[31], 0x7f);
  const zeros = clampPrivateKey(new Uint8Array(32));
  t.is(zeros[0], 0);
  t.is(zeros[31], 0x40);
});

test('base64 round-trips any 32 bytes, always 44 chars ending in "="', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
      const text = encodeKey(bytes);
      return text.length === 44 && text.endsWith('=') && constantTimeEqual(decodeKey(text), bytes);
    }),
  );
  t.is(encodeKey(hex(ALICE_PUBLIC)), 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=');
});

test('decodeKey rejects 43 and 45 characters, missing padding, non-base64, non-canonical', (t) => {
  const good = encodeKey(hex(ALICE_PUBLIC));
  const cases: [string, RegExp][] = [
    [good.slice(1), /expected 44 base64 characters, got 43/],
    [good + 'A', /expected 44 base64 characters, got 45/],
    [good.slice(0, 43) + 'A', /must end with '='/],
    ['!' + good.slice(1), /character 1 is not in the base64 alphabet/],
    [good.slice(0, 10) + '-' + good.slice(11), /character 11 is not in the base64 alphabet/],
    // 'o' → 'p' changes only the two padding bits of the last character: `wg` rejects that too.
    [good.slice(0, 42) + 'p=', /not canonical/],
    ['', /got 0/],
  ];
  for (const [text, reason] of cases) {
    const e = t.throws(() => decodeKey(text), { instanceOf: KeyFormatError });
    t.regex(e.message, reason, JSON.stringify(text));
    t.is(base64KeyProblem(text), e.reason);
  }
  t.is(base64KeyProblem(good), undefined);
});

test('hex: 64 lowercase digits out, either case in, anything else rejected', (t) => {
  const key = hex(BOB_PUBLIC);
  t.is(encodeHexKey(key), BOB_PUBLIC);
  t.deepEqual(decodeHexKey(BOB_PUBLIC), key);
  t.deepEqual(decodeHexKey(BOB_PUBLIC.toUpperCase()), key);
  t.throws(() => decodeHexKey(BOB_PUBLIC.slice(2)), { instanceOf: KeyFormatError, message: /expected 64 hex digits, got 62/ });
  t.throws(() => decodeHexKey('g' + BOB_PUBLIC.slice(1)), { instanceOf: KeyFormatError, message: /not a hex digit/ });
});

test('constantTimeEqual', (t) => {
  const a = hex(ALICE_PUBLIC);
  t.true(constantTimeEqual(a, new Uint8Array(a)));
  const b = new Uint8Array(a);
  b[31]! ^= 1;
  t.false(constantTimeEqual(a, b));
  t.false(constantTimeEqual(a, a.subarray(0, 31)));
  t.true(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)));
});

test('functions taking a key reject wrong lengths', (t) => {
  t.throws(() => encodeKey(new Uint8Array(31)), { instanceOf: KeyFormatError });
  t.throws(() => publicKeyOf(new Uint8Array(33)), { instanceOf: KeyFormatError });
});

test('systemRng: small draws come from its pool, large ones straight from the OS; all are fresh and whole', (t) => {
  const seen = new Set<string>();
  for (const size of [1, 4, 16, 32, 255, 256, 1000, 5000]) {
    for (let k = 0; k < 50; k++) {
      const buf = new Uint8Array(size);
      systemRng(buf);
      const hex = Buffer.from(buf).toString('hex');
      // 50 draws of the same size never repeat (a repeat of 4+ random bytes would be a broken pool).
      if (size >= 4) t.false(seen.has(hex), `size ${size} repeated`);
      seen.add(hex);
    }
  }
  // Over many 1-byte draws (pool refills included) every byte value turns up: the pool is not stuck or zeroed.
  const counts = new Set<number>();
  const one = new Uint8Array(1);
  for (let k = 0; k < 20_000; k++) {
    systemRng(one);
    counts.add(one[0]!);
  }
  t.is(counts.size, 256);
});
