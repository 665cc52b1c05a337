import test from 'ava';
import fc from 'fast-check';
import { AllowedIps, type Family } from '../../src/protocol/allowedips.js';

interface Ref { family: Family; addr: Uint8Array; cidr: number; value: number }

function matches(addr: Uint8Array, prefix: Uint8Array, cidr: number): boolean {
  for (let i = 0; i < cidr; i++) {
    const bit = (b: Uint8Array): number => (b[i >> 3]! >> (7 - (i & 7))) & 1;
    if (bit(addr) !== bit(prefix)) return false;
  }
  return true;
}

/** Deliberately naive reference: scan every prefix, keep the longest match. */
function bruteForce(refs: Ref[], family: Family, addr: Uint8Array): number | undefined {
  let best: Ref | undefined;
  for (const r of refs) {
    if (r.family === family && matches(addr, r.addr, r.cidr) && (best === undefined || r.cidr > best.cidr)) best = r;
  }
  return best?.value;
}

const prefixArb = fc.oneof(
  fc.record({ family: fc.constant<Family>(4), addr: fc.uint8Array({ minLength: 4, maxLength: 4 }), cidr: fc.integer({ min: 0, max: 32 }) }),
  fc.record({ family: fc.constant<Family>(6), addr: fc.uint8Array({ minLength: 16, maxLength: 16 }), cidr: fc.integer({ min: 0, max: 128 }) }),
);

/** Biases addresses toward prefixes so lookups hit deep nodes. */
function probeFrom(p: { family: Family; addr: Uint8Array }, tweak: number): Uint8Array {
  const a = Uint8Array.from(p.addr);
  a[a.length - 1 - (tweak % a.length)]! ^= tweak & 0xff;
  return a;
}

test('longest-prefix match agrees with brute force; removeExact and removeByValue too', (t) => {
  fc.assert(fc.property(
    fc.array(fc.record({ p: prefixArb, value: fc.integer({ min: 0, max: 5 }) }), { maxLength: 60 }),
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 30 }),
    fc.integer({ min: 0, max: 5 }),
    (inserts, tweaks, victim) => {
      const trie = new AllowedIps<number>();
      let refs: Ref[] = [];
      for (const { p, value } of inserts) {
        trie.insert(p.family, p.addr, p.cidr, value);
        // Same prefix (after masking) replaces the old owner.
        refs = refs.filter((r) => !(r.family === p.family && r.cidr === p.cidr && matches(r.addr, p.addr, p.cidr)));
        refs.push({ family: p.family, addr: p.addr, cidr: p.cidr, value });
      }
      const probes = inserts.flatMap(({ p }) => tweaks.map((tw) => ({ family: p.family, addr: probeFrom(p, tw) })));
      const check = (): void => {
        for (const pr of probes) {
          const buf = new Uint8Array(pr.addr.length + 7);
          buf.set(pr.addr, 7);
          if (trie.lookup(pr.family, buf, 7) !== bruteForce(refs, pr.family, pr.addr)) throw new Error('mismatch');
        }
      };
      check();
      if (refs.length > 0) {
        const r = refs[0]!;
        if (!trie.removeExact(r.family, r.addr, r.cidr)) throw new Error('removeExact missed');
        refs = refs.slice(1);
        check();
      }
      trie.removeByValue(victim);
      refs = refs.filter((r) => r.value !== victim);
      check();
      const entries = trie.entriesFor((victim + 1) % 6);
      if (entries.length !== refs.filter((r) => r.value === (victim + 1) % 6).length) throw new Error('entriesFor count');
    },
  ), { numRuns: 300, seed: 1234 });
  t.log('300 random trie scenarios matched the brute-force reference');
  const trie = new AllowedIps<string>();
  trie.insert(4, Uint8Array.of(10, 0, 0, 0), 8, 'wide');
  trie.insert(4, Uint8Array.of(10, 1, 2, 3), 16, 'narrow'); // host bits ignored
  t.is(trie.lookup(4, Uint8Array.of(10, 1, 9, 9), 0), 'narrow');
  t.is(trie.lookup(4, Uint8Array.of(10, 2, 0, 0), 0), 'wide');
  t.is(trie.lookup(4, Uint8Array.of(11, 0, 0, 0), 0), undefined);
  t.deepEqual(trie.entriesFor('narrow'), [{ family: 4, address: Uint8Array.of(10, 1, 0, 0), cidr: 16 }]);
});

test('bad prefixes are rejected with clear errors', (t) => {
  const trie = new AllowedIps<number>();
  t.throws(() => trie.insert(4, new Uint8Array(16), 8, 1), { message: /IPv4 address must be 4 bytes/ });
  t.throws(() => trie.insert(6, new Uint8Array(16), 129, 1), { message: /bad prefix length/ });
  t.false(trie.removeExact(4, new Uint8Array(4), 0));
});
