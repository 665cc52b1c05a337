/**
 * MeshAgent against the in-memory registry: several nodes share one MemoryStore; each has a RecordingTarget (a
 * model of its device) and a ManualClock, so outages, lease expiry and retries happen exactly when the test says.
 */
import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import { encodeKey } from '../../src/crypto/keys.js';
import { MeshAgent, type MeshAgentOptions } from '../../src/mesh/agent.js';
import { encodeMember, memberKey, type MemberRecord } from '../../src/mesh/member.js';
import { MemoryRegistry, MemoryStore } from '../../src/mesh/memory-registry.js';
import { parseIp, parsePrefix } from '../../src/net/ip.js';
import { ManualClock, nodeRecord, RecordingTarget, settle } from './fakes.js';

const PREFIX = '/tunvpn/';
const TTL = 10;

interface Node {
  name: string;
  record: MemberRecord;
  client: MemoryRegistry;
  target: RecordingTarget;
  agent: MeshAgent;
  logs: string[];
}

function captureLogger(lines: string[]) {
  return pino({ level: 'debug' }, { write: (s: string) => void lines.push((JSON.parse(s) as { msg: string }).msg) });
}

function makeNode(
  t: ExecutionContext,
  store: MemoryStore,
  clock: ManualClock,
  name: string,
  n: number,
  opts: { extra?: string[]; vtep?: boolean; agent?: Partial<MeshAgentOptions> } = {},
): Node {
  const record = nodeRecord(name, n, opts.extra ?? [`10.60.${n}.0/24`], opts.vtep);
  const client = new MemoryRegistry(store, name);
  const target = new RecordingTarget();
  const logs: string[] = [];
  const agent = new MeshAgent({
    registry: client,
    target,
    self: record,
    prefix: PREFIX,
    ttlSeconds: TTL,
    routes: { interfaceAddresses: [parsePrefix(`10.50.0.${n}/24`)!] },
    persistentKeepalive: 25,
    log: captureLogger(logs),
    clock,
    random: () => 0.5,
    ...opts.agent,
  });
  t.teardown(() => agent.stop());
  return { name, record, client, target, agent, logs };
}

async function startAll(...nodes: Node[]): Promise<void> {
  for (const n of nodes) await n.agent.start();
  await settle();
  for (const n of nodes) await n.agent.settled();
}

const names = (n: Node) => [...n.target.peers.keys()].map((k) => n.agent.snapshot().members.find((m) => m.publicKey === k)?.name ?? k).sort();
const count = (logs: string[], re: RegExp) => logs.filter((l) => re.test(l)).length;

test('join: every node gets every other as a peer, with endpoint, AllowedIPs, keepalive, routes and VTEPs', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = makeNode(t, store, clock, 'site-a', 1, { vtep: true });
  const b = makeNode(t, store, clock, 'site-b', 2, { vtep: true });
  const c = makeNode(t, store, clock, 'site-c', 3, { vtep: true });
  await startAll(a, b, c);
  for (const n of [a, b, c]) {
    t.is(n.agent.state, 'synced');
    t.deepEqual(names(n), ['site-a', 'site-b', 'site-c'].filter((x) => x !== n.name));
  }
  const bOnA = a.target.peerOf(b.record.publicKey)!;
  t.deepEqual(bOnA, { endpoint: '192.0.2.2:51820', allowedIPs: ['10.50.0.2/32', '10.60.2.0/24'], keepalive: 25, session: bOnA.session });
  // 10.50.0.2/32 lies inside a's own 10.50.0.0/24: no route for it.
  t.deepEqual([...a.target.routes].sort(), ['10.60.2.0/24', '10.60.3.0/24']);
  t.deepEqual([...a.target.vteps].sort(), ['10.50.0.2', '10.50.0.3']);
  t.deepEqual(store.keys(PREFIX), [a, b, c].map((n) => memberKey(PREFIX, n.record.publicKey)).sort());
});

