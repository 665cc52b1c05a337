/**
 * The mesh end to end without root: two real Devices over the in-memory network, each run by a MeshAgent through
 * deviceMeshTarget, both on one MemoryStore. No [Peer] is configured anywhere: the mesh alone makes them peers,
 * and a ping crosses. An update in place keeps the very same Peer (its session); a departure removes it.
 */
import test from 'ava';
import { MemoryNetwork } from '../../src/conn/memory-bind.js';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { Device } from '../../src/device/device.js';
import { silentLogger } from '../../src/log.js';
import { MeshAgent } from '../../src/mesh/agent.js';
import { deviceMeshTarget } from '../../src/mesh/device-target.js';
import type { MemberRecord } from '../../src/mesh/member.js';
import { MemoryRegistry, MemoryStore } from '../../src/mesh/memory-registry.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { buildIcmpEcho } from '../helpers/packets.js';
import { formatPrefix, parseIp, parsePrefix } from '../../src/net/ip.js';
import { ManualClock, settle } from './fakes.js';
import { systemRng } from '../../src/crypto/random.js';

test('two devices found through the mesh: handshake, ping, update in place keeps the session, stop removes', async (t) => {
  const net = new MemoryNetwork();
  const store = new MemoryStore();
  const clock = new ManualClock();
  const nodes = [1, 2].map((n) => {
    const privateKey = generatePrivateKey(systemRng);
    const tun = new MemoryTun({ name: `m${n}` });
    const device = new Device({ tun, bind: net.createBind(`192.0.2.${n}`), privateKey, listenPort: 51820 + n, log: silentLogger });
    const self: MemberRecord = {
      name: `site-${n}`,
      publicKey: publicKeyOf(privateKey),
      endpoint: { address: parseIp(`192.0.2.${n}`)!, port: 51820 + n },
      allowedIPs: [parsePrefix(`10.50.0.${n}/32`)!],
    };
    const agent = new MeshAgent({
      registry: new MemoryRegistry(store, `site-${n}`),
      target: deviceMeshTarget({ device }),
      self,
      prefix: '/tunvpn/',
      ttlSeconds: 10,
      clock,
      log: silentLogger,
    });
    return { n, device, tun, self, agent };
  });
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  t.teardown(async () => {
    for (const x of nodes) {
      await x.agent.stop();
      await x.device.close();
    }
  });
  for (const x of nodes) await x.device.start();
  for (const x of nodes) t.true(await x.agent.start());
  await settle();
  for (const x of nodes) await x.agent.settled();

  const peerOnA = a.device.peer(b.self.publicKey);
  t.truthy(peerOnA);
  t.deepEqual(a.device.core.allowedIps.entriesFor(peerOnA!).map((e) => `${e.cidr}`), ['32']);

  const ping = buildIcmpEcho({ src: '10.50.0.1', dst: '10.50.0.2', id: 1, seq: 1 });
  a.tun.inject(ping);
  t.deepEqual(await b.tun.nextWritten(), ping);
  const handshakeAt = peerOnA!.timers.lastHandshakeAt;
  t.not(handshakeAt, null);

  // b now also routes 10.62.0.0/16: a updates the same Peer in place.
  await b.agent.updateSelf({ ...b.self, allowedIPs: [...b.self.allowedIPs, parsePrefix('10.62.0.0/16')!] });
  await settle();
  await a.agent.settled();
  t.is(a.device.peer(b.self.publicKey), peerOnA);
  t.is(peerOnA!.timers.lastHandshakeAt, handshakeAt);
  const prefixes = a.device.core.allowedIps
    .entriesFor(peerOnA!)
    .map((e) => formatPrefix({ family: e.family, bytes: e.address, bits: e.cidr }))
    .sort();
  t.deepEqual(prefixes, ['10.50.0.2/32', '10.62.0.0/16']);

  await b.agent.stop();
  await settle();
  await a.agent.settled();
  t.is(a.device.peer(b.self.publicKey), undefined);
});
