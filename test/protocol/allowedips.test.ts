import test from 'ava';
import fc from 'fast-check';
import { AllowedIps, type Family } from '../../src/protocol/allowedips.js';
import { formatPrefix } from '../../src/net/ip.js';

interface Ref { family: Family; addr: Uint8Array; cidr: number; value: number }

function matches(addr: Uint8Array, prefix: Uint8Array, cidr: number): boolean {
  for (let i = 0; i < cidr; i++) {
    const bit = (b: Uint8Array): number => (b[i >> 3]! >> (7 - (i & 7))) & 1;
    if (bit(addr) !== bit(prefix)) return false;
  }
  return true;
}

function masked(addr: Uint8Array, cidr: number): Uint8Array {
  return addr.map((b, i) => (i * 8 >= cidr ? 0 : i * 8 + 8 <= cidr ? b : b & (0xff << (8 - (cidr - i * 8)))));
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
      // Each value lists its prefixes in insertion order, a re-inserted prefix moving to the end (the reference list
      // above keeps that order: filter out, push).
      for (let value = 0; value < 6; value++) {
        const got = trie.entriesFor(value).map((e) => `${e.family} ${e.address.join('.')}/${e.cidr}`);
        const want = refs.filter((r) => r.value === value).map((r) => `${r.family} ${masked(r.addr, r.cidr).join('.')}/${r.cidr}`);
        if (got.join() !== want.join()) throw new Error(`entriesFor(${value}): ${got.join()} != ${want.join()}`);
      }
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

test('entriesFor lists a peer\'s prefixes in the order they were added, across families, as wireguard-go does', (t) => {
  const trie = new AllowedIps<string>();
  const v4 = (a: number, b: number, c: number, d: number) => Uint8Array.of(a, b, c, d);
  const v6 = (first: number) => Uint8Array.of(first >> 8, first & 0xff, ...new Array<number>(14).fill(0));
  const shown = (value: string) => trie.entriesFor(value).map((e) => formatPrefix({ family: e.family, bytes: e.address, bits: e.cidr }));
  // The file's order, not address order: 10.9/16 before 10.1/16, an IPv6 prefix between IPv4 ones.
  trie.insert(4, v4(10, 9, 0, 0), 16, 'a');
  trie.insert(6, v6(0xfd00), 8, 'a');
  trie.insert(4, v4(10, 1, 0, 0), 16, 'a');
  trie.insert(4, v4(0, 0, 0, 0), 0, 'a');
  t.deepEqual(shown('a'), ['10.9.0.0/16', 'fd00::/8', '10.1.0.0/16', '0.0.0.0/0']);
  // Adding a prefix the peer already has moves it to the end (the kernel's list_move_tail, wireguard-go's PushBack).
  trie.insert(4, v4(10, 9, 7, 7), 16, 'a');
  t.deepEqual(shown('a'), ['fd00::/8', '10.1.0.0/16', '0.0.0.0/0', '10.9.0.0/16']);
  // A prefix taken by another peer leaves the first one's list.
  trie.insert(4, v4(0, 0, 0, 0), 0, 'b');
  t.deepEqual(shown('a'), ['fd00::/8', '10.1.0.0/16', '10.9.0.0/16']);
  t.deepEqual(shown('b'), ['0.0.0.0/0']);
  t.true(trie.removeExact(6, v6(0xfd00), 8));
  t.deepEqual(shown('a'), ['10.1.0.0/16', '10.9.0.0/16']);
  trie.removeByValue('a');
  t.deepEqual(shown('a'), []);
  t.is(trie.lookup(4, v4(10, 1, 2, 3), 0), 'b');
});

test('bad prefixes are rejected with clear errors', (t) => {
  const trie = new AllowedIps<number>();
  t.throws(() => trie.insert(4, new Uint8Array(16), 8, 1), { message: /IPv4 address must be 4 bytes/ });
  t.throws(() => trie.insert(6, new Uint8Array(16), 129, 1), { message: /bad prefix length/ });
  t.false(trie.removeExact(4, new Uint8Array(4), 0));
});
