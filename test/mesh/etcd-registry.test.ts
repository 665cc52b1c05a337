/**
 * EtcdRegistry and MeshAgent against a real 3-member etcd 3.4 cluster, one member per namespace (etcd-cluster.ts).
 * Root only; each test builds its own cluster and removes it, with every process it started, at teardown.
 * Nothing here asserts how fast anything happens: waits are generous, durations are only logged.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import { MeshAgent } from '../../src/mesh/agent.js';
import { EtcdRegistry, etcdOptionsFromSettings, type EtcdRegistryOptions } from '../../src/mesh/etcd-registry.js';
import { encodeMember, memberKey, membersPrefix, type MemberRecord } from '../../src/mesh/member.js';
import type { WatchEvent } from '../../src/mesh/registry.js';
import { parseMeshSection } from '../../src/config/mesh.js';
import { parsePrefix } from '../../src/net/ip.js';
import { closedOf, collect } from '../netns/harness.js';
import { sleep } from '../netns/topology.js';
import { etcdSkipReason, exitWhenDone, startEtcdCluster, type EtcdCluster } from './etcd-cluster.js';
import { nodeRecord, RecordingTarget } from './fakes.js';

exitWhenDone();

const HOLDER = fileURLToPath(new URL('./etcd-holder.js', import.meta.url));
const PREFIX = '/tunvpn/';
/** Short leases keep the tests short; etcd's minimum is 2 s. */
const TTL = 4;
/** Generous waits, ms. */
const WAIT_MS = 60_000;

const skip = etcdSkipReason();
const serial = skip ? test.serial.skip : test.serial;
if (skip) test.serial.skip(`etcd integration: ${skip}`, () => undefined);

async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, ms = WAIT_MS): Promise<number> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
  return Date.now() - start;
}

function registry(t: ExecutionContext, opts: EtcdRegistryOptions): EtcdRegistry {
  const r = new EtcdRegistry({ requestTimeoutMs: 3000, ...opts });
  t.teardown(() => r.close());
  return r;
}

interface MeshNode {
  record: MemberRecord;
  registry: EtcdRegistry;
  target: RecordingTarget;
  agent: MeshAgent;
}

function meshNode(t: ExecutionContext, cluster: EtcdCluster, name: string, n: number, opts: Partial<EtcdRegistryOptions> = {}): MeshNode {
  const record = nodeRecord(name, n);
  const reg = registry(t, { endpoints: cluster.clientUrls, ...opts });
  const target = new RecordingTarget();
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(`${name}: ${(JSON.parse(line) as { msg: string }).msg}`) });
  // The agent's story is part of the failure report.
  t.teardown(() => {
    if (!t.passed) t.log(lines.join('\n'));
  });
  const agent = new MeshAgent({
    registry: reg,
    target,
    self: record,
    prefix: PREFIX,
    ttlSeconds: TTL,
    routes: { interfaceAddresses: [parsePrefix(`10.50.0.${n}/24`)!] },
    backoff: { initialMs: 200, maxMs: 2000 },
    log,
  });
  t.teardown(() => agent.stop());
  return { record, registry: reg, target, agent };
}

const hasPeer = (node: MeshNode, other: MeshNode | MemberRecord) =>
  node.target.peerOf('record' in other ? other.record.publicKey : other.publicKey) !== undefined;

