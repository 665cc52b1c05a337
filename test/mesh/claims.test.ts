/** PrefixClaims against the naive oracle: a claim overlaps a prefix iff prefixesOverlap says so for some claim. */
import test from 'ava';
import fc from 'fast-check';
import { PrefixClaims } from '../../src/mesh/claims.js';
import { formatPrefix, networkOf, prefixesOverlap, type Prefix } from '../../src/net/ip.js';

const v4 = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })).map(([b, bits]) => networkOf({ family: 4, bytes: b, bits }));
const v6 = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })).map(([b, bits]) => networkOf({ family: 6, bytes: b, bits }));
// Few distinct leading bits, so that overlaps are common.
const narrow = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 12 })).map(([a, b, bits]) =>
  networkOf({ family: 4, bytes: new Uint8Array([10, a << 6, b << 6, 0]), bits: 8 + bits }),
);
const prefix = fc.oneof(v4, v6, narrow, narrow);

test('property: overlapping() agrees with a pairwise scan, and names a claim that really overlaps', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(prefix, { maxLength: 30 }), fc.array(prefix, { maxLength: 30 }), (claimed, probes) => {
        const claims = new PrefixClaims<string>();
        for (const p of claimed) claims.add(p, formatPrefix(p));
        for (const p of probes) {
          const hit = claims.overlapping(p);
          const expected = claimed.some((c: Prefix) => prefixesOverlap(c, p));
          if (expected !== (hit !== undefined)) return false;
          if (hit && (!prefixesOverlap(hit.prefix, p) || hit.owner !== formatPrefix(hit.prefix))) return false;
        }
        return true;
      }),
      { numRuns: 500 },
    ),
  );
});

test('the first claim on a prefix keeps it; families are separate', (t) => {
  const claims = new PrefixClaims<string>();
  const p = (bytes: number[], bits: number): Prefix => ({ family: bytes.length === 4 ? 4 : 6, bytes: new Uint8Array(bytes), bits });
  claims.add(p([10, 0, 0, 0], 8), 'first');
  claims.add(p([10, 0, 0, 0], 8), 'second');
  t.is(claims.overlapping(p([10, 1, 0, 0], 16))!.owner, 'first');
  t.is(claims.overlapping(p([0, 0, 0, 0], 0))!.owner, 'first');
  t.is(claims.overlapping(p([11, 0, 0, 0], 8)), undefined);
  t.is(claims.overlapping(p(Array<number>(16).fill(0), 0)), undefined);
});
