/**
 * The flood generator's pure parts: the initiations it builds pass the victim's own MAC1 check (protocol/cookie.ts)
 * and are distinct; options, source ranges and the token bucket (time passed in). Nothing is sent.
 */
import test from 'ava';
import { encodeKey, generatePrivateKey } from '../../../src/crypto/keys.js';
import { publicKeyOf } from '../../../src/crypto/x25519.js';
import { seededRng, systemRng } from '../../../src/crypto/random.js';
import { buildInitiationPool, parseFloodArgs, TokenBucket, DEFAULT_RATE } from '../../../bench/flood/flooder.js';
import { sourceAddresses } from '../../../bench/common/ipv4.js';
import { CookieChecker } from '../../../src/protocol/cookie.js';
import { INITIATION_BYTES, MAC_BYTES } from '../../../src/protocol/constants.js';
import { classify, INIT_OFF_MAC1, INIT_OFF_MAC2, parseInitiation } from '../../../src/protocol/messages.js';
import { nativeHandshakeCrypto } from '../../../src/crypto/native-handshake.js';

const victim = publicKeyOf(generatePrivateKey(systemRng));

test('every pooled message is an initiation whose MAC1 the victim accepts, with an empty MAC2', (t) => {
  const count = 64;
  const pool = buildInitiationPool(victim, count, seededRng(1));
  t.is(pool.length, count * INITIATION_BYTES);
  const checker = new CookieChecker(victim, seededRng(2), nativeHandshakeCrypto);
  for (let i = 0; i < count; i++) {
    const msg = pool.subarray(i * INITIATION_BYTES, (i + 1) * INITIATION_BYTES);
    t.is(classify(msg, 0, msg.length), 1, `message ${i} classifies as an initiation`);
    t.true(checker.checkMac1(msg, INIT_OFF_MAC1), `message ${i}: MAC1 valid`);
    t.deepEqual(msg.subarray(INIT_OFF_MAC2, INIT_OFF_MAC2 + MAC_BYTES), new Uint8Array(MAC_BYTES), `message ${i}: MAC2 zero`);
  }
});

test('MAC1 is bound to the victim: another key rejects every message', (t) => {
  const pool = buildInitiationPool(victim, 16, seededRng(3));
  const other = new CookieChecker(publicKeyOf(generatePrivateKey(systemRng)), seededRng(4), nativeHandshakeCrypto);
  for (let i = 0; i < 16; i++) t.false(other.checkMac1(pool.subarray(i * INITIATION_BYTES, (i + 1) * INITIATION_BYTES), INIT_OFF_MAC1));
});

test('pooled messages differ in sender index, ephemeral and encrypted fields', (t) => {
  const count = 256;
  const pool = buildInitiationPool(victim, count, seededRng(5));
  const seen = { sender: new Set<number>(), ephemeral: new Set<string>(), statics: new Set<string>(), stamps: new Set<string>() };
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  for (let i = 0; i < count; i++) {
    const m = parseInitiation(pool, i * INITIATION_BYTES);
    seen.sender.add(m.senderIndex);
    seen.ephemeral.add(hex(m.ephemeral));
    seen.statics.add(hex(m.encryptedStatic));
    seen.stamps.add(hex(m.encryptedTimestamp));
  }
  t.is(seen.ephemeral.size, count);
  t.is(seen.statics.size, count);
  t.is(seen.stamps.size, count);
  t.true(seen.sender.size > count - 2, 'sender indices (random u32) practically all distinct');
});

test('buildInitiationPool rejects a bad size', (t) => {
  t.throws(() => buildInitiationPool(victim, 0), { message: /pool size/ });
  t.throws(() => buildInitiationPool(victim, 1.5), { message: /pool size/ });
});

test('sourceAddresses: consecutive within the /24, never past .254', (t) => {
  t.deepEqual(sourceAddresses('10.214.7.10', 3), ['10.214.7.10', '10.214.7.11', '10.214.7.12']);
  t.is(sourceAddresses('10.214.7.10', 245).at(-1), '10.214.7.254');
  t.throws(() => sourceAddresses('10.214.7.10', 246), { message: /leave its \/24/ });
  t.throws(() => sourceAddresses('fd00::1', 2), { message: /IPv4/ });
  t.throws(() => sourceAddresses('10.0.0.1', 0), { message: /positive integer/ });
});

test('parseFloodArgs: defaults, sources, and clear errors', (t) => {
  const key = encodeKey(victim);
  const o = parseFloodArgs(['--to', '10.214.7.1:51820', '--public-key', key]);
  t.is(o.to.toString(), '10.214.7.1:51820');
  t.deepEqual(o.publicKey, victim);
  t.is(o.rate, DEFAULT_RATE);
  t.deepEqual(o.sources, ['']);
  const many = parseFloodArgs(['--to', '10.214.7.1:51820', '--public-key', key, '--source', '10.214.7.10', '--sources', '4', '--rate', '0', '--seconds', '0']);
  t.deepEqual(many.sources, ['10.214.7.10', '10.214.7.11', '10.214.7.12', '10.214.7.13']);
  t.is(many.rate, 0);
  t.is(many.seconds, 0);
  t.throws(() => parseFloodArgs(['--public-key', key]), { message: /--to is required/ });
  t.throws(() => parseFloodArgs(['--to', '10.0.0.1:1']), { message: /--public-key is required/ });
  t.throws(() => parseFloodArgs(['--to', '10.0.0.1:1', '--public-key', 'short']), { message: /--public-key: expected 44/ });
  t.throws(() => parseFloodArgs(['--to', '10.0.0.1', '--public-key', key]), { message: /invalid endpoint/ });
  t.throws(() => parseFloodArgs(['--to', '10.0.0.1:1', '--public-key', key, '--rate', '1e5']), { message: /--rate: expected a whole number/ });
  t.throws(() => parseFloodArgs(['--to', '10.0.0.1:1', '--public-key', key, '--sources', '3']), { message: /--sources needs --source/ });
  t.throws(() => parseFloodArgs(['--to', '10.0.0.1:1', '--public-key', key, '--bogus']), { message: /Unknown option/ });
});

test('TokenBucket: rate per second with time passed in, capped depth, spending', (t) => {
  const b = new TokenBucket(100_000, 2000, 0);
  t.is(b.available(0), 0);
  t.is(b.available(1), 100); // 1 ms at 100k/s
  b.spend(64);
  t.is(b.available(1), 36);
  t.is(b.available(1000), 2000, 'a long pause banks at most the capacity');
  b.spend(2000);
  t.is(b.available(999), 0, 'time going backwards adds nothing');
  t.throws(() => new TokenBucket(0, 10, 0), { message: /rate > 0/ });
});
