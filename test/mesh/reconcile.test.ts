/**
 * reconcile(): the pure decision core. Each test states the members, static peers and previous state, and checks
 * the actions (described as text) and refusals; `next` is the state once every action is applied (advance()). An
 * invariant test checks, against a naive oracle, that the accepted prefixes never overlap and that the state the
 * actions reach is one the same members ask no change of.
 */
import test from 'ava';
import fc from 'fast-check';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import type { MemberRecord } from '../../src/mesh/member.js';
import {
  advance,
  describeAction,
  emptyMeshState,
  reconcile,
  type MemberEntry,
  type ReconcileInput,
} from '../../src/mesh/reconcile.js';
import { formatPrefix, networkOf, parseIp, parsePrefix, prefixesOverlap, type Prefix } from '../../src/net/ip.js';
import { systemRng } from '../../src/crypto/random.js';

const key = () => publicKeyOf(generatePrivateKey(systemRng));
const P = (t: string): Prefix => parsePrefix(t)!;
const own = key();

function member(name: string, rev: number, allowed: string[], extra: Partial<MemberRecord> = {}, pk = key()): MemberEntry {
  return {
    record: { name, publicKey: pk, allowedIPs: allowed.map(P), endpoint: { address: parseIp(`192.0.2.${rev % 250}`)!, port: 51820 }, ...extra },
    createRevision: BigInt(rev),
  };
}

function run(members: MemberEntry[], opts: Partial<ReconcileInput> = {}) {
  const input: ReconcileInput = {
    ownPublicKey: own,
    ownAllowedIPs: [P('10.50.0.1/32')],
    staticPeers: [],
    members,
    previous: emptyMeshState(),
    routes: { interfaceAddresses: [P('10.50.0.1/24')] },
    ...opts,
  };
  const result = reconcile(input);
  return { ...result, next: result.actions.reduce(advance, input.previous) };
}

const texts = (r: ReturnType<typeof run>) => r.actions.map(describeAction).map((s) => s.replace(/ \(.*?….*?\)/, ''));

test('join: each member becomes a peer with routes for prefixes outside our own networks; VTEPs added', (t) => {
  const a = member('site-b', 5, ['10.50.0.2/32', '10.60.2.0/24'], { vtep: parseIp('10.50.0.2')! });
  const r = run([a], { persistentKeepalive: 25 });
  t.deepEqual(texts(r), [
    'add peer site-b endpoint 192.0.2.5:51820 allowed-ips 10.50.0.2/32, 10.60.2.0/24',
    'add route 10.60.2.0/24',
    'add VTEP 10.50.0.2',
  ]);
  t.deepEqual(r.refusals, []);
  const add = r.actions[0]!;
  t.true(add.type === 'add-peer' && add.peer.persistentKeepalive === 25);
});

test('nothing changed: no actions', (t) => {
  const a = member('site-b', 5, ['10.60.2.0/24']);
  const first = run([a]);
  t.deepEqual(run([a], { previous: first.next }).actions, []);
});

test('endpoint or AllowedIPs change: one update in place, never remove + add; routes follow', (t) => {
  const pk = key();
  const before = run([member('site-b', 5, ['10.60.2.0/24'], {}, pk)]);
  const moved = member('site-b', 5, ['10.60.2.0/24', '10.60.3.0/24'], { endpoint: { address: parseIp('198.51.100.7')!, port: 4000 } }, pk);
  const r = run([moved], { previous: before.next });
  t.deepEqual(texts(r), ['update peer site-b in place: endpoint 198.51.100.7:4000, allowed-ips 10.60.2.0/24, 10.60.3.0/24', 'add route 10.60.3.0/24']);
  const shrunk = member('site-b', 5, ['10.60.3.0/24'], { endpoint: { address: parseIp('198.51.100.7')!, port: 4000 } }, pk);
  t.deepEqual(texts(run([shrunk], { previous: r.next })), ['remove route 10.60.2.0/24', 'update peer site-b in place: allowed-ips 10.60.3.0/24']);
});

