/**
 * Two devices in one process, wired through an in-memory network and in-memory TUN devices: no root, no kernel.
 * They handshake, carry packets both ways, enforce cryptokey routing, roam, and drop garbage with a count.
 */
import test from 'ava';
import { MemoryNetwork } from '../../src/conn/memory-bind.js';
import { Endpoint } from '../../src/net/endpoint.js';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { Device } from '../../src/device/device.js';
import { DeviceControlAdapter } from '../../src/device/control.js';
import { totalDropped } from '../../src/device/stats.js';
import { silentLogger } from '../../src/log.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { buildIcmpEcho, buildUdp, parseIpPacket } from '../helpers/packets.js';
import { sendDatagram } from '../helpers/bind.js';
import { formatPrefix, parsePrefix, type Prefix } from '../../src/net/ip.js';
import { systemRng } from '../../src/crypto/random.js';
import { COOKIE_REPLY_BURST_PER_SOURCE, INITIATION_BYTES, MAX_TUNNEL_MTU_BYTES, UNDER_LOAD_HOLD_MS } from '../../src/protocol/constants.js';
import { until } from '../helpers/wait.js';

const P = (s: string): Prefix => parsePrefix(s)!;
/** The device's one peer (every device here has exactly one). */
const firstPeer = (d: Device) => [...d.core.allPeers()][0]!;

async function pair(opts: { keepalive?: number; underLoad?: number; clockB?: () => number } = {}) {
  const net = new MemoryNetwork();
  const keyA = generatePrivateKey(systemRng);
  const keyB = generatePrivateKey(systemRng);
  const tunA = new MemoryTun({ name: 'a' });
  const tunB = new MemoryTun({ name: 'b' });
  const bindA = net.createBind('192.0.2.1');
  const bindB = net.createBind('192.0.2.2');
  const a = new Device({ tun: tunA, bind: bindA, privateKey: keyA, listenPort: 51820, log: silentLogger });
  const b = new Device({
    tun: tunB, bind: bindB, privateKey: keyB, listenPort: 51821, log: silentLogger, underLoadHandshakesPerSecond: opts.underLoad,
    ...(opts.clockB && { clock: opts.clockB }),
  });
  a.setPeer({
    publicKey: publicKeyOf(keyB),
    allowedIPs: [P('10.0.0.2/32'), P('10.1.0.0/24'), P('fd00::2/128')],
    endpoint: Endpoint.fromString('192.0.2.2:51821'),
    persistentKeepalive: opts.keepalive,
  });
  b.setPeer({ publicKey: publicKeyOf(keyA), allowedIPs: [P('10.0.0.1/32'), P('fd00::1/128')] });
  await a.start();
  await b.start();
  const close = async () => {
    await a.close();
    await b.close();
  };
  return { net, a, b, tunA, tunB, bindA, bindB, keyA, keyB, close };
}

test('a ping crosses the tunnel after a handshake, and the reply comes back', async (t) => {
  const { a, b, tunA, tunB, close } = await pair();
  t.teardown(close);
  const request = buildIcmpEcho({ src: '10.0.0.1', dst: '10.0.0.2', id: 7, seq: 1, payload: new Uint8Array([1, 2, 3]) });
  tunA.inject(request);
  const got = await tunB.nextWritten();
  t.deepEqual(got, request);
  const reply = buildIcmpEcho({ src: '10.0.0.2', dst: '10.0.0.1', id: 7, seq: 1, reply: true });
  tunB.inject(reply);
  t.deepEqual(await tunA.nextWritten(), reply);
  // b's view of a: endpoint learned from the handshake, a completed handshake, bytes counted.
  const snapB = new DeviceControlAdapter(b, silentLogger).get();
  t.is(snapB.peers.length, 1);
  t.is(snapB.peers[0]!.endpoint, '192.0.2.1:51820');
  t.true(snapB.peers[0]!.lastHandshakeTimeSec > 0);
  t.true(snapB.peers[0]!.rxBytes > 0 && snapB.peers[0]!.txBytes > 0);
  t.is(a.stats.noRoute, 0);
});