test('a member changing endpoint and AllowedIPs is updated in place on the others (same session)', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = makeNode(t, store, clock, 'site-a', 1);
  const b = makeNode(t, store, clock, 'site-b', 2);
  await startAll(a, b);
  const session = a.target.peerOf(b.record.publicKey)!.session;
  await b.agent.updateSelf({
    ...b.record,
    endpoint: { address: parseIp('198.51.100.2')!, port: 4500 },
    allowedIPs: [parsePrefix('10.50.0.2/32')!, parsePrefix('10.62.0.0/16')!],
  });
  await settle();
  await a.agent.settled();
  const peer = a.target.peerOf(b.record.publicKey)!;
  t.is(peer.session, session);
  t.is(peer.endpoint, '198.51.100.2:4500');
  t.deepEqual(peer.allowedIPs, ['10.50.0.2/32', '10.62.0.0/16']);
  t.deepEqual([...a.target.routes].sort(), ['10.62.0.0/16']);
  t.false(a.target.calls.includes('remove site-b'));
  t.true(a.target.calls.includes('update site-b'));
});

test('a member whose lease expires (kill -9) is removed with its routes and VTEP from every other node', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = makeNode(t, store, clock, 'site-a', 1, { vtep: true });
  const b = makeNode(t, store, clock, 'site-b', 2, { vtep: true });
  const c = makeNode(t, store, clock, 'site-c', 3, { vtep: true });
  await startAll(a, b, c);
  store.crash(c.client);
  await settle();
  for (const n of [a, b]) {
    await n.agent.settled();
    t.deepEqual(names(n), ['site-a', 'site-b'].filter((x) => x !== n.name));
    t.false(n.target.routes.has('10.60.3.0/24'));
    t.false(n.target.vteps.has('10.50.0.3'));
  }
});

test('stop revokes the lease: the others drop the node at once, without waiting for the TTL', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = makeNode(t, store, clock, 'site-a', 1);
  const b = makeNode(t, store, clock, 'site-b', 2);
  await startAll(a, b);
  await b.agent.stop();
  t.is(b.agent.state, 'stopped');
  t.is(b.client.calls.revoke, 1);
  t.deepEqual(b.client.leases(), []);
  await settle();
  await a.agent.settled();
  t.deepEqual(names(a), []);
  t.deepEqual(store.keys(PREFIX), [memberKey(PREFIX, a.record.publicKey)]);
  t.true(b.logs.some((l) => /lease revoked/.test(l)));
});

test('static peers win: a member with a static key is refused, overlapping prefixes trimmed; each logged once', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const impostor = nodeRecord('impostor', 7);
  const a = makeNode(t, store, clock, 'site-a', 1, {
    agent: { staticPeers: [{ publicKey: impostor.publicKey, allowedIPs: [parsePrefix('10.70.0.0/16')!], label: '[Peer] at line 12' }] },
  });
  const b = makeNode(t, store, clock, 'site-b', 2, { extra: ['10.70.1.0/24', '10.61.0.0/16'] });
  await startAll(a, b);
  store.put(memberKey(PREFIX, impostor.publicKey), encodeMember(impostor));
  await settle();
  await a.agent.settled();
  // A later unrelated change makes the agent reconcile again; refusals must not be logged twice.
  store.put(memberKey(PREFIX, nodeRecord('x', 9).publicKey), 'garbage');
  await settle();
  await a.agent.settled();

  t.is(a.target.peerOf(impostor.publicKey), undefined);
  t.false(a.target.calls.some((c) => c.includes('impostor')));
  t.deepEqual(a.target.peerOf(b.record.publicKey)!.allowedIPs, ['10.50.0.2/32', '10.61.0.0/16']);
  t.is(count(a.logs, /impostor.*refused: static peer \[Peer\] at line 12 has the same public key/), 1);
  t.is(count(a.logs, /site-b.*AllowedIPs 10\.70\.1\.0\/24 refused: overlaps 10\.70\.0\.0\/16 of static peer \[Peer\] at line 12/), 1);
  const snap = a.agent.snapshot();
  t.deepEqual(snap.members.find((m) => m.name === 'site-b')!.refusedAllowedIPs, ['10.70.1.0/24']);
  t.is(snap.members.find((m) => m.name === 'impostor')!.status, 'refused');
});

