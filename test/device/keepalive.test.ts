/**
 * Keepalive at start: a peer with PersistentKeepalive gets its first handshake as soon as the device runs and the
 * peer has an endpoint, whichever order the configuration arrives in (config file, `wg set`, wg-quick's
 * `wg setconf` into a daemon that started without a key), as wireguard-go does.
 */
import test from 'ava';
import { MemoryNetwork } from '../../src/conn/memory-bind.js';
import { Endpoint } from '../../src/net/endpoint.js';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { Device } from '../../src/device/device.js';
import { DeviceControlAdapter } from '../../src/device/control.js';
import { silentLogger } from '../../src/log.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { parsePrefix } from '../../src/net/ip.js';
import { systemRng } from '../../src/crypto/random.js';
import type { PeerOperation } from '../../src/uapi/control.js';

async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/** b: an ordinary running device that knows a. a: started with no key and no peer, like tunvpnd before `wg`. */
async function setup() {
  const net = new MemoryNetwork();
  const keyA = generatePrivateKey(systemRng);
  const keyB = generatePrivateKey(systemRng);
  const a = new Device({ tun: new MemoryTun({ name: 'a' }), bind: net.createBind('192.0.2.1'), privateKey: new Uint8Array(32), log: silentLogger });
  const b = new Device({ tun: new MemoryTun({ name: 'b' }), bind: net.createBind('192.0.2.2'), privateKey: keyB, listenPort: 51821, log: silentLogger });
  b.setPeer({ publicKey: publicKeyOf(keyA), allowedIPs: [parsePrefix('10.0.0.1/32')!] });
  await a.start();
  await b.start();
  const control = new DeviceControlAdapter(a, silentLogger);
  const peerOp = (fields: Partial<PeerOperation>): PeerOperation => ({
    publicKey: publicKeyOf(keyB), remove: false, updateOnly: false, replaceAllowedIps: false, allowedIps: [], ...fields,
  });
  const established = () => a.stats.handshakes.completed > 0;
  return { a, b, keyA, control, peerOp, established, close: async () => { await a.close(); await b.close(); } };
}

const endpointB = Endpoint.fromString('192.0.2.2:51821');

test('wg-quick into a keyless daemon: one set with key, port and a keepalive peer handshakes at once', async (t) => {
  const s = await setup();
  t.teardown(s.close);
  await s.control.apply({
    privateKey: s.keyA, listenPort: 51820, replacePeers: true,
    peers: [s.peerOp({ endpoint: endpointB, persistentKeepaliveInterval: 25, replaceAllowedIps: true })],
  });
  t.true(await until(s.established), 'no handshake without traffic');
  t.is(s.a.stats.handshakes.initiationsSent, 1);
});

test('wg set: the keepalive first, the endpoint later: the handshake starts when the endpoint arrives', async (t) => {
  const s = await setup();
  t.teardown(s.close);
  await s.control.apply({ privateKey: s.keyA, replacePeers: false, peers: [s.peerOp({ persistentKeepaliveInterval: 25 })] });
  t.is(s.a.stats.handshakes.initiationsSent, 0); // nowhere to send it yet
  await s.control.apply({ replacePeers: false, peers: [s.peerOp({ endpoint: endpointB })] });
  t.true(await until(s.established), 'no handshake after the endpoint was set');
});

test('wg set: the peer with keepalive and endpoint before the private key: the handshake starts with the key', async (t) => {
  const s = await setup();
  t.teardown(s.close);
  await s.control.apply({ replacePeers: false, peers: [s.peerOp({ endpoint: endpointB, persistentKeepaliveInterval: 25 })] });
  // Without a key no initiation can be made, and none is sent (nor does the attempt hold back the next one).
  t.is(s.a.stats.handshakes.initiationsSent, 0);
  t.is(s.b.stats.datagrams, 0);
  await s.control.apply({ privateKey: s.keyA, replacePeers: false, peers: [] });
  t.true(await until(s.established), 'no handshake after the key was set');
});

test('setting the same keepalive again sends nothing extra (wg syncconf of an unchanged file)', async (t) => {
  const s = await setup();
  t.teardown(s.close);
  const op = { privateKey: s.keyA, replacePeers: false, peers: [s.peerOp({ endpoint: endpointB, persistentKeepaliveInterval: 25 })] };
  await s.control.apply(op);
  t.true(await until(s.established));
  const sent = s.a.stats.sent;
  await s.control.apply(op);
  t.is(s.a.stats.sent, sent);
});
