/** Member records: key layout, encode/decode round trip, and refusal (never a throw) of hostile values. */
import test from 'ava';
import fc from 'fast-check';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import {
  decodeMember,
  encodeMember,
  MAX_MEMBER_VALUE_BYTES,
  memberKey,
  publicKeyOfMemberKey,
  type MemberRecord,
} from '../../src/mesh/member.js';
import { formatPrefix, parseIp, parsePrefix } from '../../src/net/ip.js';
import { systemRng } from '../../src/crypto/random.js';

const newKey = () => publicKeyOf(generatePrivateKey(systemRng));
const enc = (s: string) => new TextEncoder().encode(s);

function record(publicKey = newKey()): MemberRecord {
  return {
    name: 'site-a',
    publicKey,
    endpoint: { address: parseIp('10.40.0.11')!, port: 51820 },
    allowedIPs: [parsePrefix('10.50.0.11/32')!, parsePrefix('fd50::/64')!],
    vtep: parseIp('10.50.0.11')!,
    registeredAt: 1_767_225_600,
  };
}

test('key layout: prefix, members/, base64url key; back to the same bytes', (t) => {
  const pk = newKey();
  const key = memberKey('/tunvpn/', pk);
  t.is(key, `/tunvpn/members/${Buffer.from(pk).toString('base64url')}`);
  t.is(key.length, '/tunvpn/members/'.length + 43);
  const back = publicKeyOfMemberKey('/tunvpn/', key);
  t.true(back.ok && Buffer.from(back.value).equals(Buffer.from(pk)));
});

test('member keys that are not canonical base64url 32-byte keys are refused with a reason', (t) => {
  const good = Buffer.from(newKey()).toString('base64url');
  // 43 characters carry 258 bits: the last character's two low bits are padding. Setting one gives the same bytes
  // under a second spelling, which must not count as the same (or any) member.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const padded = good.slice(0, 42) + alphabet[alphabet.indexOf(good[42]!) + 1]!;
  for (const key of [
    '/other/members/' + good,
    '/tunvpn/members/' + good.slice(1),
    '/tunvpn/members/' + good + 'A',
    '/tunvpn/members/' + good.replace(/./, '+'),
    '/tunvpn/members/' + 'A'.repeat(43),
    '/tunvpn/members/' + padded,
  ]) {
    const r = publicKeyOfMemberKey('/tunvpn/', key);
    t.false(r.ok, key);
    if (!r.ok) t.true(r.reason.length > 0);
  }
});

test('encode then decode gives the record back; the JSON has a version field', (t) => {
  const r = record();
  const text = encodeMember(r);
  t.is((JSON.parse(text) as { version: number }).version, 1);
  const back = decodeMember(r.publicKey, enc(text));
  if (!back.ok) return t.fail(back.reason);
  t.is(back.value.name, 'site-a');
  t.is(encodeKey(back.value.publicKey), encodeKey(r.publicKey));
  t.deepEqual(back.value.allowedIPs.map(formatPrefix), ['10.50.0.11/32', 'fd50::/64']);
  t.is(encodeMember(back.value), text);
});

test('IPv6 endpoints are bracketed; records without optional fields round-trip', (t) => {
  const r: MemberRecord = { name: 'b', publicKey: newKey(), endpoint: { address: parseIp('fd00::1')!, port: 1 }, allowedIPs: [] };
  const text = encodeMember(r);
  t.is((JSON.parse(text) as { endpoint: string }).endpoint, '[fd00::1]:1');
  t.true(decodeMember(r.publicKey, enc(text)).ok);
});

test('encodeMember refuses a record its readers would refuse', (t) => {
  t.throws(() => encodeMember({ ...record(), name: 'not a name' }), { instanceOf: RangeError });
});

test('hostile values are refused with a reason', (t) => {
  const r = record();
  const base = JSON.parse(encodeMember(r)) as Record<string, unknown>;
  const variant = (patch: Record<string, unknown>) => JSON.stringify({ ...base, ...patch });
  const cases: [string, string | Uint8Array][] = [
    ['not JSON', '{"version":1,'],
    ['array', '[1,2]'],
    ['null', 'null'],
    ['bad UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
    ['too large', JSON.stringify({ ...base, name: 'a'.repeat(MAX_MEMBER_VALUE_BYTES) })],
    ['version 2', variant({ version: 2 })],
    ['version text', variant({ version: '1' })],
    ['unknown field', variant({ extra: true })],
    ['__proto__', JSON.stringify({ ...base }).replace(/^\{/, '{"__proto__":{"polluted":1},')],
    ['bad name', variant({ name: 'a b' })],
    ['name not text', variant({ name: 7 })],
    ['other key', variant({ publicKey: encodeKey(newKey()) })],
    ['bad key', variant({ publicKey: 'abc' })],
    ['hostname endpoint', variant({ endpoint: 'example.net:51820' })],
    ['v6 without brackets', variant({ endpoint: 'fd00::1:51820' })],
    ['port 0', variant({ endpoint: '10.0.0.1:0' })],
    ['port 70000', variant({ endpoint: '10.0.0.1:70000' })],
    ['allowedIPs missing', variant({ allowedIPs: undefined })],
    ['allowedIPs text', variant({ allowedIPs: '10.0.0.0/8' })],
    ['host bits', variant({ allowedIPs: ['10.0.0.1/8'] })],
    ['bare address', variant({ allowedIPs: ['10.0.0.1'] })],
    ['duplicate prefix', variant({ allowedIPs: ['10.0.0.0/8', '10.0.0.0/8'] })],
    ['too many prefixes', variant({ allowedIPs: Array.from({ length: 257 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`) })],
    ['non-canonical v6', variant({ allowedIPs: ['FD00::/8'] })],
    ['bad vtep', variant({ vtep: '10.0.0' })],
    ['negative time', variant({ registeredAt: -1 })],
    ['fractional time', variant({ registeredAt: 1.5 })],
  ];
  for (const [what, value] of cases) {
    const out = decodeMember(r.publicKey, typeof value === 'string' ? enc(value) : value);
    t.false(out.ok, what);
    if (!out.ok) t.true(out.reason.length > 0, what);
  }
  t.is(({} as Record<string, unknown>).polluted, undefined);
});

test('property: decodeMember never throws, whatever the bytes or JSON', (t) => {
  const pk = newKey();
  const arbitrary = fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.json().map(enc), fc.jsonValue().map((v) => enc(JSON.stringify(v))));
  t.notThrows(() =>
    fc.assert(
      fc.property(arbitrary, (bytes) => {
        const r = decodeMember(pk, bytes);
        return r.ok ? false : typeof r.reason === 'string'; // random data is never a valid record for pk
      }),
    ),
  );
});
