/**
 * /metrics (metrics/prometheus.ts) for two devices over an in-memory network: the text parses as Prometheus
 * exposition, the WireGuard exporter's names and labels are there, and the counters move with traffic.
 */
import test from 'ava';
import { MemoryNetwork } from '../../src/conn/memory-bind.js';
import { Endpoint } from '../../src/net/endpoint.js';
import { encodeKey, generatePresharedKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { Device } from '../../src/device/device.js';
import { silentLogger } from '../../src/log.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { buildUdp } from '../helpers/packets.js';
import { parsePrefix } from '../../src/net/ip.js';
import { systemRng } from '../../src/crypto/random.js';
import { deviceRegistry, parseMetricsAddress, serveMetrics } from '../../src/metrics/prometheus.js';
import { parseExposition } from '../helpers/prometheus.js';

async function pair(pskB?: Uint8Array) {
  const net = new MemoryNetwork();
  const keyA = generatePrivateKey(systemRng);
  const keyB = generatePrivateKey(systemRng);
  const tunA = new MemoryTun({ name: 'a' });
  const tunB = new MemoryTun({ name: 'b' });
  const a = new Device({ tun: tunA, bind: net.createBind('192.0.2.1'), privateKey: keyA, listenPort: 51820, log: silentLogger });
  const b = new Device({ tun: tunB, bind: net.createBind('192.0.2.2'), privateKey: keyB, listenPort: 51821, log: silentLogger });
  a.setPeer({
    publicKey: publicKeyOf(keyB), allowedIPs: [parsePrefix('10.0.0.2/32')!, parsePrefix('10.1.0.0/24')!],
    endpoint: Endpoint.fromString('192.0.2.2:51821'),
  });
  b.setPeer({ publicKey: publicKeyOf(keyA), presharedKey: pskB, allowedIPs: [parsePrefix('10.0.0.1/32')!] });
  await a.start();
  await b.start();
  return { a, b, tunA, tunB, keyA, keyB, close: async () => { await a.close(); await b.close(); } };
}

test('the scrape parses, carries the exporter\'s series, and its counters move with traffic', async (t) => {
  const { a, tunA, tunB, keyA, keyB, close } = await pair();
  t.teardown(close);
  const server = await serveMetrics(deviceRegistry('tva', a), { host: '127.0.0.1', port: 0 }, silentLogger);
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${server.address.port}/metrics`;
  const scrape = async () => {
    const res = await fetch(url);
    t.is(res.status, 200);
    t.regex(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };

  const before = await scrape();
  const peer = { device: 'tva', public_key: encodeKey(publicKeyOf(keyB)) };
  t.is(before.value('wireguard_device_info', { device: 'tva', public_key: encodeKey(publicKeyOf(keyA)) }), 1);
  t.deepEqual(before.find('wireguard_peer_info')[0]!.labels, { ...peer, endpoint: '192.0.2.2:51821', allowed_ips: '10.0.0.2/32,10.1.0.0/24' });
  t.is(before.value('wireguard_peer_last_handshake_seconds', peer), 0);
  t.is(before.value('wireguard_peer_receive_bytes_total', peer), 0);
  t.is(before.types.get('wireguard_peer_transmit_bytes_total'), 'counter');
  t.is(before.types.get('wireguard_peer_last_handshake_seconds'), 'gauge');
  t.is(before.value('tunvpn_under_load', { device: 'tva' }), 0);
  t.true(before.find('process_cpu_user_seconds_total').length === 1, 'process defaults are there');

  for (let i = 0; i < 3; i++) {
    tunA.inject(buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(100) }));
    await tunB.nextWritten();
  }
  const after = await scrape();
  t.true(after.value('wireguard_peer_transmit_bytes_total', peer) > 300);
  const hs = after.value('wireguard_peer_last_handshake_seconds', peer);
  t.true(Math.abs(hs - Date.now() / 1000) < 60, `handshake time ${hs}`);
  t.is(after.value('tunvpn_handshake_messages_total', { message: 'initiation', direction: 'sent' }), 1);
  t.is(after.value('tunvpn_handshake_messages_total', { message: 'response', direction: 'received' }), 1);
  t.is(after.value('tunvpn_handshakes_completed_total', { device: 'tva' }), 1);
  t.is(after.value('tunvpn_packets_total', { direction: 'read' }), 3);
  t.is(after.value('tunvpn_handshake_queue_messages_total', { device: 'tva' }), 1, 'the response waited in the handshake queue');
  t.is(after.value('tunvpn_under_load_seconds_total', { device: 'tva' }), 0);
  t.is(after.value('tunvpn_source_addresses_cleared_total', { device: 'tva' }), 0);

  // A packet to nobody is counted by reason.
  tunA.inject(buildUdp({ src: '10.0.0.1', dst: '10.9.9.9', srcPort: 1, dstPort: 2, payload: new Uint8Array(4) }));
  await new Promise((r) => setTimeout(r, 20));
  t.is((await scrape()).value('tunvpn_dropped_packets_total', { reason: 'noRoute' }), 1);
  // The host's own link-scope traffic (mDNS to 224.0.0.251) has a series of its own, and is no drop.
  tunA.inject(buildUdp({ src: '10.0.0.1', dst: '224.0.0.251', srcPort: 5353, dstPort: 5353, payload: new Uint8Array(8) }));
  await new Promise((r) => setTimeout(r, 20));
  const host = await scrape();
  t.is(host.value('tunvpn_host_packets_unrouted_total', { device: 'tva' }), 1);
  t.is(host.value('tunvpn_dropped_packets_total', { reason: 'noRoute' }), 1);

  const other = await fetch(`http://127.0.0.1:${server.address.port}/`);
  t.is(other.status, 404);
});

test('handshake failures appear by reason (a PresharedKey mismatch)', async (t) => {
  const { a, tunA, close } = await pair(generatePresharedKey(systemRng));
  t.teardown(close);
  const registry = deviceRegistry('tva', a);
  tunA.inject(buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(4) }));
  const end = Date.now() + 5000;
  while ((a.stats.handshakes.failed.decryptFailed ?? 0) === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  const text = parseExposition(await registry.metrics());
  t.is(text.value('tunvpn_handshakes_failed_total', { device: 'tva', reason: 'decryptFailed' }), 1);
  t.is(text.value('tunvpn_dropped_datagrams_total', { device: 'tva', reason: 'decryptFailed' }), 1);
});

test('--metrics takes ADDRESS:PORT, [IPv6]:PORT or a port alone (loopback), and refuses the rest', (t) => {
  t.deepEqual(parseMetricsAddress('9586'), { host: '127.0.0.1', port: 9586 });
  t.deepEqual(parseMetricsAddress('127.0.0.1:9586'), { host: '127.0.0.1', port: 9586 });
  t.deepEqual(parseMetricsAddress('0.0.0.0:9100'), { host: '0.0.0.0', port: 9100 });
  t.deepEqual(parseMetricsAddress('[::1]:9586'), { host: '::1', port: 9586 });
  for (const bad of ['', 'localhost:9586', '::1:9586', '1.2.3.4', '1.2.3.4:0', '1.2.3.4:70000', '[::1]', '0', 'x']) {
    t.throws(() => parseMetricsAddress(bad), { message: /--metrics/ }, bad);
  }
});