test('IPv6 packets and a routed subnet reach the right peer', async (t) => {
  const { tunA, tunB, close } = await pair();
  t.teardown(close);
  const v6 = buildUdp({ src: 'fd00::1', dst: 'fd00::2', srcPort: 1000, dstPort: 2000, payload: new Uint8Array(100) });
  tunA.inject(v6);
  t.deepEqual(await tunB.nextWritten(), v6);
  const toLan = buildUdp({ src: '10.0.0.1', dst: '10.1.0.77', srcPort: 1, dstPort: 2, payload: new Uint8Array(1300) });
  tunA.inject(toLan);
  t.deepEqual(await tunB.nextWritten(), toLan);
});

test('packets to no peer are dropped and counted', async (t) => {
  const { a, tunA, close } = await pair();
  t.teardown(close);
  tunA.inject(buildUdp({ src: '10.0.0.1', dst: '10.9.9.9', srcPort: 1, dstPort: 2, payload: new Uint8Array(10) }));
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  t.is(a.stats.noRoute, 1);
});

test('a decrypted packet whose inner source is not the sender\'s allowed IP is dropped', async (t) => {
  const { a, b, tunA, tunB, close } = await pair();
  t.teardown(close);
  tunA.inject(buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(4) }));
  await tunB.nextWritten();
  // a claims to be 10.0.0.99, which b does not allow from a.
  tunA.inject(buildUdp({ src: '10.0.0.99', dst: '10.0.0.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(4) }));
  const before = b.stats.dropped.disallowedSource ?? 0;
  await until(() => (b.stats.dropped.disallowedSource ?? 0) > before);
  t.is(b.stats.dropped.disallowedSource, before + 1);
  t.is(a.stats.noRoute, 0);
});

test('garbage datagrams are dropped and counted, and the tunnel keeps working', async (t) => {
  const { a, b, bindA, tunA, tunB, close } = await pair();
  t.teardown(close);
  const target = Endpoint.fromString('192.0.2.2:51821');
  for (let len = 0; len < 200; len++) {
    const junk = new Uint8Array(len).map((_, i) => (i * 31 + len) & 0xff);
    if (len > 0) junk[0] = (len % 6);
    sendDatagram(bindA, junk, target);
  }
  await until(() => b.stats.datagrams >= 200);
  t.is(totalDropped(b.stats), 200);
  const p = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 5, dstPort: 6, payload: new Uint8Array(64) });
  tunA.inject(p);
  t.deepEqual(await tunB.nextWritten(), p);
  t.true(a.stats.sent > 0);
});

test('roaming: b follows a to its new address', async (t) => {
  const { b, bindA, tunA, tunB, close } = await pair();
  t.teardown(close);
  const p = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 5, dstPort: 6, payload: new Uint8Array(8) });
  tunA.inject(p);
  await tunB.nextWritten();
  bindA.setAddresses('192.0.2.77');
  tunA.inject(p);
  await tunB.nextWritten();
  const snap = new DeviceControlAdapter(b, silentLogger).get();
  t.is(snap.peers[0]!.endpoint, '192.0.2.77:51820');
  // and b's answers reach a at the new address
  const back = buildUdp({ src: '10.0.0.2', dst: '10.0.0.1', srcPort: 6, dstPort: 5, payload: new Uint8Array(8) });
  tunB.inject(back);
  const got = await tunA.nextWritten();
  t.is(parseIpPacket(got)?.dst, '10.0.0.1');
});

test('persistent keepalive starts the handshake without any traffic', async (t) => {
  const { b, close } = await pair({ keepalive: 25 });
  t.teardown(close);
  await until(() => firstPeer(b).timers.lastHandshakeAt !== null);
  const snap = new DeviceControlAdapter(b, silentLogger).get();
  t.is(snap.peers[0]!.endpoint, '192.0.2.1:51820');
});