test('overlap between members: the earlier one keeps the prefix; when it leaves, the later one gets it in place', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = makeNode(t, store, clock, 'site-a', 1);
  const b = makeNode(t, store, clock, 'site-b', 2, { extra: ['10.64.0.0/16'] });
  await startAll(a, b);
  const c = makeNode(t, store, clock, 'site-c', 3, { extra: ['10.64.5.0/24', '10.63.0.0/16'] });
  await startAll(c);
  await a.agent.settled();
  t.deepEqual(a.target.peerOf(c.record.publicKey)!.allowedIPs, ['10.50.0.3/32', '10.63.0.0/16']);
  t.is(count(a.logs, /site-c.*10\.64\.5\.0\/24 refused: overlaps 10\.64\.0\.0\/16 of member site-b/), 1);
  const session = a.target.peerOf(c.record.publicKey)!.session;

  await b.agent.stop();
  await settle();
  await a.agent.settled();
  const peer = a.target.peerOf(c.record.publicKey)!;
  t.deepEqual(peer.allowedIPs, ['10.50.0.3/32', '10.64.5.0/24', '10.63.0.0/16']);
  t.is(peer.session, session);
  t.deepEqual([...a.target.routes].sort(), ['10.63.0.0/16', '10.64.5.0/24']);
});

test('hostile and malformed values are ignored with a reason; they never stop the watcher', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = makeNode(t, store, clock, 'site-a', 1);
  const b = makeNode(t, store, clock, 'site-b', 2);
  await startAll(a, b);
  const bKey = memberKey(PREFIX, b.record.publicKey);
  const stranger = nodeRecord('stranger', 8);
  store.put(`${PREFIX}members/not-a-key`, encodeMember(stranger));
  store.put(memberKey(PREFIX, stranger.publicKey), new Uint8Array([0xff, 0x00, 0x7b]));
  store.put(memberKey(PREFIX, nodeRecord('y', 9).publicKey), JSON.stringify({ version: 1, name: 'y', publicKey: encodeKey(stranger.publicKey), allowedIPs: [] }));
  store.put(`${PREFIX}other/thing`, 'not a member');
  // b's own key overwritten with a hostile value: b is no longer a valid member, so it is removed...
  store.put(bKey, JSON.stringify({ version: 1, name: 'site-b', publicKey: encodeKey(b.record.publicKey), allowedIPs: ['0.0.0.0/0'], extra: 1 }));
  await settle();
  await a.agent.settled();
  t.deepEqual(names(a), []);
  const invalid = a.agent.snapshot().invalid.map((i) => i.reason).sort();
  t.is(invalid.length, 4);
  t.true(invalid.some((r) => /unknown field/.test(r)));
  t.true(invalid.some((r) => /not UTF-8/.test(r)));
  t.true(invalid.some((r) => /differs from the key/.test(r)));
  // ...and a valid value afterwards brings it back: the watch survived all of it.
  store.put(bKey, encodeMember(b.record));
  await settle();
  await a.agent.settled();
  t.deepEqual(names(a), ['site-b']);
  t.is(a.agent.state, 'synced');
});

test('outage: peers are kept, logged once, retried with backoff; on recovery a full read removes vanished members', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = makeNode(t, store, clock, 'site-a', 1);
  const b = makeNode(t, store, clock, 'site-b', 2);
  const c = makeNode(t, store, clock, 'site-c', 3);
  await startAll(a, b, c);
  const callsBefore = a.target.calls.length;
  const aLease = a.client.leases()[0]!;

  store.setOutage(true);
  await settle();
  t.is(a.agent.state, 'outage');
  const listsAtOutage = a.client.calls.list;
  await clock.advance(60_000);
  t.true(a.client.calls.list > listsAtOutage + 3, 'retries while down');
  t.true(a.client.calls.list < listsAtOutage + 60, 'retries back off');
  t.is(count(a.logs, /^mesh: registry unreachable/), 1);
  t.regex(a.logs.find((l) => /^mesh: registry unreachable/.test(l))!, /keeping 2 mesh peer\(s\)/);
  t.is(a.target.calls.length, callsBefore, 'no device change during the outage');
  t.deepEqual(names(a), ['site-b', 'site-c']);

  // Meanwhile c died for good, and a's own lease ran out too.
  store.expireLease(c.client.leases()[0]!);
  store.crash(c.client);
  store.expireLease(aLease);
  store.setOutage(false);
  await settle();
  await clock.advance(0);
  await a.agent.settled();
  t.is(a.agent.state, 'synced');
  t.deepEqual(names(a), ['site-b']);
  t.true(a.target.calls.includes('remove site-c'));
  t.true(a.logs.some((l) => /registry reachable again/.test(l)));
  // a registered again under a new lease, so b (which also resynced) still has it.
  t.true(store.keys(PREFIX).includes(memberKey(PREFIX, a.record.publicKey)));
  t.not(store.leaseOf(memberKey(PREFIX, a.record.publicKey)), aLease);
  await b.agent.settled();
  t.deepEqual(names(b), ['site-a']);
});

