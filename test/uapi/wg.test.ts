/**
 * The real wg(8) against our UAPI server with an in-memory device. wg only looks in /var/run/wireguard, so the
 * socket goes there under a per-run interface name and is removed afterwards. Skipped when wg is not installed or
 * we are not root.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { publicKeyOf as publicKey } from '../../src/crypto/x25519.js';
import { UapiClient } from '../../src/uapi/client.js';
import { formatInterface } from '../../src/uapi/format.js';
import { MemoryDeviceControl } from '../../src/uapi/memory-control.js';
import { DEFAULT_SOCKET_DIR } from '../../src/uapi/paths.js';
import { UapiServer } from '../../src/uapi/server.js';
import { formatPrefix } from '../../src/net/ip.js';
import { clampPrivateKey, encodeHexKey, encodeKey } from '../../src/crypto/keys.js';
import { key, tempDir } from './helpers.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const run = promisify(execFile);
const WG = ['/usr/bin/wg', '/usr/local/bin/wg', '/bin/wg'].find((p) => existsSync(p));
const wgTest = testWhen(skipReason({ root: true, files: WG ? [WG] : ['/usr/bin/wg'] }));

const wg = async (...args: string[]) => (await run(WG!, args, { env: { ...process.env, WG_HIDE_KEYS: 'never' } })).stdout;

async function setup(t: import('ava').ExecutionContext, control = new MemoryDeviceControl()) {
  const iface = `tv${process.pid % 100000}${randomBytes(2).toString('hex')}`;
  const server = new UapiServer({ iface, control });
  await server.listen();
  t.teardown(() => server.close());
  t.is(server.path, join(DEFAULT_SOCKET_DIR, `${iface}.sock`));
  return { iface, control, server };
}

const priv = clampPrivateKey(key(1));
const peerA = key(2);
const psk = key(3);
const peerB = key(4);

wgTest('wg show dump, wg set and wg showconf work against our server', async (t) => {
  const { iface, control } = await setup(t);
  const c = await UapiClient.connect(iface);
  t.teardown(() => c.close());
  await c.set(
    `private_key=${encodeHexKey(priv)}\nlisten_port=51820\nfwmark=51\n` +
      `public_key=${encodeHexKey(peerA)}\npreshared_key=${encodeHexKey(psk)}\nendpoint=127.0.0.1:4242\n` +
      `allowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\npersistent_keepalive_interval=25\n` +
      `public_key=${encodeHexKey(peerB)}\nendpoint=[::1]:5353\n`,
  );
  control.setStats(encodeHexKey(peerA), { rxBytes: 1234, txBytes: 5678, lastHandshakeTimeSec: 1700000000, lastHandshakeTimeNsec: 5 });

  t.is(
    await wg('show', iface, 'dump'),
    `${encodeKey(priv)}\t${encodeKey(publicKey(priv))}\t51820\t0x33\n` +
      `${encodeKey(peerA)}\t${encodeKey(psk)}\t127.0.0.1:4242\t10.0.0.0/24,fd00::/64\t1700000000\t1234\t5678\t25\n` +
      `${encodeKey(peerB)}\t(none)\t[::1]:5353\t(none)\t0\t0\t0\toff\n`,
  );

  // wg set: add allowed IPs (one with host bits), change the endpoint, remove a peer.
  const keyFile = join(await tempDir(t), 'psk');
  await writeFile(keyFile, `${encodeKey(key(9))}\n`, { mode: 0o600 });
  await wg('set', iface, 'listen-port', '1000', 'peer', encodeKey(peerB), 'allowed-ips', '10.9.1.2/16,fd09::/64', 'endpoint', '127.0.0.2:7', 'persistent-keepalive', '30', 'preshared-key', keyFile);
  await wg('set', iface, 'peer', encodeKey(peerA), 'remove');
  const snap = control.get();
  t.is(snap.listenPort, 1000);
  t.is(snap.peers.length, 1);
  const b = snap.peers[0]!;
  t.deepEqual(b.publicKey, peerB);
  t.deepEqual(b.presharedKey, key(9));
  t.is(b.endpoint, '127.0.0.2:7');
  t.is(b.persistentKeepaliveInterval, 30);
  t.deepEqual(b.allowedIps.map(formatPrefix), ['10.9.0.0/16', 'fd09::/64']);

  t.is(
    await wg('showconf', iface),
    '[Interface]\nListenPort = 1000\nFwMark = 0x33\n' +
      `PrivateKey = ${encodeKey(priv)}\n\n` +
      `[Peer]\nPublicKey = ${encodeKey(peerB)}\nPresharedKey = ${encodeKey(key(9))}\n` +
      'AllowedIPs = 10.9.0.0/16, fd09::/64\nEndpoint = 127.0.0.2:7\nPersistentKeepalive = 30\n',
  );

  // Our `show` text is what wg show prints (no TTY, so no colour; no handshake, so no clock dependence).
  const ours = formatInterface(iface, control.get(), { nowSec: 0 }).replace('(hidden)', encodeKey(priv));
  t.is(await wg('show', iface), ours.replace('  preshared key: (hidden)', `  preshared key: ${encodeKey(key(9))}`));

  // wg lists our interface.
  t.true((await wg('show', 'interfaces')).split(/\s+/).includes(iface));
});

wgTest('wg reports our errno: EADDRINUSE for a port the device cannot bind', async (t) => {
  const { iface, control } = await setup(t, new MemoryDeviceControl({ canBind: (p) => p !== 53 }));
  const err = await t.throwsAsync(wg('set', iface, 'listen-port', '53'));
  t.regex(String((err as { stderr?: string })?.stderr), /Address already in use/);
  t.is(control.applied, 0);
});