test('a member that stops announcing an endpoint keeps the applied one (no update)', (t) => {
  const pk = key();
  const before = run([member('b', 5, ['10.60.2.0/24'], {}, pk)]);
  const noEndpoint = member('b', 5, ['10.60.2.0/24'], {}, pk);
  delete noEndpoint.record.endpoint;
  const r = run([noEndpoint], { previous: before.next });
  t.deepEqual(r.actions, []);
  t.truthy(r.next.peers.get(encodeKey(pk))!.endpoint);
});

test('member gone: its VTEP, routes and peer are removed, in that order', (t) => {
  const before = run([member('b', 5, ['10.60.2.0/24'], { vtep: parseIp('10.50.0.2')! })]);
  t.deepEqual(texts(run([], { previous: before.next })), ['remove VTEP 10.50.0.2', 'remove route 10.60.2.0/24', 'remove peer b']);
});

test('our own key is skipped silently; a static peer key is refused entirely', (t) => {
  const staticKey = key();
  const r = run(
    [member('me', 1, ['10.99.0.0/16'], {}, own), member('impostor', 2, ['10.61.0.0/16'], {}, staticKey)],
    { staticPeers: [{ publicKey: staticKey, allowedIPs: [P('10.70.0.0/16')], label: '[Peer] at line 9' }] },
  );
  t.deepEqual(r.actions, []);
  t.deepEqual(
    r.refusals.map((x) => [x.reason, x.name]),
    [['static-key', 'impostor']],
  );
  t.regex(r.refusals[0]!.message, /\[Peer\] at line 9/);
  t.is(r.outcomes.get(encodeKey(own))!.status, 'self');
  t.is(r.outcomes.get(encodeKey(staticKey))!.status, 'refused');
});

test('prefixes overlapping a static peer or our own AllowedIPs are refused one by one; the rest is kept', (t) => {
  const r = run([member('b', 5, ['10.70.1.0/24', '10.50.0.0/16', '10.80.0.0/16', '0.0.0.0/0'])], {
    ownAllowedIPs: [P('10.50.0.1/32')],
    staticPeers: [{ publicKey: key(), allowedIPs: [P('10.70.0.0/16')] }],
  });
  t.deepEqual(texts(r), ['add peer b endpoint 192.0.2.5:51820 allowed-ips 10.80.0.0/16', 'add route 10.80.0.0/16']);
  t.deepEqual(
    r.refusals.map((x) => [x.reason, formatPrefix(x.prefix!)]),
    [
      ['static-overlap', '10.70.1.0/24'],
      ['own-overlap', '10.50.0.0/16'],
      ['default-route', '0.0.0.0/0'],
    ],
  );
});

test("a static /0 (gateway) does not block members' more specific prefixes", (t) => {
  const r = run([member('b', 5, ['10.80.0.0/16'])], { staticPeers: [{ publicKey: key(), allowedIPs: [P('0.0.0.0/0')] }] });
  t.deepEqual(r.refusals, []);
  t.is(r.actions.length, 2);
});

test('overlap between members: the earlier registration (lower create revision) wins, whatever the order given', (t) => {
  const early = member('early', 3, ['10.60.0.0/16']);
  const late = member('late', 9, ['10.60.5.0/24', '10.61.0.0/16']);
  for (const order of [[early, late], [late, early]]) {
    const r = run(order);
    t.deepEqual(
      r.refusals.map((x) => [x.reason, x.name, formatPrefix(x.prefix!)]),
      [['member-overlap', 'late', '10.60.5.0/24']],
    );
    t.deepEqual(r.next.peers.get(encodeKey(late.record.publicKey))!.allowedIPs.map(formatPrefix), ['10.61.0.0/16']);
  }
});

test('when the earlier member leaves, the later one gets the prefix by an update in place; the route stays', (t) => {
  const early = member('early', 3, ['10.60.0.0/16']);
  const late = member('late', 9, ['10.60.0.0/16', '10.61.0.0/16']);
  const both = run([early, late]);
  const r = run([late], { previous: both.next });
  t.deepEqual(texts(r), ['remove peer early', 'update peer late in place: allowed-ips 10.60.0.0/16, 10.61.0.0/16']);
  t.deepEqual(r.refusals, []);
});