test('a start while the registry is down: no peers, retries, joins when it comes back', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const b = makeNode(t, store, clock, 'site-b', 2);
  await startAll(b);
  const a = makeNode(t, store, clock, 'site-a', 1);
  a.client.setReachable(false);
  t.false(await a.agent.start());
  t.is(a.agent.state, 'outage');
  await clock.advance(5_000);
  a.client.setReachable(true);
  await settle();
  await clock.advance(0);
  await a.agent.settled();
  t.is(a.agent.state, 'synced');
  t.deepEqual(names(a), ['site-b']);
  await b.agent.settled();
  t.deepEqual(names(b), ['site-a']);
});

test('one node cut off: it keeps its peers; the others drop it when its lease expires; it rejoins after', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = makeNode(t, store, clock, 'site-a', 1);
  const b = makeNode(t, store, clock, 'site-b', 2);
  await startAll(a, b);
  b.client.setReachable(false);
  await settle();
  store.expireLease(b.client.leases()[0]!);
  await settle();
  await a.agent.settled();
  t.deepEqual(names(a), []);
  t.deepEqual(names(b), ['site-a'], 'b keeps a while it cannot reach the registry');
  b.client.setReachable(true);
  await settle();
  await clock.advance(0);
  await Promise.all([a.agent.settled(), b.agent.settled()]);
  t.deepEqual(names(a), ['site-b']);
  t.is(b.agent.state, 'synced');
});

test('our own key deleted by someone else: registered again', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = makeNode(t, store, clock, 'site-a', 1);
  await startAll(a);
  const key = memberKey(PREFIX, a.record.publicKey);
  store.delete(key);
  await settle();
  await a.agent.settled();
  t.true(store.keys(PREFIX).includes(key));
  t.is(a.client.calls.register, 2);
});

test('a failed device change is logged and retried later', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = makeNode(t, store, clock, 'site-a', 1);
  const b = makeNode(t, store, clock, 'site-b', 2);
  a.target.failing.add('addRoute');
  await startAll(a, b);
  t.deepEqual(names(a), ['site-b']);
  t.deepEqual([...a.target.routes], []);
  t.is(count(a.logs, /add route 10\.60\.2\.0\/24 failed/), 1);
  a.target.failing.clear();
  await clock.advance(10_000);
  await a.agent.settled();
  t.deepEqual([...a.target.routes], ['10.60.2.0/24']);
});

test('snapshot: members with name, short key, endpoint, AllowedIPs, lease age, handshake', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = makeNode(t, store, clock, 'site-a', 1);
  const b = makeNode(t, store, clock, 'site-b', 2, { vtep: true });
  await startAll(a, b);
  await clock.advance(42_000);
  const snap = a.agent.snapshot((pk) => (encodeKey(pk) === encodeKey(b.record.publicKey) ? 1234 : undefined));
  t.is(snap.state, 'synced');
  t.is(snap.self.name, 'site-a');
  t.is(snap.members.length, 1);
  const m = snap.members[0]!;
  t.like(m, {
    name: 'site-b',
    publicKey: encodeKey(b.record.publicKey),
    endpoint: '192.0.2.2:51820',
    allowedIPs: ['10.50.0.2/32', '10.60.2.0/24'],
    vtep: '10.50.0.2',
    status: 'peer',
    leaseAgeSeconds: 42,
    latestHandshake: 1234,
  });
  t.regex(m.shortKey, /^.{4}….{4}$/);
});

test('memory registry: a watch from a compacted revision ends as compacted; events sharing a revision all arrive', async (t) => {
  const store = new MemoryStore();
  const client = new MemoryRegistry(store);
  const reg = await client.register('/p/a', 'x', 5);
  store.put('/p/b', 'y', reg.lease);
  const rev = store.revision;
  store.compact();
  const lost: [string, boolean][] = [];
  client.watch('/p/', rev, { event: () => t.fail('no event expected'), lost: (r, c) => lost.push([r, c]) });
  const events: string[] = [];
  client.watch('/p/', rev + 1n, { event: (e) => events.push(`${e.type} ${e.type === 'put' ? e.kv.key : e.key}`), lost: () => t.fail('not lost') });
  store.expireLease(reg.lease);
  await settle();
  t.deepEqual(lost, [[`revision ${rev} was compacted`, true]]);
  t.deepEqual(events, ['delete /p/a', 'delete /p/b']);
});
