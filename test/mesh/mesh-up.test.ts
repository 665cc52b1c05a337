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
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { collect, deleteNs, ip, RUN_TAG, spawnInNs } from '../netns/harness.js';
import { pingUntilReply, ping, run, sleep, TUNVPN_MAIN } from '../netns/topology.js';
import { etcdSkipReason, exitWhenDone, startEtcdCluster } from './etcd-cluster.js';
import { buildMeshLab, peersOf, pollUntil, tunnelRoutes, type MeshLab, type MeshNode } from './mesh-nodes.js';

exitWhenDone();

/** tunvpnd, compiled next to this file's compiled form. */
const TUNVPND_MAIN = fileURLToPath(new URL('../../src/cli/userspace.js', import.meta.url));
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

  // A clean stop revokes the lease: the others drop the node at once, without waiting for its TTL.
  const leaving = nodes[1]!;
  t.is(await lab.stop(leaving), 0);
  t.regex(leaving.daemon!.output(), /lease revoked; left the mesh/);
  await pollUntil(async () => !(await hasPeer(nodes[0]!, leaving)), `${nodes[0]!.name} to drop ${leaving.name} after a clean stop`, 30_000);

  // Its file, not running: `mesh show CONF` reads etcd once and shows what it would get.
  const offline = await lab.cli(leaving, ['mesh', 'show', leaving.conf, '--json']);
  t.is(offline.code, 0, offline.stderr);
  const seen = JSON.parse(offline.stdout) as { source: string; self: { name: string }; members: { name: string; status: string; allowedIPs: string[] }[] };
  t.is(seen.source, 'registry');
  t.is(seen.self.name, leaving.name);
  t.deepEqual(seen.members.map((m) => [m.name, m.status]), nodes.filter((n) => n !== leaving).map((n) => [n.name, 'peer']));
  t.deepEqual(seen.members[0]!.allowedIPs, [`${nodes[0]!.tunnel}/32`, nodes[0]!.lan]);
});

