/**
 * tunvpn ⇄ tunvpn through the topology of topology.ts (a — veth — b — veth LAN — c): pings over the tunnel and to
 * the LAN behind b, iperf3 through it, the peer's counters as `wg` and `tunvpn show` see them, reconfiguration
 * over the UAPI socket, and a clean SIGTERM (link, routes, socket and pid file gone).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ipJson } from './harness.js';
import {
  assertPingsAcross,
  buildTopology,
  iperf,
  iperfServer,
  leftovers,
  PID_DIR,
  ping,
  pingUntilReply,
  run,
  socketPath,
  startEnd,
  stopDaemon,
  TUNVPN_MAIN,
  tunvpnShow,
  wgDumpPeers,
  wgShow,
  type LinkJson,
  type RouteJson,
  TUNVPN_FILES,
} from './topology.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const why = skipReason({ root: true, files: TUNVPN_FILES, commands: ['ip', 'wg', 'ping', 'iperf3'] });
const maybe = testWhen(why, { concurrent: true });

maybe(`tunvpn ⇄ tunvpn: pings, iperf3, wg show, UAPI set, clean SIGTERM`, async (t) => {
  const topo = await buildTopology(t, { purpose: 'tun' });
  const b = await startEnd(topo, 'b');
  const a = await startEnd(topo, 'a');

  // a → b's tunnel address (the first ping may wait for the handshake), then steady pings.
  await pingUntilReply(topo.ns.a, topo.tunnel.b);
  // a → c on the LAN behind b, and c → a back through the tunnel.
  await assertPingsAcross(t, topo);

  await iperfServer(t, topo.ns.c);
  const perf = await iperf(topo.ns.a, topo.lan.c, { seconds: 3 });
  t.true(perf.receivedBitsPerSecond > 0 && perf.receivedBytes > 0, `iperf3 a → c: ${JSON.stringify(perf)}`);

  // `wg show IFACE dump` inside a's namespace: the peer (b) with a handshake and traffic both ways.
  const peers = await wgDumpPeers(topo.ns.a, a.ifname);
  t.is(peers.length, 1);
  const [peer] = peers;
  t.is(peer!.publicKey, topo.keys.b.publicKey);
  t.is(peer!.endpoint, `${topo.underlay.b}:${topo.port.b}`);
  t.true(peer!.latestHandshake > 0, `latest handshake ${peer!.latestHandshake}`);
  t.true(peer!.rxBytes > 0 && peer!.txBytes > 0, `rx ${peer!.rxBytes} tx ${peer!.txBytes}`);
  t.deepEqual(peer!.allowedIps.split(',').sort(), [...topo.allowed.a].sort());
  // The iperf3 run alone moved megabytes: far more than the handshake.
  t.true(peer!.txBytes >= perf.receivedBytes, `tx ${peer!.txBytes} < iperf3 bytes ${perf.receivedBytes}`);

  // `tunvpn show --json` agrees with wg.
  const shown = await tunvpnShow(topo.ns.a, a.ifname);
  t.is(shown.interfaces.length, 1);
  const iface = shown.interfaces[0]!;
  t.is(iface.name, a.ifname);
  t.is(iface.publicKey, topo.keys.a.publicKey);
  t.is(iface.listenPort, topo.port.a);
  t.is(iface.peers.length, 1);
  const sp = iface.peers[0]!;
  t.is(sp.publicKey, topo.keys.b.publicKey);
  t.is(sp.endpoint, peer!.endpoint);
  t.deepEqual([...sp.allowedIps].sort(), [...topo.allowed.a].sort());
  t.is(sp.latestHandshake, peer!.latestHandshake);
  // Counters only grow between the two reads.
  t.true(sp.rxBytes >= peer!.rxBytes && sp.txBytes >= peer!.txBytes, `show ${sp.rxBytes}/${sp.txBytes} vs dump ${peer!.rxBytes}/${peer!.txBytes}`);

  // `wg syncconf IFACE <(wg showconf IFACE)`: an unchanged configuration keeps the session, its handshake time and
  // its counters (the private key is sent again; the same key must change nothing).
  const sync = await run(topo.ns.a, 'bash', ['-c', `wg syncconf ${a.ifname} <(wg showconf ${a.ifname})`]);
  t.is(sync.code, 0, sync.stderr);
  const [synced] = await wgDumpPeers(topo.ns.a, a.ifname);
  t.is(synced!.latestHandshake, sp.latestHandshake);
  t.true(synced!.rxBytes >= sp.rxBytes && synced!.txBytes >= sp.txBytes, `after syncconf ${synced!.rxBytes}/${synced!.txBytes}`);

  // Reconfiguration through the UAPI socket: `wg set` replaces the allowed IPs; `wg show` reports the new list.
  const extra = '192.168.77.0/24';
  const set = await run(topo.ns.a, 'wg', ['set', a.ifname, 'peer', topo.keys.b.publicKey, 'allowed-ips', [...topo.allowed.a, extra].join(',')]);
  t.is(set.code, 0, set.stderr);
  const allowedNow = (await wgShow(topo.ns.a, a.ifname, 'allowed-ips')).trim().split('\t');
  t.is(allowedNow[0], topo.keys.b.publicKey);
  t.deepEqual(allowedNow[1]!.split(' ').sort(), [...topo.allowed.a, extra].sort());
  // ... and removing the LAN from the peer stops a's traffic to c at a (no peer for the destination).
  const narrowed = await run(topo.ns.a, 'wg', ['set', a.ifname, 'peer', topo.keys.b.publicKey, 'allowed-ips', `${topo.tunnel.b}/32`]);
  t.is(narrowed.code, 0, narrowed.stderr);
  t.is((await wgShow(topo.ns.a, a.ifname, 'allowed-ips')).trim(), `${topo.keys.b.publicKey}\t${topo.tunnel.b}/32`);
  const blocked = await ping(topo.ns.a, topo.lan.c, 2);
  t.is(blocked.received, 0, `c answered although the LAN is no longer a's peer's: ${blocked.output}`);
  t.is((await ping(topo.ns.a, topo.tunnel.b, 2)).received, 2);

  // SIGTERM: a exits 0 and takes its link, routes, socket and pid file with it.
  t.true(existsSync(socketPath(a.ifname)));
  t.is(await stopDaemon(a), 0, a.output());
  const links = ipJson<LinkJson[]>(topo.ns.a, 'link');
  t.false(links.some((l) => l.ifname === a.ifname), `link ${a.ifname} still there`);
  const routes = ipJson<RouteJson[]>(topo.ns.a, 'route', 'show', 'table', 'all');
  t.false(routes.some((r) => r.dev === a.ifname || r.dst === topo.lan.prefix || r.dst === topo.tunnel.b), JSON.stringify(routes));
  t.false(existsSync(socketPath(a.ifname)), 'UAPI socket left behind');
  t.false(existsSync(join(PID_DIR, `${a.ifname}.pid`)), 'pid file left behind');
  // b is unaffected and still running.
  t.is(b.child.exitCode, null);
  t.deepEqual(leftovers(topo).filter((p) => p.includes(a.ifname)), []);
});

maybe(`tunvpn down NAME stops a running daemon from outside`, async (t) => {
  const topo = await buildTopology(t, { purpose: 'dn' });
  await startEnd(topo, 'b');
  const a = await startEnd(topo, 'a');
  await pingUntilReply(topo.ns.a, topo.tunnel.b);
  const down = await run(topo.ns.a, process.execPath, [TUNVPN_MAIN, 'down', a.ifname]);
  t.is(down.code, 0, down.stdout + down.stderr);
  const exit = await new Promise((resolve) => (a.child.exitCode !== null ? resolve(a.child.exitCode) : a.child.once('exit', resolve)));
  t.is(exit, 0, a.output());
  t.false(ipJson<LinkJson[]>(topo.ns.a, 'link').some((l) => l.ifname === a.ifname));
  t.false(existsSync(socketPath(a.ifname)));
});
