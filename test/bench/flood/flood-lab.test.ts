/**
 * The lab's host on b's LAN and the flood generator, end to end (root): the host f reaches b and c over the
 * bridge; the flooder, run in f as the bench runs it, delivers initiations to a socket in b whose MAC1 b's key
 * accepts, from the source addresses it was given; dispose removes f too. A fresh wireguard-go peer in c, added to
 * b over the UAPI, completes a handshake with b. Skipped, with the reason, when not root (or without wireguard-go).
 */
import { fileURLToPath } from 'node:url';
import { ADDR_SLOT } from '../../../src/net/addr-slot.js';
import { Endpoint } from '../../../src/net/endpoint.js';
import { encodeKey, generatePrivateKey } from '../../../src/crypto/keys.js';
import { publicKeyOf } from '../../../src/crypto/x25519.js';
import { seededRng, systemRng } from '../../../src/crypto/random.js';
import { Lab, nsPrefix } from '../../../src/lab/index.js';
import { publicKeyOfB } from '../../../bench/common/in-lab.js';
import { startFreshPeer, timeFirstHandshake } from '../../../bench/flood/freshpeer.js';
import { sourceAddresses } from '../../../bench/common/ipv4.js';
import { skipReason, testWhen } from '../../helpers/skip.js';
import { socketPath } from '../../../src/uapi/paths.js';
import { existsSync } from 'node:fs';
import type { FloodReport } from '../../../bench/flood/flooder.js';
import { nativeUdp as native } from '../../../src/native/udp.js';
import { listNetns, netns } from '../../../src/netlink/index.js';
import { CookieChecker } from '../../../src/protocol/cookie.js';
import { INITIATION_BYTES } from '../../../src/protocol/constants.js';
import { classify, INIT_OFF_MAC1 } from '../../../src/protocol/messages.js';
import { nativeHandshakeCrypto } from '../../../src/crypto/native-handshake.js';

const rootTest = testWhen(skipReason({ root: true, addon: true }));
const wgTest = testWhen(skipReason({ root: true, commands: ['wireguard-go', 'wg'] }));
/** A generous wait for the fresh peer's first handshake (ms): not a performance bound. */
const HANDSHAKE_WAIT_MS = 30_000;

const FLOOD_MAIN = fileURLToPath(new URL('../../../bench/flood/flooder.js', import.meta.url));
const PORT = 51820;
const SOURCES = 4;
/** Low enough that nothing is dropped on the way. */
const RATE = 2000;
const RECEIVE_BUFFER_BYTES = 16 << 20;

rootTest('the LAN host floods b with initiations whose MAC1 b accepts, from each given source; dispose removes it', async (t) => {
  const lab = await Lab.create({ a: 'veth', b: 'veth', lanHost: true, handleSignals: false });
  t.teardown(() => lab.dispose());
  const { plan } = lab;
  t.true(netns.exists(plan.lanHost.ns));
  t.is((await lab.ping('c', plan.lanHost.address, 2)).received, 2, 'c and f share the LAN through b\'s bridge');
  t.is((await lab.ping('a', plan.lan.c, 2)).received, 2, 'the routed path still works with the bridge');

  const sources = sourceAddresses(plan.lanHost.firstSource, SOURCES);
  await lab.addLanHostAddresses(sources);
  const a = native();
  const sock = a.withNetns(netns.path(plan.ns.b), () => a.udpOpen(4, '', PORT, false));
  t.teardown(() => a.close(sock.fd));
  // Room for every datagram of the run (a 148-byte datagram takes about 1 KiB of buffer), read after it ends.
  a.setsockoptInt(sock.fd, a.constants.SOL_SOCKET, a.constants.SO_RCVBUFFORCE, RECEIVE_BUFFER_BYTES);
  const victim = generatePrivateKey(systemRng);
  const victimPublic = publicKeyOf(victim);

  const proc = lab.procs.spawn(plan.lanHost.ns, process.execPath, [
    FLOOD_MAIN, '--to', `${plan.lan.b}:${PORT}`, '--public-key', encodeKey(victimPublic), '--rate', String(RATE),
    '--seconds', '1', '--source', sources[0]!, '--sources', String(SOURCES), '--pool', '256',
  ]);
  const done = await proc.exited;
  t.is(done.code, 0, done.stderr);
  t.regex(done.stderr, /^flooding 10\.214\.\d+\.1:51820 from 4 source\(s\), 2000\/s$/m);
  const report = JSON.parse(done.stdout.trim()) as FloodReport;
  t.is(report.sources, SOURCES);
  t.true(report.sent > 0);
  t.is(report.sendErrors, 0);

  const slot = 2048;
  const max = 512;
  const arena = new Uint8Array(max * slot);
  const lengths = new Int32Array(max);
  const addrs = new Uint8Array(max * ADDR_SLOT);
  const checker = new CookieChecker(victimPublic, seededRng(1), nativeHandshakeCrypto);
  const seen = new Set<string>();
  let received = 0;
  let valid = 0;
  for (let n = a.recvmmsg(sock.fd, arena, slot, lengths, addrs, max); n > 0; n = a.recvmmsg(sock.fd, arena, slot, lengths, addrs, max)) {
    for (let i = 0; i < n; i++) {
      received++;
      const msg = arena.subarray(i * slot, i * slot + lengths[i]!);
      if (msg.length === INITIATION_BYTES && classify(msg, 0, msg.length) === 1 && checker.checkMac1(msg, INIT_OFF_MAC1)) valid++;
      seen.add(Endpoint.fromSlot(addrs, i * ADDR_SLOT).host);
    }
  }
  t.is(received, report.sent, 'every datagram sent arrived in b (a slow rate on an idle LAN)');
  t.is(valid, received, 'every one is an initiation with a valid MAC1 for b\'s key');
  t.deepEqual([...seen].sort(), [...sources].sort(), 'from every given source, and from no other');

  t.deepEqual(await lab.dispose(), []);
  t.deepEqual(listNetns().filter((n) => n.startsWith(nsPrefix(plan.tag))), []);
});

wgTest('a fresh wireguard-go peer in c, added to b over the UAPI, completes a handshake; dispose removes it', async (t) => {
  const lab = await Lab.create({ a: 'wireguard-go', b: 'wireguard-go', handleSignals: false });
  t.teardown(() => lab.dispose());
  const peer = await startFreshPeer(lab, 'p', 0);
  t.is(peer.ifname, `tv${lab.plan.tag}p`);
  t.is(peer.tunnelAddress, `10.213.${lab.plan.k}.3`);
  t.true(existsSync(socketPath(peer.ifname)));
  const timing = await timeFirstHandshake(lab, peer, await publicKeyOfB(lab), HANDSHAKE_WAIT_MS);
  t.not(timing.handshakeMs, null, 'the handshake completed');
  t.regex(await lab.wgShow('b'), new RegExp(`peer: ${peer.publicKey.replace(/[+/=]/g, '\\$&')}[\\s\\S]*latest handshake`));
  t.deepEqual(await lab.dispose(), []);
  t.false(existsSync(socketPath(peer.ifname)), 'its UAPI socket is gone');
});
