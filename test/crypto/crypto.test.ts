import test from 'ava';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hash, hmac, kdf, keyedBlake2s, mac } from '../../src/crypto/blake2s.js';
import { KeyFormatError } from '../../src/crypto/keys.js';
import { aeadOpen, aeadSeal, counterNonce, xaeadOpen, xaeadSeal } from '../../src/crypto/aead.js';
import { TransportAead } from '../../src/crypto/transport-aead.js';
import { nativeAeadBackend } from '../../src/crypto/native-aead.js';
import { referenceAeadBackend } from '../../src/crypto/reference-aead.js';
import { paddedLength } from '../../src/protocol/session.js';
import { dh, publicKeyOf as publicKey } from '../../src/crypto/x25519.js';
import type { HandshakeCrypto } from '../../src/crypto/handshake-crypto.js';
import { nativeHandshakeCrypto } from '../../src/crypto/native-handshake.js';
import { referenceHandshakeCrypto } from '../../src/crypto/reference-handshake.js';
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { INITIAL_CHAIN_KEY, INITIAL_HASH } from '../../src/protocol/noise.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

test('BLAKE2s-256 RFC 7693 "abc" vector and OpenSSL agree', (t) => {
  t.is(toHex(hash(ascii('abc'))), '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982');
  for (const len of [0, 1, 63, 64, 65, 200]) {
    const m = randomBytes(len);
    t.is(toHex(hash(m.subarray(0, len >> 1), m.subarray(len >> 1))), createHash('blake2s256').update(m).digest('hex'));
  }
});

test('keyed BLAKE2s: reference KAT (key 00..1f, empty input) and 16-byte MAC length', (t) => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  t.is(toHex(keyedBlake2s(key, new Uint8Array(0), 32)), '48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49');
  t.is(mac(key, ascii('x')).length, 16);
  t.notDeepEqual(mac(key, ascii('x')), mac(key, ascii('y')));
});

test('HMAC-BLAKE2s matches OpenSSL HMAC(blake2s256)', (t) => {
  for (let i = 0; i < 20; i++) {
    const key = randomBytes(32);
    const msg = randomBytes(i * 7);
    t.is(toHex(hmac(key, msg)), createHmac('blake2s256', key).update(msg).digest('hex'));
  }
});

test('KDF1/2/3 follow the whitepaper HKDF chain', (t) => {
  const ck = randomBytes(32);
  const input = randomBytes(32);
  const h = (k: Uint8Array, m: Uint8Array): Buffer => createHmac('blake2s256', k).update(m).digest();
  const prk = h(ck, input);
  const t1 = h(prk, Uint8Array.of(1));
  const t2 = h(prk, Buffer.concat([t1, Uint8Array.of(2)]));
  const t3 = h(prk, Buffer.concat([t2, Uint8Array.of(3)]));
  const [a] = kdf(1, ck, input);
  const [b1, b2] = kdf(2, ck, input);
  const [c1, c2, c3] = kdf(3, ck, input);
  t.is(toHex(a), t1.toString('hex'));
  t.deepEqual([toHex(b1), toHex(b2)], [t1.toString('hex'), t2.toString('hex')]);
  t.deepEqual([toHex(c1), toHex(c2), toHex(c3)], [t1, t2, t3].map((x) => x.toString('hex')));
});

test('Noise construction constants: initial chaining key and hash', (t) => {
  t.is(toHex(INITIAL_CHAIN_KEY), '60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36');
  t.is(toHex(INITIAL_HASH), '2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3');
});

const SUITES: Array<[string, HandshakeCrypto]> = [['native', nativeHandshakeCrypto], ['reference', referenceHandshakeCrypto]];

