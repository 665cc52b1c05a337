/**
 * The sticky source, without root: a responder with two addresses answers from the one its peer contacted, so the
 * initiator's endpoint stays where it was configured; `wg set ... endpoint` forgets the remembered address; an
 * address that went away is refused by the bind, the datagram leaves from the default address, the device forgets
 * it and counts it, and the tunnel keeps working.
 *
 *   a (192.0.2.1 / 2001:db8::1)  ──▶  b (192.0.2.2 first, 192.0.2.3 / 2001:db8::2 first, 2001:db8::3)
 *   a's peer endpoint: b's second address
 */
import test from 'ava';
import { MemoryNetwork } from '../../src/conn/memory-bind.js';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';
import { DeviceControlAdapter } from '../../src/device/control.js';
import { Device } from '../../src/device/device.js';
import { EndpointCache } from '../../src/device/endpoints.js';
import { ADDR_SLOT, writeLocalSlot } from '../../src/net/addr-slot.js';
import { Endpoint } from '../../src/net/endpoint.js';
import { formatIp, parseIp, parsePrefix, type Prefix } from '../../src/net/ip.js';
import { silentLogger } from '../../src/log.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { buildUdp } from '../helpers/packets.js';

const P = (s: string): Prefix => parsePrefix(s)!;
const firstPeer = (d: Device) => [...d.core.allPeers()][0]!;
const PORT_A = 51820;
const PORT_B = 51821;

interface Family {
  family: 4 | 6;
  a: string;
  bFirst: string;
  bSecond: string;
  endpoint: (host: string, port: number) => string;
}
const V4: Family = { family: 4, a: '192.0.2.1', bFirst: '192.0.2.2', bSecond: '192.0.2.3', endpoint: (h, p) => `${h}:${p}` };
const V6: Family = { family: 6, a: '2001:db8::1', bFirst: '2001:db8::2', bSecond: '2001:db8::3', endpoint: (h, p) => `[${h}]:${p}` };

/** a → b over a memory network; `sourcesFromB` records the source of every datagram b sends. */
async function pair(f: Family) {
  const net = new MemoryNetwork();
  const keyA = generatePrivateKey(systemRng);
  const keyB = generatePrivateKey(systemRng);
  const tunA = new MemoryTun({ name: 'a' });
  const tunB = new MemoryTun({ name: 'b' });
  const bindA = net.createBind(f.a);
  const bindB = net.createBind([f.bFirst, f.bSecond], { ifIndex: 7 });
  const sourcesFromB: string[] = [];
  net.filter = (from) => {
    if (from.port === PORT_B) sourcesFromB.push(from.host);
    return true;
  };
  const a = new Device({ tun: tunA, bind: bindA, privateKey: keyA, listenPort: PORT_A, log: silentLogger });
  const b = new Device({ tun: tunB, bind: bindB, privateKey: keyB, listenPort: PORT_B, log: silentLogger });
  a.setPeer({ publicKey: publicKeyOf(keyB), allowedIPs: [P('10.0.0.2/32')], endpoint: Endpoint.fromString(f.endpoint(f.bSecond, PORT_B)) });
  b.setPeer({ publicKey: publicKeyOf(keyA), allowedIPs: [P('10.0.0.1/32')] });
  await a.start();
  await b.start();
  const close = async () => {
    await a.close();
    await b.close();
  };
  const aToB = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 5, dstPort: 6, payload: new Uint8Array(32) });
  const bToA = buildUdp({ src: '10.0.0.2', dst: '10.0.0.1', srcPort: 6, dstPort: 5, payload: new Uint8Array(48) });
  /** A packet from a to b and b's answer, through the tunnel. */
  const exchange = async () => {
    tunA.inject(aToB);
    await tunB.nextWritten();
    tunB.inject(bToA);
    await tunA.nextWritten();
  };
  const endpointAtA = () => new DeviceControlAdapter(a, silentLogger).get().peers[0]!.endpoint;
  return { net, a, b, bindB, tunA, tunB, sourcesFromB, exchange, endpointAtA, close };
}

for (const f of [V4, V6]) {
  test(`IPv${f.family}: the responder answers from the address it was contacted on, and the initiator's endpoint stays`, async (t) => {
    const { b, sourcesFromB, exchange, endpointAtA, close } = await pair(f);
    t.teardown(close);
    await exchange();
    await exchange();
    t.is(endpointAtA(), f.endpoint(f.bSecond, PORT_B), 'a did not roam to b\'s first address');
    t.true(sourcesFromB.length >= 3, 'response, data, data');
    t.deepEqual([...new Set(sourcesFromB)], [f.bSecond], 'every datagram of b left from the contacted address');
    const ep = firstPeer(b).endpoint!;
    t.is(ep.toString(), f.endpoint(f.a, PORT_A), 'the sticky source is not part of the endpoint\'s text');
    t.is(formatIp(ep.localIp!.bytes), f.bSecond);
    t.is(ep.localIfIndex, 7);
  });
}