test('a prefix moving between two members that both stay: the giver is updated before the taker', (t) => {
  const a = key();
  const b = key();
  const s1 = run([member('a', 3, ['10.60.0.0/16'], {}, a), member('b', 9, ['10.61.0.0/16'], {}, b)]);
  const r = run([member('a', 3, ['10.62.0.0/16'], {}, a), member('b', 9, ['10.61.0.0/16', '10.60.0.0/16'], {}, b)], { previous: s1.next });
  t.deepEqual(texts(r), [
    'update peer a in place: allowed-ips 10.62.0.0/16',
    'update peer b in place: allowed-ips 10.61.0.0/16, 10.60.0.0/16',
    'add route 10.62.0.0/16',
  ]);
});

test('VTEPs: our own and duplicates of an earlier member are refused', (t) => {
  const r = run(
    [member('a', 3, [], { vtep: parseIp('10.50.0.9')! }), member('b', 4, [], { vtep: parseIp('10.50.0.9')! }), member('c', 5, [], { vtep: parseIp('10.50.0.1')! })],
    { ownVtep: parseIp('10.50.0.1')! },
  );
  t.deepEqual(r.refusals.map((x) => [x.reason, x.name]), [['member-vtep', 'b'], ['own-vtep', 'c']]);
  t.deepEqual([...r.next.vteps.keys()], ['10.50.0.9']);
});

test('routes: none when routing is off', (t) => {
  const r = run([member('b', 5, ['10.60.2.0/24'])], { routes: undefined });
  t.deepEqual(texts(r), ['add peer b endpoint 192.0.2.5:51820 allowed-ips 10.60.2.0/24']);
});

test('property: accepted prefixes never overlap each other or fixed claims, and the state the actions reach needs no further action', (t) => {
  const prefixArb = fc
    .tuple(fc.constantFrom(8, 9, 10), fc.integer({ min: 0, max: 3 }), fc.constantFrom(8, 16, 24, 32))
    .map(([a, b, bits]) => `${a}.${b}.0.0/${bits}`)
    .map((s) => formatPrefix(networkOf(P(s))));
  const keys = Array.from({ length: 5 }, key);
  const memberArb = fc.record({ k: fc.integer({ min: 0, max: 4 }), rev: fc.integer({ min: 1, max: 50 }), allowed: fc.uniqueArray(prefixArb, { maxLength: 4 }) });
  const setArb = fc.uniqueArray(memberArb, { selector: (m) => m.k, maxLength: 5 });
  t.notThrows(() =>
    fc.assert(
      fc.property(setArb, setArb, (first, second) => {
        const toEntries = (set: typeof first) => set.map((m) => member(`m${m.k}`, m.rev, m.allowed, {}, keys[m.k]));
        const fixed = { ownAllowedIPs: [P('9.1.0.0/16')], staticPeers: [{ publicKey: key(), allowedIPs: [P('10.2.0.0/16')] }] };
        const r1 = run(toEntries(first), fixed);
        const r2 = run(toEntries(second), { ...fixed, previous: r1.next });
        for (const r of [r1, r2]) {
          // One member's own prefixes may nest (they lead to the same peer); two members' never overlap.
          const accepted = [...r.next.peers.values()].flatMap((p, owner) => p.allowedIPs.map((prefix) => ({ prefix, owner })));
          for (let i = 0; i < accepted.length; i++) {
            for (let j = i + 1; j < accepted.length; j++) {
              if (accepted[i]!.owner !== accepted[j]!.owner && prefixesOverlap(accepted[i]!.prefix, accepted[j]!.prefix)) return false;
            }
            if ([P('9.1.0.0/16'), P('10.2.0.0/16')].some((f) => prefixesOverlap(f, accepted[i]!.prefix))) return false;
          }
        }
        // No batch removes a peer it also adds or updates.
        const kept = new Set(r2.actions.flatMap((a) => (a.type === 'add-peer' || a.type === 'update-peer' ? [encodeKey(a.peer.publicKey)] : [])));
        if (r2.actions.some((a) => a.type === 'remove-peer' && kept.has(encodeKey(a.peer.publicKey)))) return false;
        // Applying them reaches the wanted state: the same members ask nothing more of it.
        return run(toEntries(second), { ...fixed, previous: r2.next }).actions.length === 0;
      }),
    ),
  );
});