serial('register, list and watch; revoke deletes the key at once', async (t) => {
  const cluster = await startEtcdCluster(t, { purpose: 'etcd-basic' });
  const a = registry(t, { endpoints: cluster.clientUrls });
  const b = registry(t, { endpoints: cluster.clientUrls });
  const rec = nodeRecord('site-a', 1);
  const key = memberKey(PREFIX, rec.publicKey);
  const before = await b.list(membersPrefix(PREFIX));
  t.deepEqual(before.kvs, []);
  const events: WatchEvent[] = [];
  const lost: string[] = [];
  const watch = b.watch(membersPrefix(PREFIX), before.revision + 1n, { event: (e) => events.push(e), lost: (r) => lost.push(r) });
  t.teardown(() => watch.cancel());

  const reg = await a.register(key, encodeMember(rec), TTL);
  t.not(reg.lease, '0');
  const snap = await b.list(membersPrefix(PREFIX));
  t.is(snap.kvs.length, 1);
  t.is(snap.kvs[0]!.key, key);
  t.is(snap.kvs[0]!.lease, reg.lease);
  t.is(new TextDecoder().decode(snap.kvs[0]!.value), encodeMember(rec));
  t.true(snap.revision > before.revision);

  await reg.put(encodeMember({ ...rec, name: 'site-a2' }));
  await reg.revoke();
  await waitUntil(() => events.length >= 3, 'put, put, delete events');
  t.deepEqual(
    events.map((e) => `${e.type} ${e.type === 'put' ? e.kv.key : e.key}`),
    [`put ${key}`, `put ${key}`, `delete ${key}`],
  );
  const [first, second] = events as [Extract<WatchEvent, { type: 'put' }>, Extract<WatchEvent, { type: 'put' }>];
  t.is(first.kv.createRevision, second.kv.createRevision, 'an update keeps the create revision');
  t.true(second.kv.modRevision > first.kv.modRevision);
  t.deepEqual((await b.list(membersPrefix(PREFIX))).kvs, []);
  t.deepEqual(lost, []);
});

serial('a holder killed with SIGKILL: its key goes when the lease expires, and the agent removes the peer', async (t) => {
  const cluster = await startEtcdCluster(t, { purpose: 'etcd-kill' });
  const a = meshNode(t, cluster, 'site-a', 1);
  t.true(await a.agent.start());
  const crashed = nodeRecord('site-c', 3);
  const child = spawn(process.execPath, [HOLDER, cluster.clientUrls.join(','), memberKey(PREFIX, crashed.publicKey), encodeMember(crashed), String(TTL)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const closed = closedOf(child);
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await closed;
  });
  await collect(child).wait(/registered \d+/, WAIT_MS);
  await waitUntil(() => hasPeer(a, crashed), 'site-c as a peer of site-a');

  child.kill('SIGKILL');
  t.is(await closed, 'SIGKILL');
  const took = await waitUntil(() => !hasPeer(a, crashed), 'site-c removed after its lease expired');
  t.log(`peer removed ${took} ms after SIGKILL (TTL ${TTL} s)`);
  t.deepEqual(a.target.routes.has('10.60.3.0/24'), false);
  t.true(a.target.calls.includes('remove site-c'));
});

serial('one member down changes nothing; two down: outage, peers kept; back: converges and drops the vanished', async (t) => {
  const cluster = await startEtcdCluster(t, { purpose: 'etcd-quorum' });
  const a = meshNode(t, cluster, 'site-a', 1);
  const b = meshNode(t, cluster, 'site-b', 2);
  t.true(await a.agent.start());
  t.true(await b.agent.start());
  await waitUntil(() => hasPeer(a, b) && hasPeer(b, a), 'a and b peers of each other');

  // One of three down: the cluster keeps its quorum; members keep joining.
  await cluster.stop(0);
  const c = meshNode(t, cluster, 'site-c', 3);
  t.true(await c.agent.start());
  await waitUntil(() => hasPeer(a, c) && hasPeer(b, c) && hasPeer(c, a) && hasPeer(c, b), 'site-c joined with one etcd member down');
  await waitUntil(() => a.agent.state === 'synced' && b.agent.state === 'synced', 'a and b synced with one member down');
  const removalsBefore = a.target.calls.filter((x) => x.startsWith('remove')).length;
  t.is(removalsBefore, 0);

  // Two of three down: no quorum. Every agent reports the outage and keeps its peers.
  await cluster.stop(1);
  await waitUntil(() => a.agent.state === 'outage' && b.agent.state === 'outage', 'a and b in outage');
  // site-c dies during the outage without revoking its lease.
  t.not((await cluster.etcdctl(['endpoint', 'health'])).code, 0, 'the cluster has no quorum');
  await c.agent.stop().catch(() => undefined); // revoke cannot succeed without quorum
  await c.registry.close();
  await sleep(2 * TTL * 1000); // long enough for any (wrong) expiry-driven removal to have happened
  for (const n of [a, b]) {
    t.is(n.agent.state, 'outage');
    t.false(n.target.calls.some((x) => x.startsWith('remove')), 'no peer removed during the outage');
  }
  t.true(hasPeer(a, b) && hasPeer(a, c) && hasPeer(b, a) && hasPeer(b, c));

  // Quorum back: both re-read, re-register if their leases went, and site-c's lease expires.
  await cluster.start(0);
  await cluster.start(1);
  await cluster.waitHealthy();
  const took = await waitUntil(
    () => a.agent.state === 'synced' && b.agent.state === 'synced' && !hasPeer(a, c) && !hasPeer(b, c) && hasPeer(a, b) && hasPeer(b, a),
    'a and b synced again, site-c gone, a and b still peers',
  );
  t.log(`converged ${took} ms after the cluster was healthy again`);
  const keys = (await cluster.etcdctl(['get', '--prefix', '--keys-only', membersPrefix(PREFIX)])).stdout.split('\n').filter(Boolean).sort();
  t.deepEqual(keys, [memberKey(PREFIX, a.record.publicKey), memberKey(PREFIX, b.record.publicKey)].sort());
});