/** The mesh's state as `tunvpn mesh show IFACE --json` reports it on a running node. */
async function meshState(lab: MeshLab, node: MeshNode): Promise<{ state: string; members: { name: string }[] }> {
  const r = await lab.cli(node, ['mesh', 'show', node.ifname, '--json']);
  if (r.code !== 0) throw new Error(`mesh show on ${node.name}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { state: string; members: { name: string }[] };
}

serial('etcd members down: with one a new node joins; with two (no quorum) tunnels carry on, a node crashes, another starts; back: the mesh converges', async (t) => {
  const cluster = await startEtcdCluster(t, { purpose: 'metc' });
  const lab = buildMeshLab(t, cluster, { purpose: 'metc', ttl: TTL_S });
  const [n1, n2, n3] = [lab.addNode(), lab.addNode(), lab.addNode()];
  await Promise.all([n1, n2, n3].map((n) => lab.start(n)));
  await waitMeshOf(lab, [n1, n2, n3]);

  // One member down: a majority is left, nothing changes; a new node joins and is reached by all.
  await cluster.stop(0);
  const n4 = lab.addNode();
  await lab.start(n4);
  await waitMeshOf(lab, [n1, n2, n3, n4]);
  await allReachAll(t, [n1, n2, n3, n4]);

  // Two down: no quorum. Every node keeps its peers, and the tunnels carry traffic.
  await cluster.stop(1);
  const outageStart = Date.now();
  await pollUntil(async () => (await meshState(lab, n1)).state === 'outage', `${n1.name} to notice the outage`, 60_000, 500);
  t.log(`${n1.name} in outage after ${Date.now() - outageStart} ms`);
  await allReachAll(t, [n1, n2, n3, n4]);
  for (const n of [n1, n2, n4]) t.is((await peersOf(n)).size, 3, `${n.name} keeps its peers`);

  // Meanwhile node 3 crashes (its lease cannot expire without a leader) and node 5 starts (`up` does not wait).
  await lab.kill(n3);
  const n5 = lab.addNode();
  await lab.start(n5);
  // `up` waited at most 10 s for etcd; the agent goes on trying and says so.
  await pollUntil(() => Promise.resolve(/registry unreachable/.test(n5.daemon!.output())), `${n5.name} to report the outage`);
  await allReachAll(t, [n1, n2, n4]);

  // Back: the mesh converges (node 5 in, node 3 out) without anyone being restarted.
  await cluster.start(0);
  await cluster.start(1);
  await cluster.waitHealthy();
  const healthy = Date.now();
  const live = [n1, n2, n4, n5];
  for (const n of live) {
    await pollUntil(async () => {
      const peers = await peersOf(n);
      return live.every((o) => o === n || peers.has(o.publicKey)) && !peers.has(n3.publicKey);
    }, `${n.name} to converge`);
  }
  t.log(`converged ${Date.now() - healthy} ms after the cluster was healthy again`);
  await allReachAll(t, live);
  for (const n of live) t.is((await meshState(lab, n)).state, 'synced');
});

/** The site file of one node: a bridge, a vxlan over its tunnel that follows the mesh, one container. */
function siteFile(node: MeshNode): string {
  return [
    '[Bridge]',
    'Name = br-lan',
    `Address = 192.168.77.${node.index}/24`,
    '',
    '[Vxlan]',
    'Name = vx-lan',
    'Id = 42',
    `Local = ${node.tunnel}`,
    'Remote = mesh',
    'Bridge = br-lan',
    `Dev = ${node.ifname}`,
    '',
    '[Namespace]',
    `Name = c${node.index}`,
    'Bridge = br-lan',
    `Address = 192.168.77.${10 + node.index}/24`,
    '',
  ].join('\n');
}

/** Runs the CLI in the test's own namespace (site commands act on the node's namespace through --host-netns). */
function cliHere(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TUNVPN_MAIN, ...args], { encoding: 'utf8' }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

/** The all-zeros FDB destinations of vx-lan in the node's namespace. */
async function floodTargets(node: MeshNode): Promise<string[]> {
  const r = await run(node.ns, 'bridge', ['-j', 'fdb', 'show', 'dev', 'vx-lan']);
  if (r.code !== 0) return [];
  return (JSON.parse(r.stdout || '[]') as { mac: string; dst?: string }[]).filter((e) => e.mac === '00:00:00:00:00:00' && e.dst).map((e) => e.dst!).sort();
}

serial('a Layer-2 segment over the mesh: Remote = mesh on three nodes, containers reach each other, FDB follows members', async (t) => {
  const cluster = await startEtcdCluster(t, { purpose: 'msite' });
  const lab = buildMeshLab(t, cluster, { purpose: 'msite', ttl: TTL_S });
  const nodes = [lab.addNode(), lab.addNode(), lab.addNode()];
  await Promise.all(nodes.map((n) => lab.start(n)));
  await waitMeshOf(lab, nodes);

  const prefix = `s${RUN_TAG.slice(0, 6)}${randomBytes(1).toString('hex')}-`;
  const files = nodes.map((n) => join(lab.dir, `site-${n.index}.conf`));
  nodes.forEach((n, i) => writeFileSync(files[i]!, siteFile(n)));
  const site = (verb: string, i: number) => cliHere(['site', verb, files[i]!, '--host-netns', nodes[i]!.ns, '--ns-prefix', prefix]);
  t.teardown(async () => {
    for (let i = 0; i < nodes.length; i++) await site('down', i);
    for (const n of nodes) deleteNs(`${prefix}c${n.index}`);
  });
  for (let i = 0; i < nodes.length; i++) {
    const r = await site('up', i);
    t.is(r.code, 0, r.out);
    t.regex(r.out, /let the mesh of tm\w+ keep the FDB of vx-lan/);
  }
  // Every node floods to the other two VTEPs.
  for (const n of nodes) {
    const others = nodes.filter((o) => o !== n).map((o) => o.tunnel).sort();
    await pollUntil(async () => JSON.stringify(await floodTargets(n)) === JSON.stringify(others), `${n.name}'s vx-lan FDB to list ${others.join(', ')}`);
  }
  const again = await site('up', 0);
  t.regex(again.out, /0 changes/);

  // Containers on different nodes share 192.168.77.0/24.
  for (const from of nodes) {
    for (const to of nodes) {
      if (to === from) continue;
      await pingUntilReply(`${prefix}c${from.index}`, `192.168.77.${10 + to.index}`, 8).catch((e: Error) => t.fail(`c${from.index} → c${to.index}: ${e.message}`));
    }
  }
  const shown = await lab.cli(nodes[0]!, ['mesh', 'show', nodes[0]!.ifname, '--json']);
  const status = JSON.parse(shown.stdout) as { vtepDevices: string[]; self: { vtep?: string }; members: { vtep?: string }[] };
  t.deepEqual(status.vtepDevices, ['vx-lan']);
  t.is(status.self.vtep, nodes[0]!.tunnel);
  t.deepEqual(status.members.map((m) => m.vtep), [nodes[1]!.tunnel, nodes[2]!.tunnel]);

  // A member leaves: the others stop flooding to it.
  t.is(await lab.stop(nodes[2]!), 0);
  for (const n of nodes.slice(0, 2)) {
    const other = nodes.find((o) => o !== n && o !== nodes[2])!;
    await pollUntil(async () => JSON.stringify(await floodTargets(n)) === JSON.stringify([other.tunnel]), `${n.name} to drop ${nodes[2]!.name}'s VTEP`);
  }
  // site down on node 1: its daemon stops keeping the FDB and stops announcing a VTEP; node 2 stops flooding to it.
  const down = await site('down', 0);
  t.is(down.code, 0, down.out);
  t.regex(down.out, /stop the mesh of tm\w+ keeping the FDB of vx-lan/);
  await pollUntil(async () => (await floodTargets(nodes[1]!)).length === 0, `${nodes[1]!.name} to stop flooding to ${nodes[0]!.name}`);
  const after = JSON.parse((await lab.cli(nodes[0]!, ['mesh', 'show', nodes[0]!.ifname, '--json'])).stdout) as typeof status;
  t.deepEqual(after.vtepDevices, []);
  t.is(after.self.vtep, undefined);
});