test('a flood of valid-looking initiations is queued or shed, puts the device under load, and draws few cookie replies', async (t) => {
  // A low threshold keeps the test independent of how fast this machine does X25519.
  const { net, a, b, bindA, tunA, tunB, close } = await pair({ underLoad: 8 });
  t.teardown(close);
  let initiation: Uint8Array | undefined;
  let cookieReplies = 0;
  net.filter = (_from, _to, data) => {
    if (data[0] === 1 && !initiation) initiation = data.slice();
    if (data[0] === 3) cookieReplies++;
    return true;
  };
  tunA.inject(buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(4) }));
  await tunB.nextWritten();
  t.truthy(initiation);
  const target = Endpoint.fromString('192.0.2.2:51821');
  const queuedBefore = b.stats.handshakesQueued;
  for (let i = 0; i < 40; i++) sendDatagram(bindA, initiation!, target);
  const outcome = () => {
    const d = b.stats.dropped;
    return (d.cookieSent ?? 0) + (d.cookieRateLimited ?? 0) + (d.replayedTimestamp ?? 0);
  };
  // Every copy was queued or shed at once (one source gets a bounded share), and every queued one was decided.
  await until(() => b.stats.handshakesQueued - queuedBefore + (b.stats.dropped.handshakeShed ?? 0) === 40);
  const queued = b.stats.handshakesQueued - queuedBefore;
  await until(() => outcome() === queued);
  const cookieSent = b.stats.dropped.cookieSent ?? 0;
  // Before the load threshold the copies were stale replays; past it, b demanded a cookie instead of doing DH,
  // but one source draws only a few cookie replies (no amplification); each one sent is on the wire.
  t.true(queued > 0 && queued < 40, `queued ${queued}`);
  t.true(cookieSent > 0 && cookieSent <= COOKIE_REPLY_BURST_PER_SOURCE + 1, `cookies ${cookieSent}`);
  t.true((b.stats.dropped.cookieRateLimited ?? 0) > 0);
  t.is(cookieReplies, cookieSent);
  t.true(b.stats.underLoadMs >= 0);
  t.is(a.stats.noRoute, 0);
});

test('junk from one source is shed alone; a real flood puts b under load, which ends on its own, and is timed', async (t) => {
  let now = 10_000;
  const { net, b, bindA, tunA, tunB, close } = await pair({ underLoad: 8, clockB: () => now });
  t.teardown(close);
  let initiation: Uint8Array | undefined;
  net.filter = (_from, _to, data) => {
    if (data[0] === 1 && !initiation) initiation = data.slice();
    return true;
  };
  tunA.inject(buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(4) }));
  await tunB.nextWritten();
  const target = Endpoint.fromString('192.0.2.2:51821');
  // 40 initiations with a wrong MAC1 from one address: more than its share of the queue, shed or dropped, but the
  // device does not go under load for them (a host without our key cannot make every new peer wait for a cookie).
  const junk = new Uint8Array(INITIATION_BYTES).fill(0x5a);
  junk.set([1, 0, 0, 0]);
  for (let i = 0; i < 40; i++) sendDatagram(bindA, junk, target);
  await until(() => (b.stats.dropped.handshakeShed ?? 0) + (b.stats.dropped.invalidMac1 ?? 0) === 40);
  t.true((b.stats.dropped.handshakeShed ?? 0) > 0, 'one source got its share only');
  t.false(b.underLoad);
  t.is(b.stats.underLoadMs, 0);
  // A real flood: copies of a valid initiation, past the (lowered) rate threshold.
  for (let i = 0; i < 40; i++) sendDatagram(bindA, initiation!, target);
  await until(() => b.underLoad);
  now += 400;
  t.is(b.stats.underLoadMs, 400, 'only the time elapsed so far');
  t.true(b.underLoad);
  now += 5_000;
  t.false(b.underLoad, 'the load ends by itself, with no message after it');
  t.is(b.stats.underLoadMs, UNDER_LOAD_HOLD_MS, 'the stretch lasted the hold time after the last busy moment');
});

