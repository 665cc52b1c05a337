import test from 'ava';
import { parsePrefix } from '../../src/net/ip.js';
import { publicKeyOf as publicKey } from '../../src/crypto/x25519.js';
import type { DeviceSnapshot, PeerSnapshot } from '../../src/uapi/control.js';
import { encodeKey } from '../../src/crypto/keys.js';
import { ansi, formatAgo, formatBytes, formatDuration, formatInterface, interfaceJson, sortPeers } from '../../src/uapi/format.js';

test('durations read like wg', (t) => {
  t.is(formatDuration(0), '');
  t.is(formatDuration(1), '1 second');
  t.is(formatDuration(25), '25 seconds');
  t.is(formatDuration(60), '1 minute');
  t.is(formatDuration(72), '1 minute, 12 seconds');
  t.is(formatDuration(3600 + 2), '1 hour, 2 seconds');
  t.is(formatDuration(2 * 86400 + 3 * 3600 + 4 * 60 + 5), '2 days, 3 hours, 4 minutes, 5 seconds');
  t.is(formatDuration(365 * 86400 + 86400), '1 year, 1 day');
  t.is(formatDuration(65535), '18 hours, 12 minutes, 15 seconds');
});

test('latest handshake: ago, now, and a clock that went backwards', (t) => {
  t.is(formatAgo(1000, 1072), '1 minute, 12 seconds ago');
  t.is(formatAgo(1000, 1000), 'Now');
  t.regex(formatAgo(2000, 1000), /System clock wound backward/);
});

test('byte counts use binary units with two decimals', (t) => {
  t.is(formatBytes(0), '0 B');
  t.is(formatBytes(1023), '1023 B');
  t.is(formatBytes(1024), '1.00 KiB');
  t.is(formatBytes(1536), '1.50 KiB');
  t.is(formatBytes(Math.round(1.21 * 1024 * 1024)), '1.21 MiB');
  t.is(formatBytes(3.4 * 1024 ** 3), '3.40 GiB');
  t.is(formatBytes(5 * 1024 ** 4), '5.00 TiB');
  t.is(formatBytes(2048 * 1024 ** 4), '2048.00 TiB');
});

test('colour wraps units in ANSI codes only when asked', (t) => {
  t.is(formatBytes(10, ansi), '10 \x1b[36mB\x1b[0m');
  t.false(formatBytes(10).includes('\x1b'));
});

const key = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (seed * 37 + i) & 0xff);
const peer = (seed: number, over: Partial<PeerSnapshot> = {}): PeerSnapshot => ({
  publicKey: key(seed),
  persistentKeepaliveInterval: 0,
  lastHandshakeTimeSec: 0,
  lastHandshakeTimeNsec: 0,
  rxBytes: 0,
  txBytes: 0,
  allowedIps: [],
  protocolVersion: 1,
  ...over,
});

test('peers sort by most recent handshake, never-handshaken last', (t) => {
  const order = sortPeers([peer(1), peer(2, { lastHandshakeTimeSec: 10 }), peer(3, { lastHandshakeTimeSec: 20 })]);
  t.deepEqual(order.map((p) => p.publicKey[0]), [key(3)[0], key(2)[0], key(1)[0]]);
});

const snapshot: DeviceSnapshot = {
  privateKey: key(9),
  listenPort: 51820,
  fwmark: 0xca6c,
  peers: [
    peer(1),
    peer(2, {
      presharedKey: key(5),
      endpoint: '192.0.2.1:51820',
      allowedIps: [parsePrefix('10.0.0.0/24')!, parsePrefix('fd00::/64')!],
      lastHandshakeTimeSec: 1000,
      rxBytes: Math.round(1.21 * 1024 * 1024),
      txBytes: Math.round(3.4 * 1024 * 1024),
      persistentKeepaliveInterval: 25,
    }),
  ],
};

test('interface text matches wg show, secrets hidden', (t) => {
  const text = formatInterface('wg0', snapshot, { nowSec: 1072 });
  t.is(
    text,
    'interface: wg0\n' +
      `  public key: ${encodeKey(publicKey(key(9)))}\n` +
      '  private key: (hidden)\n' +
      '  listening port: 51820\n' +
      '  fwmark: 0xca6c\n' +
      '\n' +
      `peer: ${encodeKey(key(2))}\n` +
      '  preshared key: (hidden)\n' +
      '  endpoint: 192.0.2.1:51820\n' +
      '  allowed ips: 10.0.0.0/24, fd00::/64\n' +
      '  latest handshake: 1 minute, 12 seconds ago\n' +
      '  transfer: 1.21 MiB received, 3.40 MiB sent\n' +
      '  persistent keepalive: every 25 seconds\n' +
      '\n' +
      `peer: ${encodeKey(key(1))}\n` +
      '  allowed ips: (none)\n',
  );
  t.false(text.includes(encodeKey(key(9))));
  t.false(text.includes(encodeKey(key(5))));
});

test('JSON document is stable and carries no secrets', (t) => {
  const doc = interfaceJson('wg0', snapshot);
  t.deepEqual(Object.keys(doc), ['name', 'publicKey', 'listenPort', 'fwmark', 'peers']);
  t.is(doc.publicKey, encodeKey(publicKey(key(9))));
  t.deepEqual(doc.peers[1], {
    publicKey: encodeKey(key(2)),
    hasPresharedKey: true,
    endpoint: '192.0.2.1:51820',
    allowedIps: ['10.0.0.0/24', 'fd00::/64'],
    latestHandshake: 1000,
    latestHandshakeNsec: 0,
    rxBytes: Math.round(1.21 * 1024 * 1024),
    txBytes: Math.round(3.4 * 1024 * 1024),
    persistentKeepalive: 25,
  });
  const text = JSON.stringify(doc);
  t.false(text.includes(encodeKey(key(9))));
  t.false(text.includes(encodeKey(key(5))));
  t.is(interfaceJson('x', { listenPort: 0, fwmark: 0, peers: [] }).publicKey, null);
});
