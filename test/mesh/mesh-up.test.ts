/**
 * `tunvpn up` with a [Mesh] section, end to end: a real 3-member etcd cluster (etcd-cluster.ts) and nodes in their
 * own namespaces (mesh-nodes.ts), none with a [Peer]. Root, etcd and wg only; serial; every test builds and removes
 * its own cluster, namespaces, daemons and files, also on failure.
 *
 * Times are logged, not asserted, except the one bound: a node killed with SIGKILL is gone from every other
 * node, with its route, within TTL + 2 s. It is checked with the polling interval and a loaded machine's slack on
 * top (MEASURE_SLACK_MS).
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { ip } from '../netns/harness.js';
import { pingUntilReply, ping, sleep } from '../netns/topology.js';
import { etcdSkipReason, startEtcdCluster } from './etcd-cluster.js';
import { buildMeshLab, peersOf, pollUntil, tunnelRoutes, type MeshLab, type MeshNode } from './mesh-nodes.js';

/** Short leases keep the tests short (etcd's minimum is 2 s). */
const TTL_S = 3;
/** On top of TTL + 2 s: the 200 ms polling, `wg show` process start-up on a loaded 2-core box. */
const MEASURE_SLACK_MS = 3000;

const skip = etcdSkipReason(['wg', 'ping']);
const serial = skip ? test.serial.skip : test.serial;
if (skip) test.serial.skip(`mesh integration: ${skip}`, () => undefined);

/** Every node pings every other's tunnel address (first packets wait for the handshake). */
async function allReachAll(t: ExecutionContext, nodes: MeshNode[]): Promise<void> {
  await Promise.all(
    nodes.map(async (from) => {
      for (const to of nodes) {
        if (to === from) continue;
        await pingUntilReply(from.ns, to.tunnel, 8).catch((e: Error) => t.fail(`${from.name} → ${to.name}: ${e.message}`));
      }
    }),
  );
}

async function hasPeer(on: MeshNode, of: MeshNode): Promise<boolean> {
  return (await peersOf(on)).has(of.publicKey);
}

async function waitMeshOf(lab: MeshLab, nodes: MeshNode[]): Promise<void> {
  for (const n of nodes) {
    await pollUntil(async () => {
      const peers = await peersOf(n);
      return nodes.every((o) => o === n || peers.has(o.publicKey));
    }, `${n.name} to see ${nodes.length - 1} peers`);
  }
  void lab;
}

