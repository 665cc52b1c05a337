/**
 * Roaming: a's underlay address changes while pings flow through the tunnel (topology.ts, tunvpn at both ends).
 *
 *   before:  a va 172.31.X.1/30  ───  vb 172.31.X.2/30 b      (b's endpoint for a: 172.31.X.1:PORT_A)
 *   after:   a va 172.31.X.5/32  ───  vb 172.31.X.2/30 b      a: route 172.31.X.2/32 dev va
 *                                                             b: route 172.31.X.5/32 dev vb
 *
 * a keeps sending to the same endpoint from its new address; b authenticates the packets, moves its endpoint for
 * a to 172.31.X.5:PORT_A and answers there. The session continues without a new handshake. Run with tunvpn at
 * both ends, and with wireguard-go at b (the reference judging tunvpn's datagrams from the new address).
 */
import type { ExecutionContext } from 'ava';
import { ip } from './harness.js';
import { buildTopology, ping, pingUntilReply, sleep, startEnd, stopDaemon, tunvpnShow, wgDumpPeers, wgShow, type Impl, TUNVPN_FILES } from './topology.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const why = skipReason({ root: true, files: TUNVPN_FILES, commands: ['ip', 'wg', 'ping'] });
const maybe = testWhen(why, { concurrent: true });
const whyGo = skipReason({ root: true, files: TUNVPN_FILES, commands: ['ip', 'wg', 'ping', 'wireguard-go'] });

/** Pings in flight while the address changes: 25 × 0.2 s = 5 s. */
const BACKGROUND_PINGS = 25;
/** How long (ms) the background pings run before the address changes. */
const BEFORE_CHANGE_MS = 1_500;

async function roam(t: ExecutionContext, implB: Impl): Promise<void> {
  const topo = await buildTopology(t, { purpose: 'roam' });
  const b = await startEnd(topo, 'b', implB);
  const a = await startEnd(topo, 'a');
  await pingUntilReply(topo.ns.a, topo.tunnel.b);
  t.is((await wgShow(topo.ns.b, b.ifname, 'endpoints')).trim(), `${topo.keys.a.publicKey}\t${topo.underlay.a}:${topo.port.a}`);
  const [before] = await wgDumpPeers(topo.ns.b, b.ifname);
  t.true(before!.latestHandshake > 0);

  const background = ping(topo.ns.a, topo.tunnel.b, BACKGROUND_PINGS);
  await sleep(BEFORE_CHANGE_MS);
  const roamed = topo.underlayNet.replace(/\.0$/, '.5');
  ip(topo.ns.a, 'addr', 'del', `${topo.underlay.a}/30`, 'dev', topo.veth.a);
  ip(topo.ns.a, 'addr', 'add', `${roamed}/32`, 'dev', topo.veth.a);
  ip(topo.ns.a, 'route', 'add', `${topo.underlay.b}/32`, 'dev', topo.veth.a, 'src', roamed);
  ip(topo.ns.b, 'route', 'add', `${roamed}/32`, 'dev', topo.veth.b);
  const during = await background;
  t.log(`background pings across the change: ${during.received}/${during.transmitted} answered`);

  // After the change: pings succeed (the first may still be in flight from before), then steadily.
  await pingUntilReply(topo.ns.a, topo.tunnel.b);
  const after = await ping(topo.ns.a, topo.tunnel.b, 3);
  t.is(after.received, 3, after.output);
  const fromB = await ping(topo.ns.b, topo.tunnel.a, 3);
  t.is(fromB.received, 3, fromB.output);
  const toC = await ping(topo.ns.a, topo.lan.c, 3);
  t.is(toC.received, 3, toC.output);

  // b's endpoint for a is a's new address, in wg and in tunvpn show.
  t.is((await wgShow(topo.ns.b, b.ifname, 'endpoints')).trim(), `${topo.keys.a.publicKey}\t${roamed}:${topo.port.a}`);
  if (implB === 'tunvpn') t.is((await tunvpnShow(topo.ns.b, b.ifname)).interfaces[0]!.peers[0]!.endpoint, `${roamed}:${topo.port.a}`);
  // Same session: roaming needs no new handshake.
  const [now] = await wgDumpPeers(topo.ns.b, b.ifname);
  t.is(now!.latestHandshake, before!.latestHandshake, 'b completed a new handshake instead of following the roam');

  for (const d of [a, b]) t.is(await stopDaemon(d), 0, d.output());
}

maybe(`tunvpn ⇄ tunvpn: a's underlay address changes mid-transfer; the session continues, b follows a's endpoint`, (t) =>
  roam(t, 'tunvpn'),
);
// wireguard-go as the oracle for tunvpn's side of a roam: the datagrams tunvpn sends from its new address.
testWhen(whyGo, { concurrent: true })('tunvpn (a) roams, wireguard-go (b) follows', (t) => roam(t, 'wireguard-go'));