test('setting the private key the device already has keeps every session, counter and handshake time', async (t) => {
  const { a, b, keyB, tunA, tunB, close } = await pair();
  t.teardown(close);
  tunA.inject(buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(16) }));
  await tunB.nextWritten();
  const control = new DeviceControlAdapter(b, silentLogger);
  const before = control.get().peers[0]!;
  t.true(before.lastHandshakeTimeSec > 0 && before.rxBytes > 0);
  // What `wg syncconf wg0 <(wg showconf wg0)` sends for the interface part: the same key again.
  await control.apply({ privateKey: Uint8Array.from(keyB), replacePeers: false, peers: [] });
  const after = control.get().peers[0]!;
  t.is(after.lastHandshakeTimeSec, before.lastHandshakeTimeSec);
  t.is(after.lastHandshakeTimeNsec, before.lastHandshakeTimeNsec);
  t.is(after.rxBytes, before.rxBytes);
  t.is(after.txBytes, before.txBytes);
  // The session itself survived: b answers at once, without a new handshake.
  const handshakesBefore = firstPeer(a).timers.lastHandshakeAt;
  tunB.inject(buildUdp({ src: '10.0.0.2', dst: '10.0.0.1', srcPort: 2, dstPort: 1, payload: new Uint8Array(8) }));
  await tunA.nextWritten();
  t.is(firstPeer(a).timers.lastHandshakeAt, handshakesBefore);
  // A different key does restart the sessions (they were derived from the old one).
  await control.apply({ privateKey: generatePrivateKey(systemRng), replacePeers: false, peers: [] });
  t.is(control.get().peers[0]!.lastHandshakeTimeSec, 0);
});

test('a listen port that cannot be bound is refused with EADDRINUSE and the device keeps its port', async (t) => {
  const { net, b, tunA, tunB, close } = await pair();
  t.teardown(close);
  const squatter = net.createBind('192.0.2.2');
  await squatter.open(40000);
  t.teardown(() => squatter.close());
  const control = new DeviceControlAdapter(b, silentLogger);
  const err = await t.throwsAsync(async () => control.apply({ listenPort: 40000, replacePeers: false, peers: [] }));
  t.is((err as Error & { errno?: number }).errno, 98);
  t.is(control.get().listenPort, 51821);
  t.is(b.listenPort, 51821);
  // Still reachable on the old port.
  tunA.inject(buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(4) }));
  t.truthy(await tunB.nextWritten());
  // A free port is taken, and reported only once bound.
  await control.apply({ listenPort: 40001, replacePeers: false, peers: [] });
  t.is(control.get().listenPort, 40001);
});

test('a packet of MAX_TUNNEL_MTU_BYTES crosses the tunnel; one byte more is counted as tooBig', async (t) => {
  const { a, tunA, tunB, close } = await pair();
  t.teardown(close);
  const header = 20 + 8;
  tunA.inject(buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(MAX_TUNNEL_MTU_BYTES - header) }));
  t.is((await tunB.nextWritten()).length, MAX_TUNNEL_MTU_BYTES);
  tunA.inject(buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(MAX_TUNNEL_MTU_BYTES - header + 1) }));
  await new Promise((r) => setImmediate(r));
  t.is(a.stats.tooBig, 1);
});

test('get lists a peer\'s AllowedIPs in the order they were added (setPeer, then UAPI), also after a key change', async (t) => {
  const { a, keyB, close } = await pair();
  t.teardown(close);
  const control = new DeviceControlAdapter(a, silentLogger);
  const listed = () => control.get().peers[0]!.allowedIps.map(formatPrefix);
  t.deepEqual(listed(), ['10.0.0.2/32', '10.1.0.0/24', 'fd00::2/128']);
  // Not address order: 10.9/16 before 10.1/16 and an IPv6 prefix between them; adding 10.0.0.2/32 again moves it
  // to the end, as the kernel and wireguard-go do.
  const add = (text: string) => ({ prefix: P(text), remove: false });
  await control.apply({
    replacePeers: false,
    peers: [{
      publicKey: publicKeyOf(keyB), remove: false, updateOnly: true, replaceAllowedIps: false,
      allowedIps: [add('10.9.0.0/16'), add('fd00::/8'), add('10.2.0.0/16'), add('10.0.0.2/32')],
    }],
  });
  const want = ['10.1.0.0/24', 'fd00::2/128', '10.9.0.0/16', 'fd00::/8', '10.2.0.0/16', '10.0.0.2/32'];
  t.deepEqual(listed(), want);
  await control.apply({ privateKey: generatePrivateKey(systemRng), replacePeers: false, peers: [] });
  t.deepEqual(listed(), want);
});