test('the responder follows when the peer contacts it on its other address', async (t) => {
  const { a, b, sourcesFromB, exchange, endpointAtA, close } = await pair(V4);
  t.teardown(close);
  await exchange();
  a.setPeer({ publicKey: firstPeer(a).publicKey, endpoint: Endpoint.fromString(`${V4.bFirst}:${PORT_B}`) });
  sourcesFromB.length = 0;
  await exchange();
  t.is(endpointAtA(), `${V4.bFirst}:${PORT_B}`);
  t.deepEqual([...new Set(sourcesFromB)], [V4.bFirst]);
  t.is(formatIp(firstPeer(b).endpoint!.localIp!.bytes), V4.bFirst);
});

test('wg set endpoint clears the remembered source: the kernel\'s (here the first) address is used', async (t) => {
  const { b, tunA, tunB, sourcesFromB, exchange, endpointAtA, close } = await pair(V4);
  t.teardown(close);
  await exchange();
  const peer = firstPeer(b);
  t.not(peer.endpoint!.local, undefined);
  await new DeviceControlAdapter(b, silentLogger).apply({
    replacePeers: false,
    peers: [{ publicKey: peer.publicKey, remove: false, updateOnly: false, endpoint: Endpoint.fromString(`${V4.a}:${PORT_A}`), replaceAllowedIps: false, allowedIps: [] }],
  });
  t.is(peer.endpoint!.local, undefined, 'no sticky source after wg set');
  t.is(peer.endpoint!.toString(), `${V4.a}:${PORT_A}`);
  // b speaks first: from its default source, so a roams there, and b sticks to it from then on.
  sourcesFromB.length = 0;
  tunB.inject(buildUdp({ src: '10.0.0.2', dst: '10.0.0.1', srcPort: 6, dstPort: 5, payload: new Uint8Array(20) }));
  await tunA.nextWritten();
  t.deepEqual(sourcesFromB, [V4.bFirst]);
  t.is(endpointAtA(), `${V4.bFirst}:${PORT_B}`);
  await exchange();
  t.deepEqual([...new Set(sourcesFromB)], [V4.bFirst]);
  t.is(b.stats.sourcesCleared, 0, 'nothing was refused: the operator cleared it');
});

test('a remembered address that went away: the datagram leaves from the default address, the source is forgotten and counted', async (t) => {
  const { b, bindB, tunA, tunB, sourcesFromB, exchange, endpointAtA, close } = await pair(V4);
  t.teardown(close);
  await exchange();
  t.is(b.stats.sourcesCleared, 0);
  bindB.setAddresses([V4.bFirst]); // 192.0.2.3 is gone
  sourcesFromB.length = 0;
  tunB.inject(buildUdp({ src: '10.0.0.2', dst: '10.0.0.1', srcPort: 6, dstPort: 5, payload: new Uint8Array(20) }));
  await tunA.nextWritten();
  t.deepEqual(sourcesFromB, [V4.bFirst], 'sent again without the stale source');
  t.is(bindB.stats.sourceRefused, 1);
  t.is(b.stats.sourcesCleared, 1);
  t.is(endpointAtA(), `${V4.bFirst}:${PORT_B}`, 'a followed b to the address that is left');
  // The tunnel keeps working both ways, now stuck to the address that is left.
  sourcesFromB.length = 0;
  await exchange();
  t.deepEqual([...new Set(sourcesFromB)], [V4.bFirst]);
  t.is(bindB.stats.sourceRefused, 1, 'refused once, then forgotten');
  t.is(b.stats.sourcesCleared, 1);
});

test('EndpointCache: one instance per (remote, local) pair; canonical keeps a sticky source, withoutLocal drops it', (t) => {
  const cache = new EndpointCache();
  const remote = Endpoint.fromString('198.51.100.7:4000');
  const locals = new Uint8Array(3 * ADDR_SLOT);
  writeLocalSlot(locals, 0, 4, parseIp('192.0.2.3')!.bytes, 2);
  writeLocalSlot(locals, ADDR_SLOT, 4, parseIp('192.0.2.2')!.bytes, 2);
  // locals[2] stays family 0: no local address known
  const on3 = cache.intern(remote.slot, 0, locals, 0);
  const on2 = cache.intern(remote.slot, 0, locals, ADDR_SLOT);
  const none = cache.intern(remote.slot, 0, locals, 2 * ADDR_SLOT);
  t.not(on3, on2);
  t.not(on3, none);
  t.true(on3.equals(on2), 'equals compares the remote end only');
  t.is(cache.intern(remote.slot, 0, locals, 0), on3);
  t.is(cache.intern(remote.slot, 0), none, 'no locals at all is the same as family 0');
  t.is(cache.canonical(on3), on3);
  t.is(cache.withoutLocal(on3), none);
  t.is(none.local, undefined);
  t.is(on3.localIfIndex, 2);
  t.is(formatIp(on2.localIp!.bytes), '192.0.2.2');
});
