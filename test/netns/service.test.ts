/**
 * Running tunvpn as a service, for real in namespaces: `tunvpn reload` and SIGHUP apply a changed file without
 * touching unchanged peers (same handshake time, counters kept, pings still answered) and refuse a bad file with
 * FILE:LINE leaving everything as it was; `up --metrics` serves Prometheus text whose counters follow traffic.
 * Topology: test/netns/topology.ts (a ⇄ b over a veth, b routes to c).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';
import { skipReason, testWhen } from '../helpers/skip.js';
import { parseExposition } from '../helpers/prometheus.js';
import { ipJson } from './harness.js';
import {
  assertPingsAcross, buildTopology, ping, run, startEnd, stopDaemon, TUNVPN_FILES, TUNVPN_MAIN, waitFor, wgDumpPeers,
  type Daemon, type Topology,
} from './topology.js';

const rootTest = testWhen(skipReason({ root: true, commands: ['ip', 'ping', 'wg', 'bash'], files: TUNVPN_FILES }), { concurrent: true });

interface Addr { addr_info: Array<{ local: string; prefixlen: number }> }
interface Link { ifname: string; mtu: number }

/** What must not change when a reload is refused or leaves a part alone. */
async function snapshot(topo: Topology) {
  const ns = topo.ns.a;
  const name = topo.ifname.a;
  return {
    peers: (await wgDumpPeers(ns, name)).map((p) => ({ key: p.publicKey, allowed: p.allowedIps, endpoint: p.endpoint, hs: p.latestHandshake })),
    addrs: ipJson<Addr[]>(ns, 'address', 'show', 'dev', name)[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`).sort(),
    routes: ipJson<Array<{ dst: string }>>(ns, 'route', 'show', 'dev', name).map((r) => r.dst).sort(),
    mtu: ipJson<Link[]>(ns, 'link', 'show', 'dev', name)[0]!.mtu,
  };
}

function reload(topo: Topology) {
  return run(topo.ns.a, process.execPath, [TUNVPN_MAIN, 'reload', topo.ifname.a]);
}

/** Sends SIGHUP and waits for the daemon's log to report the reload's outcome; returns the output since. */
async function hup(daemon: Daemon): Promise<string> {
  const re = /: reloaded |reload refused/g;
  const seen = daemon.output().match(re)?.length ?? 0;
  const from = daemon.output().length;
  process.kill(daemon.pid, 'SIGHUP');
  await waitFor(() => (daemon.output().match(re)?.length ?? 0) > seen, () => undefined, 'the reload\'s outcome in the log', 15_000);
  return daemon.output().slice(from);
}

rootTest('reload and SIGHUP apply a changed file, keep the unchanged peer\'s session, and refuse a bad file untouched', async (t) => {
  const topo = await buildTopology(t, { purpose: 'reload' });
  const a = await startEnd(topo, 'a');
  await startEnd(topo, 'b');
  await assertPingsAcross(t, topo);
  const conf = topo.quickConf.a;
  const original = readFileSync(conf, 'utf8');
  const before = await snapshot(topo);
  const peerB = (await wgDumpPeers(topo.ns.a, topo.ifname.a))[0]!;
  t.true(peerB.latestHandshake > 0);

  // 1. tunvpn reload: an address, the MTU, a new peer with its route.
  const newPeer = encodeKey(publicKeyOf(generatePrivateKey(systemRng)));
  const changed = original.replace('MTU = 1420', 'MTU = 1380').replace('[Interface]\n', '[Interface]\nAddress = 10.250.0.1/24\n') +
    `\n[Peer]\nPublicKey = ${newPeer}\nAllowedIPs = 10.251.0.0/16\nEndpoint = ${topo.underlay.b}:51999\n`;
  writeFileSync(conf, changed, { mode: 0o600 });
  const r1 = await reload(topo);
  t.is(r1.code, 0, r1.stderr);
  t.regex(r1.stderr, /peer .+ added/);
  const after = await snapshot(topo);
  t.is(after.mtu, 1380);
  t.true(after.addrs.includes('10.250.0.1/24'), after.addrs.join(' '));
  t.true(after.routes.includes('10.251.0.0/16'), after.routes.join(' '));
  t.is(after.peers.length, 2);
  const b1 = (await wgDumpPeers(topo.ns.a, topo.ifname.a)).find((p) => p.publicKey === peerB.publicKey)!;
  t.is(b1.latestHandshake, peerB.latestHandshake, 'the unchanged peer kept its session');
  t.true(b1.rxBytes >= peerB.rxBytes && b1.txBytes >= peerB.txBytes, 'counters kept');
  t.is((await ping(topo.ns.a, topo.tunnel.b, 1)).received, 1);
  t.is((await wgDumpPeers(topo.ns.a, topo.ifname.a)).find((p) => p.publicKey === peerB.publicKey)!.latestHandshake, peerB.latestHandshake);

  // 2. A bad file: refused with FILE:LINE, nothing changed.
  writeFileSync(conf, changed.replace('[Interface]\n', '[Interface]\nFrobnicate = yes\n'), { mode: 0o600 });
  const r2 = await reload(topo);
  t.is(r2.code, 1);
  t.true(r2.stderr.includes(`${conf}:2:`), r2.stderr);
  t.regex(r2.stderr, /refused, nothing changed/);
  t.deepEqual(await snapshot(topo), after);

  // 3. SIGHUP with the original file: the new peer, its route and the address go; peer b still untouched.
  writeFileSync(conf, original, { mode: 0o600 });
  await hup(a);
  const back = await snapshot(topo);
  t.deepEqual(back.addrs, before.addrs);
  t.deepEqual(back.routes, before.routes);
  t.is(back.mtu, 1420);
  t.deepEqual(back.peers.map((p) => p.key), [peerB.publicKey]);
  t.is(back.peers[0]!.hs, peerB.latestHandshake);

  // 4. SIGHUP with a bad file: refused in the log with FILE:LINE, nothing changed.
  writeFileSync(conf, original.replace('ListenPort = ', 'ListenPort = 99999\n#'), { mode: 0o600 });
  const out = await hup(a);
  t.regex(out, new RegExp(`${conf.replaceAll('.', '\\.')}:\\d+: .*ListenPort`));
  t.deepEqual(await snapshot(topo), back);

  // 5. wg syncconf with `tunvpn strip`: accepted by wg, and the unchanged peer is still untouched.
  writeFileSync(conf, original, { mode: 0o600 });
  const sync = await run(topo.ns.a, 'bash', ['-c', `wg syncconf ${topo.ifname.a} <("${process.execPath}" "${TUNVPN_MAIN}" strip "${conf}")`]);
  t.is(sync.code, 0, sync.stderr);
  t.is((await snapshot(topo)).peers[0]!.hs, peerB.latestHandshake);

  // Shutdown still removes everything, including what reloads added.
  t.is(await stopDaemon(a), 0);
  t.deepEqual(ipJson<Link[]>(topo.ns.a, 'link').map((l) => l.ifname).filter((n) => n === topo.ifname.a), []);
});

rootTest('up --metrics serves Prometheus text on loopback; its counters follow the traffic', async (t) => {
  const topo = await buildTopology(t, { purpose: 'metrics' });
  await startEnd(topo, 'a', 'tunvpn', ['--metrics', '127.0.0.1:9586']);
  await startEnd(topo, 'b');
  const scrape = async () => {
    const r = await run(topo.ns.a, process.execPath, ['-e',
      'fetch("http://127.0.0.1:9586/metrics").then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(e); process.exit(1); })']);
    t.is(r.code, 0, r.stderr);
    return parseExposition(r.stdout);
  };
  const before = await scrape();
  const peer = { device: topo.ifname.a, public_key: topo.keys.b.publicKey };
  t.is(before.value('wireguard_peer_transmit_bytes_total', peer), 0);
  t.is(before.value('wireguard_device_info', { device: topo.ifname.a, public_key: topo.keys.a.publicKey }), 1);
  await assertPingsAcross(t, topo);
  const after = await scrape();
  t.true(after.value('wireguard_peer_transmit_bytes_total', peer) > 0);
  t.true(after.value('wireguard_peer_receive_bytes_total', peer) > 0);
  t.true(after.value('wireguard_peer_last_handshake_seconds', peer) > 0);
  t.true(after.value('tunvpn_handshakes_completed_total', { device: topo.ifname.a }) >= 1);
  t.true(after.value('tunvpn_datagrams_total', { device: topo.ifname.a, direction: 'received' }) > 0);
});