test('X25519 RFC 7748 vectors; low-order point rejected (x25519.ts and both handshake suites)', (t) => {
  const native = { dh, publicKey } as const;
  for (const [name, c] of [['x25519.ts', native], ...SUITES] as const) {
    t.is(toHex(c.dh(hex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'),
      hex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c'))!),
    'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552', name);
    const alice = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bob = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    t.is(toHex(c.publicKey(alice)), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', name);
    t.is(toHex(c.publicKey(bob)), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', name);
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    t.is(toHex(c.dh(alice, c.publicKey(bob))!), shared, name);
    t.is(toHex(c.dh(bob, c.publicKey(alice))!), shared, name);
    t.is(c.dh(alice, new Uint8Array(32)), null, name);
  }
});

const SUNSCREEN = ascii("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
const KEY_80 = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
const AAD = hex('50515253c0c1c2c3c4c5c6c7');

test('ChaCha20-Poly1305 RFC 8439 §2.8.2 vector; WireGuard counter-nonce layout', (t) => {
  const nonce = hex('070000004041424344454647');
  const sealed = chacha20poly1305(KEY_80, nonce, AAD).encrypt(SUNSCREEN);
  t.is(toHex(sealed.subarray(0, 16)), 'd31a8d34648e60db7b86afbc53ef7ec2');
  t.is(toHex(sealed.subarray(sealed.length - 16)), '1ae10b594f09e26a7e902ecbd0600691');
  // Our counter-nonce layout: 4 zero bytes then the u64 LE counter.
  t.is(toHex(counterNonce(0x0102030405)), '000000000504030201000000');
});

test('XChaCha20-Poly1305 draft-irtf-cfrg-xchacha A.3.1 vector; tamper and wrong AAD rejected', (t) => {
  const nonce = hex('404142434445464748494a4b4c4d4e4f5051525354555657');
  const sealed = xaeadSeal(KEY_80, nonce, SUNSCREEN, AAD);
  t.is(toHex(sealed.subarray(0, 16)), 'bd6d179d3e83d43b9576579493c0e939');
  t.is(toHex(sealed.subarray(sealed.length - 16)), 'c0875924c1c7987947deafd8780acf49');
  t.deepEqual(xaeadOpen(KEY_80, nonce, sealed, AAD), SUNSCREEN);
  t.is(xaeadOpen(KEY_80, nonce, sealed, new Uint8Array(0)), null);
  sealed[3]! ^= 1;
  t.is(xaeadOpen(KEY_80, nonce, sealed, AAD), null);
});

test('handshake AEAD round-trips and rejects a wrong counter', (t) => {
  const key = randomBytes(32);
  const sealed = aeadSeal(key, 7, ascii('hello'), ascii('h'));
  t.deepEqual(aeadOpen(key, 7, sealed, ascii('h')), ascii('hello'));
  t.is(aeadOpen(key, 8, sealed, ascii('h')), null);
  t.is(aeadOpen(key, 7, sealed.subarray(0, 10), ascii('h')), null);
});

test('the native transport AEAD equals noble ChaCha20-Poly1305 on random inputs, in batches and alone, in place', (t) => {
  const native = new TransportAead(nativeAeadBackend());
  const reference = new TransportAead(referenceAeadBackend);
  for (let round = 0; round < 20; round++) {
    // A batch of packets of random lengths (0..1500), counters above 2^32 now and then, sealed into one buffer.
    const n = 1 + (randomBytes(1)[0]! % 40);
    const key = randomBytes(32);
    const plains = Array.from({ length: n }, (_, i) => randomBytes(round === 0 && i === 0 ? 0 : randomBytes(2).readUInt16LE() % 1500));
    const counters = plains.map((_, i) => ({ hi: i % 3 === 0 ? randomBytes(4).readUInt32LE() : 0, lo: randomBytes(4).readUInt32LE() }));
    const src = new Uint8Array(n * 1600);
    plains.forEach((p, i) => src.set(p, i * 1600));
    const sealAll = (aead: TransportAead): Uint8Array => {
      const dst = new Uint8Array(n * 1600 + 7);
      aead.beginSeals(src, dst);
      plains.forEach((p, i) => aead.seal(key, counters[i]!.hi, counters[i]!.lo, src, i * 1600, p.length, paddedLength(p.length), dst, 7 + i * 1600));
      aead.endSeals();
      return dst;
    };
    const fast = sealAll(native);
    const slow = sealAll(reference);
    t.is(toHex(fast), toHex(slow), `round ${round}`);
    // Each packet also equals noble's own answer, padding included.
    const i = n - 1;
    const padded = new Uint8Array(paddedLength(plains[i]!.length));
    padded.set(plains[i]!);
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setUint32(4, counters[i]!.lo, true);
    new DataView(nonce.buffer).setUint32(8, counters[i]!.hi, true);
    const expected = chacha20poly1305(key, nonce).encrypt(padded);
    t.is(toHex(fast.subarray(7 + i * 1600, 7 + i * 1600 + expected.length)), toHex(expected));

    // Opening in a batch: every packet verifies and decrypts; a flipped bit fails that packet only.
    const victim = randomBytes(1)[0]! % n;
    fast[7 + victim * 1600 + 3]! ^= 0x01;
    const back = new Uint8Array(n * 1600);
    native.beginOpens(fast, back);
    const jobs = plains.map((p, k) => native.queueOpen(key, counters[k]!.hi, counters[k]!.lo, 7 + k * 1600, paddedLength(p.length) + 16, k * 1600));
    t.is(native.runOpens(), n);
    jobs.forEach((job, k) => {
      t.is(native.opened(job), k !== victim, `packet ${k}`);
      if (k !== victim) t.is(toHex(back.subarray(k * 1600, k * 1600 + plains[k]!.length)), toHex(plains[k]!));
    });
    // Alone, in place: noble's ciphertext opens; a wrong counter does not.
    const inPlace = Uint8Array.from(expected);
    t.is(native.openNow(key, counters[i]!.hi, counters[i]!.lo, inPlace, 0, inPlace.length, inPlace, 0), padded.length);
    t.is(toHex(inPlace.subarray(0, padded.length)), toHex(padded));
    t.is(native.openNow(key, counters[i]!.hi, counters[i]!.lo ^ 1, expected, 0, expected.length, new Uint8Array(padded.length), 0), -1);
  }
});

test('the native AEAD refuses a job outside its buffer before running any', (t) => {
  const aead = new TransportAead(nativeAeadBackend());
  const src = new Uint8Array(100);
  const dst = new Uint8Array(100);
  aead.beginSeals(src, dst);
  aead.seal(new Uint8Array(32), 0, 1, src, 0, 16, 16, dst, 0);
  aead.seal(new Uint8Array(32), 0, 2, src, 0, 80, 80, dst, 20); // 80 + 16-byte tag from 20 overruns dst
  t.throws(() => aead.endSeals(), { instanceOf: RangeError, message: /packet 1 lies outside its buffer/ });
  t.true(dst.every((b) => b === 0), 'nothing was written');
});

test('a batch shared among native helper threads gives the same bytes and verdicts as one thread', (t) => {
  const n = 300;
  const key = randomBytes(32);
  const src = randomBytes(n * 1500);
  const run = (threads: number) => {
    const aead = new TransportAead(nativeAeadBackend(threads));
    const sealed = new Uint8Array(n * 1500);
    aead.beginSeals(src, sealed);
    for (let i = 0; i < n; i++) aead.seal(key, 0, i, src, i * 1500, 1408 - (i % 16), 1408, sealed, i * 1500);
    aead.endSeals();
    sealed[7 * 1500 + 5]! ^= 1; // one bad packet
    const opened = new Uint8Array(n * 1500);
    aead.beginOpens(sealed, opened);
    const jobs = Array.from({ length: n }, (_, i) => aead.queueOpen(key, 0, i, i * 1500, 1408 + 16, i * 1500));
    aead.runOpens();
    return { sealed: toHex(sealed), opened: toHex(opened), ok: jobs.map((j) => aead.opened(j)) };
  };
  try {
    const one = run(1);
    const four = run(4);
    t.is(four.sealed, one.sealed);
    t.is(four.opened, one.opened);
    t.deepEqual(four.ok, one.ok);
    t.deepEqual(one.ok.map((ok, i) => (ok ? -1 : i)).filter((i) => i >= 0), [7]);
  } finally {
    nativeAeadBackend(1);
  }
});

test('MAC of both suites (the native through the addon) equals @noble keyed BLAKE2s-128 on random keys and inputs; macInto reads a range', (t) => {
  for (const [name, c] of SUITES) {
    for (let i = 0; i < 300; i++) {
      const key = randomBytes(i % 3 === 0 ? 16 : 32);
      const data = randomBytes(i);
      t.is(toHex(c.mac(key, data)), toHex(keyedBlake2s(key, data, 16)), `${name} length ${i}`);
      const out = new Uint8Array(16);
      const padded = Buffer.concat([randomBytes(5), data, randomBytes(3)]);
      c.macInto(key, padded, 5, data.length, out);
      t.is(toHex(out), toHex(keyedBlake2s(key, data, 16)), name);
    }
    t.throws(() => c.macInto(new Uint8Array(0), new Uint8Array(4), 0, 4, new Uint8Array(16)), { instanceOf: RangeError }, name);
    t.throws(() => c.macInto(new Uint8Array(16), new Uint8Array(4), 2, 4, new Uint8Array(16)), { instanceOf: RangeError }, name);
  }
});

test('X25519 through the addon (x25519.ts, the native suite) equals @noble/curves (the reference suite): public keys and shared secrets of random keys', (t) => {
  for (let i = 0; i < 100; i++) {
    const a = randomBytes(32);
    const b = randomBytes(32);
    t.is(toHex(publicKey(a)), toHex(nobleX25519.getPublicKey(a)));
    t.is(toHex(nativeHandshakeCrypto.publicKey(a)), toHex(referenceHandshakeCrypto.publicKey(a)));
    t.is(toHex(dh(a, publicKey(b))!), toHex(nobleX25519.getSharedSecret(a, nobleX25519.getPublicKey(b))));
    t.is(toHex(nativeHandshakeCrypto.dh(a, publicKey(b))!), toHex(referenceHandshakeCrypto.dh(a, publicKey(b))!));
  }
  for (const [name, c] of SUITES) {
    t.is(c.dh(randomBytes(32), new Uint8Array(32)), null, `${name}: the zero point is low order`);
    t.is(c.dh(randomBytes(31), randomBytes(32)), null, `${name}: a malformed key`);
    t.throws(() => c.publicKey(new Uint8Array(33)), { instanceOf: KeyFormatError }, name);
  }
});