serial('a watch from a compacted revision ends as lost (compacted); agents started after the compaction meet', async (t) => {
  const cluster = await startEtcdCluster(t, { purpose: 'etcd-compact' });
  const r = registry(t, { endpoints: cluster.clientUrls });
  const start = await r.list(membersPrefix(PREFIX));
  for (let i = 0; i < 3; i++) {
    const put = await cluster.etcdctl(['put', `${PREFIX}other/${i}`, 'x']);
    t.is(put.code, 0, put.stderr);
  }
  const now = await r.list(PREFIX);
  const compact = await cluster.etcdctl(['compaction', now.revision.toString()]);
  t.is(compact.code, 0, compact.stderr);
  const lost: [string, boolean][] = [];
  const watch = r.watch(membersPrefix(PREFIX), start.revision + 1n, { event: () => undefined, lost: (why, compacted) => lost.push([why, compacted]) });
  t.teardown(() => watch.cancel());
  await waitUntil(() => lost.length > 0, 'the compacted watch to end');
  t.deepEqual(lost, [['start revision compacted', true]]);

  const a = meshNode(t, cluster, 'site-a', 1);
  const b = meshNode(t, cluster, 'site-b', 2);
  t.true(await a.agent.start());
  t.true(await b.agent.start());
  await waitUntil(() => hasPeer(a, b), 'a sees b');
});

const serialTls = etcdSkipReason(['openssl']) ? test.serial.skip : test.serial;

serialTls('TLS with a client certificate and user/password auth', async (t) => {
  const auth = { user: 'tunvpn', password: 'mesh-pass-1', prefix: PREFIX };
  const cluster = await startEtcdCluster(t, { purpose: 'etcd-tls', tls: true, auth });
  const passwordFile = join(cluster.dir, 'etcd.pass');
  writeFileSync(passwordFile, `${auth.password}\n`, { mode: 0o600 });
  const section = [
    `Etcd = ${cluster.clientUrls.join(', ')}`,
    `EtcdCA = ${cluster.tls!.ca}`,
    `EtcdCert = ${cluster.tls!.cert}`,
    `EtcdKey = ${cluster.tls!.key}`,
    `EtcdUser = ${auth.user}`,
    `EtcdPasswordFile = ${passwordFile}`,
  ];
  const parsed = parseMeshSection(section.map((l, i) => ({ key: l.split('=')[0]!, value: l.slice(l.indexOf('=') + 1), line: i + 1 })));
  if (!parsed.ok) return t.fail(parsed.errors.map((e) => e.message).join('\n'));
  const opts = await etcdOptionsFromSettings(parsed.settings);

  const a = meshNode(t, cluster, 'site-a', 1, opts);
  const b = meshNode(t, cluster, 'site-b', 2, opts);
  t.true(await a.agent.start());
  t.true(await b.agent.start());
  await waitUntil(() => hasPeer(a, b) && hasPeer(b, a), 'a and b over TLS with auth');

  const wrong = registry(t, { ...opts, auth: { username: auth.user, password: 'wrong' } });
  await t.throwsAsync(wrong.list(membersPrefix(PREFIX)));
  const outside = registry(t, opts);
  await t.throwsAsync(outside.list('/elsewhere/'), undefined, 'the user may only read its prefix');
});