serial('tunvpnd --mesh FILE, driven by wg: joins once wg sets its key, its peers stay static, a mesh peer wg removes comes back', async (t) => {
  const cluster = await startEtcdCluster(t, { purpose: 'mwgd' });
  const lab = buildMeshLab(t, cluster, { purpose: 'mwgd', ttl: TTL_S });
  const [n1, n2] = [lab.addNode(), lab.addNode()];
  await lab.start(n1);

  // Node 2 runs tunvpnd instead: a file with the [Mesh] section only, everything else set by wg and ip.
  const meshFile = join(lab.dir, `${n2.ifname}.mesh`);
  writeFileSync(meshFile, readFileSync(n2.conf, 'utf8').slice(readFileSync(n2.conf, 'utf8').indexOf('[Mesh]')));
  const keyFile = join(lab.dir, `${n2.ifname}.key`);
  writeFileSync(keyFile, `${/PrivateKey = (\S+)/.exec(readFileSync(n2.conf, 'utf8'))![1]}\n`, { mode: 0o600 });
  const tunvpnd = spawnInNs(t, n2.ns, process.execPath, [TUNVPND_MAIN, '-f', '--mesh', meshFile, n2.ifname]);
  const out = collect(tunvpnd);
  t.teardown(() => {
    for (const f of [`/var/run/wireguard/${n2.ifname}.sock`]) rmSync(f, { force: true });
  });
  await pollUntil(async () => (await run(n2.ns, 'wg', ['show', n2.ifname])).code === 0, 'tunvpnd to serve its socket', 60_000);
  t.is((await peersOf(n1)).size, 0, 'no key yet: not in the mesh');
  for (const args of [
    ['wg', 'set', n2.ifname, 'private-key', keyFile, 'listen-port', '51820'],
    ['ip', 'address', 'add', `${n2.tunnel}/24`, 'dev', n2.ifname],
    ['ip', 'link', 'set', n2.ifname, 'up'],
  ]) {
    const r = await run(n2.ns, args[0]!, args.slice(1));
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  await waitMeshOf(lab, [n1, n2]);
  await pingUntilReply(n2.ns, n1.tunnel, 8);
  await pingUntilReply(n1.ns, n2.tunnel, 8);
  t.regex(out.text(), /a private key is set; joining the mesh/);

  // wg removes the mesh peer: the mesh puts it back.
  const removed = await run(n2.ns, 'wg', ['set', n2.ifname, 'peer', n1.publicKey, 'remove']);
  t.is(removed.code, 0, removed.stderr);
  await pollUntil(async () => (await peersOf(n2)).has(n1.publicKey), `${n1.name} back on ${n2.name}`);
  await pingUntilReply(n2.ns, n1.tunnel, 8);

  // A peer wg sets with a key of its own is static: a member's prefix that overlaps it is refused, never taken.
  const staticKey = (await run(n2.ns, 'wg', ['genkey'])).stdout.trim();
  const staticPub = (await new Promise<string>((resolve) => {
    const c = execFile('wg', ['pubkey'], (_e, stdout) => resolve(stdout.trim()));
    c.stdin?.end(`${staticKey}\n`);
  }));
  const set = await run(n2.ns, 'wg', ['set', n2.ifname, 'peer', staticPub, 'allowed-ips', n1.lan]);
  t.is(set.code, 0, set.stderr);
  await pollUntil(async () => (await peersOf(n2)).get(n1.publicKey)?.allowedIps === `${n1.tunnel}/32`, `${n1.name} to keep only its tunnel address on ${n2.name}`);
  await sleep(1000);
  const peers = await peersOf(n2);
  t.is(peers.get(staticPub)?.allowedIps, n1.lan, 'the static peer keeps the prefix');
  t.is(peers.get(n1.publicKey)?.allowedIps, `${n1.tunnel}/32`);
  const shown = JSON.parse((await lab.cli(n2, ['mesh', 'show', n2.ifname, '--json'])).stdout) as { members: { name: string; refusedAllowedIPs: string[] }[]; refusals: string[] };
  t.deepEqual(shown.members.map((m) => [m.name, m.refusedAllowedIPs]), [[n1.name, [n1.lan]]]);
  t.regex(shown.refusals.join('\n'), /refused: overlaps .* of static peer \S+ \(set by wg\)/);
});
