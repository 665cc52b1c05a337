import test from 'ava';
import { runShow } from '../../src/cli/commands/show.js';
import { publicKeyOf as publicKey } from '../../src/crypto/x25519.js';
import { UapiClient } from '../../src/uapi/client.js';
import { encodeKey } from '../../src/crypto/keys.js';
import { MemoryDeviceControl } from '../../src/uapi/memory-control.js';
import { UapiServer } from '../../src/uapi/server.js';
import { hex, key, tempDir } from './helpers.js';

async function daemon(t: import('ava').ExecutionContext, dir: string, iface: string, body: string) {
  const server = new UapiServer({ iface, control: new MemoryDeviceControl(), dir });
  await server.listen();
  t.teardown(() => server.close());
  const c = await UapiClient.connect(iface, { dir });
  await c.set(body);
  c.close();
}

test('show IFACE prints the wg-style text; show without IFACE lists every live interface', async (t) => {
  const dir = await tempDir(t);
  await daemon(t, dir, 'tva', `private_key=${hex(1)}\nlisten_port=51820\npublic_key=${hex(2)}\nendpoint=127.0.0.1:9\nallowed_ip=10.0.0.0/24\npersistent_keepalive_interval=25\n`);
  await daemon(t, dir, 'tvb', `listen_port=1\n`);
  const one = await runShow({ iface: 'tva', json: false, dir, color: false, nowSec: 0 });
  t.is(one.exitCode, 0);
  t.is(one.stderr, '');
  const clamped = key(1);
  clamped[0]! &= 248;
  clamped[31] = (clamped[31]! & 127) | 64;
  t.is(
    one.stdout,
    'interface: tva\n' +
      `  public key: ${encodeKey(publicKey(clamped))}\n` +
      '  private key: (hidden)\n' +
      '  listening port: 51820\n' +
      '\n' +
      `peer: ${encodeKey(key(2))}\n` +
      '  endpoint: 127.0.0.1:9\n' +
      '  allowed ips: 10.0.0.0/24\n' +
      '  persistent keepalive: every 25 seconds\n',
  );
  const all = await runShow({ json: false, dir, color: false, nowSec: 0 });
  t.is(all.stdout, `${one.stdout}\ninterface: tvb\n  listening port: 1\n`);
});

test('show --json prints a stable document; a missing interface is a clear error', async (t) => {
  const dir = await tempDir(t);
  await daemon(t, dir, 'tva', `listen_port=7\npublic_key=${hex(2)}\nallowed_ip=fd00::/64\n`);
  const r = await runShow({ json: true, dir, color: false, nowSec: 0 });
  t.is(r.exitCode, 0);
  t.deepEqual(JSON.parse(r.stdout), {
    interfaces: [
      {
        name: 'tva',
        publicKey: null,
        listenPort: 7,
        fwmark: 0,
        peers: [
          {
            publicKey: encodeKey(key(2)),
            hasPresharedKey: false,
            endpoint: null,
            allowedIps: ['fd00::/64'],
            latestHandshake: 0,
            latestHandshakeNsec: 0,
            rxBytes: 0,
            txBytes: 0,
            persistentKeepalive: 0,
          },
        ],
      },
    ],
  });
  const missing = await runShow({ iface: 'nope', json: false, dir, color: false, nowSec: 0 });
  t.is(missing.exitCode, 1);
  t.regex(missing.stderr, /Unable to access interface nope: no such interface/);
  const bad = await runShow({ iface: 'a/b', json: false, dir, color: false, nowSec: 0 });
  t.is(bad.exitCode, 1);
  t.regex(bad.stderr, /invalid interface name/);
});