serial('five nodes join and reach each other; kill -9: the others drop it within TTL + 2 s; it rejoins; a node roams and grows its AllowedIPs by reload, nobody else handshakes again', async (t) => {
  const cluster = await startEtcdCluster(t, { purpose: 'mup' });
  const lab = buildMeshLab(t, cluster, { purpose: 'mup', ttl: TTL_S });
  const nodes = Array.from({ length: 5 }, () => lab.addNode());
  await Promise.all(nodes.map((n) => lab.start(n)));
  await waitMeshOf(lab, nodes);

  // Every node has the other four, with their endpoints, AllowedIPs and a route for the extra prefix.
  for (const n of nodes) {
    const peers = await peersOf(n);
    for (const o of nodes.filter((x) => x !== n)) {
      t.is(peers.get(o.publicKey)?.endpoint, `${o.underlay}:51820`, `${o.name} on ${n.name}`);
      t.deepEqual(peers.get(o.publicKey)?.allowedIps.split(',').sort(), [`${o.tunnel}/32`, o.lan].sort());
    }
    t.deepEqual((await tunnelRoutes(n)).filter((d) => d.startsWith('172.20.')).sort(), nodes.filter((o) => o !== n).map((o) => o.lan).sort());
  }
  await allReachAll(t, nodes);

  // `tunvpn mesh show` on a running interface.
  const shown = await lab.cli(nodes[0]!, ['mesh', 'show', nodes[0]!.ifname, '--json']);
  t.is(shown.code, 0, shown.stderr);
  const view = JSON.parse(shown.stdout) as { source: string; state: string; members: { name: string; status: string; latestHandshake?: number }[] };
  t.is(view.source, 'daemon');
  t.is(view.state, 'synced');
  t.deepEqual(view.members.map((m) => [m.name, m.status]), nodes.slice(1).map((n) => [n.name, 'peer']));
  t.true(view.members.every((m) => typeof m.latestHandshake === 'number'), 'every member handshook (the pings)');

  // kill -9 node 3: the others drop it and its route once its lease expires.
  const victim = nodes[2]!;
  const others = nodes.filter((n) => n !== victim);
  const killedAt = Date.now();
  await lab.kill(victim);
  const gone = await Promise.all(
    others.map(async (n) => {
      await pollUntil(async () => !(await hasPeer(n, victim)) && !(await tunnelRoutes(n)).includes(victim.lan), `${n.name} to drop ${victim.name}`, 60_000, 200);
      return Date.now() - killedAt;
    }),
  );
  const worst = Math.max(...gone);
  t.log(`${victim.name} killed: dropped by the others after ${gone.join(', ')} ms (TTL ${TTL_S} s; bound TTL + 2 s = ${(TTL_S + 2) * 1000} ms)`);
  t.true(worst <= (TTL_S + 2) * 1000 + MEASURE_SLACK_MS, `dropped after ${worst} ms`);

  // It restarts and rejoins.
  await lab.start(victim);
  await waitMeshOf(lab, nodes);
  await allReachAll(t, [victim, nodes[0]!]);
  await pingUntilReply(nodes[4]!.ns, victim.tunnel, 8);

  // Roaming: node 5 moves to another underlay address, and announces it with a new prefix, by reload.
  const roamer = nodes[4]!;
  const still = nodes.filter((n) => n !== roamer);
  // Every pair of the others has a session now; their handshake times must not move.
  await allReachAll(t, still);
  await sleep(1500); // a rekey those pings may have started has finished by now
  const before = await Promise.all(still.map((n) => peersOf(n)));
  const moved = cluster.address(40);
  ip(roamer.ns, 'addr', 'del', `${roamer.underlay}/24`, 'dev', 'eth0');
  ip(roamer.ns, 'addr', 'add', `${moved}/24`, 'dev', 'eth0');
  roamer.underlay = moved;
  const extra = '172.21.5.0/24';
  const conf = readFileSync(roamer.conf, 'utf8')
    .replace(`AllowedIPs = ${roamer.tunnel}/32, ${roamer.lan}`, `AllowedIPs = ${roamer.tunnel}/32, ${roamer.lan}, ${extra}\nEndpoint = ${moved}:51820`);
  writeFileSync(roamer.conf, conf, { mode: 0o600 });
  const reload = await lab.cli(roamer, ['reload', roamer.ifname]);
  t.is(reload.code, 0, reload.stderr);
  t.regex(reload.stderr, /record updated in place/);
  for (const n of still) {
    await pollUntil(async () => {
      const p = (await peersOf(n)).get(roamer.publicKey);
      return p?.endpoint === `${moved}:51820` && p.allowedIps.split(',').includes(extra) && (await tunnelRoutes(n)).includes(extra);
    }, `${n.name} to follow ${roamer.name}'s new endpoint and prefix`);
  }
  for (const n of still) await pingUntilReply(n.ns, roamer.tunnel, 8);
  const after = await Promise.all(still.map((n) => peersOf(n)));
  still.forEach((n, i) => {
    for (const o of still) {
      if (o === n) continue;
      t.is(after[i]!.get(o.publicKey)?.latestHandshake, before[i]!.get(o.publicKey)?.latestHandshake, `${n.name}'s handshake with ${o.name} unchanged`);
    }
  });
  const last = await ping(nodes[0]!.ns, roamer.tunnel, 3);
  t.is(last.received, 3, last.output);

  // A clean stop revokes the lease: the others drop the node at once, long before its TTL could.
  t.is(await lab.stop(roamer), 0);
  await pollUntil(async () => !(await hasPeer(nodes[0]!, roamer)), `${nodes[0]!.name} to drop ${roamer.name} after a clean stop`, 30_000);
  t.regex(roamer.daemon!.output(), /lease revoked; left the mesh/);
});
