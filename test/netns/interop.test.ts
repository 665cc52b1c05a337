/**
 * Interoperability with wireguard-go (the reference userspace implementation) in the topology of topology.ts:
 * wireguard-go at a and tunvpn at b, then tunvpn at a and wireguard-go at b (the latter with a PresharedKey on both
 * ends). Each pair pings across the tunnel and to the LAN behind b, runs iperf3 both ways, and both ends report
 * the handshake in `wg show IFACE dump`. Then a key that moves: the client key used by wireguard-go, stopped, and at
 * once by tunvpn, against a wireguard-go server.
 */
import type { ExecutionContext } from 'ava';
import {
  assertPingsAcross,
  buildTopology,
  iperf,
  iperfServer,
  ping,
  pingFirstReply,
  pingUntilReply,
  startEnd,
  stopDaemon,
  tunvpnShow,
  waitFor,
  wgDumpPeers,
  type Impl,
  TUNVPN_FILES,
} from './topology.js';
import { skipReason, testWhen } from '../helpers/skip.js';
import { ip } from './harness.js';

const why = skipReason({ root: true, files: TUNVPN_FILES, commands: ['ip', 'wg', 'ping', 'iperf3', 'wireguard-go'] });
const maybe = testWhen(why);

async function interop(t: ExecutionContext, impl: { a: Impl; b: Impl }, presharedKey: boolean): Promise<void> {
  const topo = await buildTopology(t, { purpose: `io${impl.a[0]}${impl.b[0]}`, presharedKey });
  // b first: it has no endpoint for a and waits for a's initiation.
  const b = await startEnd(topo, 'b', impl.b);
  const a = await startEnd(topo, 'a', impl.a);

  await pingUntilReply(topo.ns.a, topo.tunnel.b);
  await assertPingsAcross(t, topo);
  const bToA = await ping(topo.ns.b, topo.tunnel.a, 3);
  t.is(bToA.received, 3, bToA.output);

  await iperfServer(t, topo.ns.c);
  const up = await iperf(topo.ns.a, topo.lan.c, { seconds: 2 });
  t.true(up.receivedBitsPerSecond > 0 && up.receivedBytes > 0, `iperf3 a → c: ${JSON.stringify(up)}`);
  const down = await iperf(topo.ns.a, topo.lan.c, { seconds: 2, reverse: true });
  t.true(down.receivedBitsPerSecond > 0 && down.receivedBytes > 0, `iperf3 c → a: ${JSON.stringify(down)}`);

  for (const [end, other] of [['a', 'b'], ['b', 'a']] as const) {
    const d = end === 'a' ? a : b;
    const peers = await wgDumpPeers(topo.ns[end], d.ifname);
    t.is(peers.length, 1, `${d.impl} at ${end}`);
    const p = peers[0]!;
    t.is(p.publicKey, topo.keys[other].publicKey);
    t.true(p.latestHandshake > 0, `${d.impl} at ${end}: latest handshake ${p.latestHandshake}`);
    // Both directions of iperf3 passed this end, so both counters hold at least one run's bytes.
    t.true(p.rxBytes >= Math.min(up.receivedBytes, down.receivedBytes) && p.txBytes > 0, `${d.impl} at ${end}: rx ${p.rxBytes} tx ${p.txBytes}`);
    t.is(p.presharedKey !== '(none)', presharedKey, `${d.impl} at ${end}: preshared key shown as set: ${p.presharedKey !== '(none)'}`);
    if (d.impl === 'tunvpn') {
      // b learned a's endpoint from a's packets: a's underlay address and port.
      if (end === 'b') t.is(p.endpoint, `${topo.underlay.a}:${topo.port.a}`);
      const shown = await tunvpnShow(topo.ns[end], d.ifname);
      t.true(shown.interfaces[0]!.peers[0]!.latestHandshake > 0);
    }
  }

  for (const d of [a, b]) t.is(await stopDaemon(d), 0, `${d.impl} exit; output:\n${d.output()}`);
}

maybe(`wireguard-go (a) ⇄ tunvpn (b)`, (t) => interop(t, { a: 'wireguard-go', b: 'tunvpn' }, false));
maybe(`tunvpn (a) ⇄ wireguard-go (b), with a preshared key`, (t) => interop(t, { a: 'tunvpn', b: 'wireguard-go' }, true));

/**
 * Seconds the first ping after tunvpn takes over a's key may wait for its reply. A responder refuses an initiation
 * whose TAI64N timestamp is not newer than the last one it accepted for that key; had tunvpn counted its timestamps
 * from another base than wireguard-go (2^62 instead of 2^62 + 10), the server would refuse every initiation for
 * 10 s after wireguard-go's last one, and this deadline would pass first (tunvpn retries every 5 s, so its first two
 * attempts fall inside those 10 s). With the same base the first initiation is accepted at once.
 */
const TAKEOVER_PING_DEADLINE_S = 6;

maybe(`key moves from wireguard-go to tunvpn: the wireguard-go server accepts tunvpn's first initiation`, async (t) => {
  const topo = await buildTopology(t, { purpose: 'iomove' });
  const server = await startEnd(topo, 'b', 'wireguard-go');
  const before = await startEnd(topo, 'a', 'wireguard-go');
  await pingUntilReply(topo.ns.a, topo.tunnel.b);
  const [seen] = await wgDumpPeers(topo.ns.b, server.ifname);
  t.true(seen!.latestHandshake > 0, 'the server saw wireguard-go\'s handshake');

  // Stop the client; once its TUN device is gone, tunvpn takes the same key, port and address at once.
  t.is(await stopDaemon(before), 0, `wireguard-go exit; output:\n${before.output()}`);
  const gone = () => {
    try {
      ip(topo.ns.a, 'link', 'show', 'dev', topo.ifname.a);
      return false;
    } catch {
      return true;
    }
  };
  await waitFor(gone, () => undefined, `${topo.ifname.a} to disappear`);
  const after = await startEnd(topo, 'a', 'tunvpn');

  // One reply wanted; ping keeps sending every 0.2 s until it comes or the deadline passes.
  const first = await pingFirstReply(topo.ns.a, topo.tunnel.b, TAKEOVER_PING_DEADLINE_S);
  t.true(first.received >= 1, `first ping through tunvpn after the takeover:\n${first.output}\n${after.output()}`);
  const [client] = await wgDumpPeers(topo.ns.a, after.ifname);
  t.true(client!.latestHandshake > 0, `tunvpn's latest handshake: ${client!.latestHandshake}`);
  const [now] = await wgDumpPeers(topo.ns.b, server.ifname);
  t.true(now!.latestHandshake >= seen!.latestHandshake, `server's latest handshake ${seen!.latestHandshake} → ${now!.latestHandshake}`);

  for (const d of [after, server]) t.is(await stopDaemon(d), 0, `${d.impl} exit; output:\n${d.output()}`);
});
