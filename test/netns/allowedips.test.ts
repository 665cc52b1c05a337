/**
 * AllowedIPs the way wg gives them out, through `tunvpn up` in a namespace:
 * - the same prefix under two [Peer] sections is accepted, the last peer owns it (the input: a fallback
 *   peer above the preferred one, both with 0.0.0.0/0), a warning names both lines, and the prefix gets one route;
 * - a peer's prefixes are listed in the order they were added, as wg show and wg showconf show them for the
 *   reference: wireguard-go configured with `wg setconf` from the same file, in a namespace beside it.
 */
import type { ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';
import { collect, ipJson, makeNs, spawnInNs, waitExit } from './harness.js';
import { run, socketPath, waitFor } from './topology.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const rootTest = testWhen(skipReason({ root: true, commands: ['wg', 'wireguard-go'], files: ['/dev/net/tun', CLI] }), { concurrent: true });

interface Route { dst: string; dev?: string }

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'tunvpn-aips-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const uniqueIf = () => `tva${randomBytes(3).toString('hex')}`;
const publicKey = () => encodeKey(publicKeyOf(generatePrivateKey(systemRng)));

async function wg(t: ExecutionContext, ns: string, ...args: string[]): Promise<string> {
  const r = await run(ns, 'wg', args);
  t.is(r.code, 0, `wg ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function up(t: ExecutionContext, ns: string, conf: string) {
  const child = spawnInNs(t, ns, process.execPath, [CLI, 'up', conf]);
  const out = collect(child);
  await out.wait(/is up \(UDP port/);
  return { child, out };
}

rootTest('two peers with AllowedIPs = 0.0.0.0/0: the second owns it, one default route, a warning with both lines', async (t) => {
  const ns = makeNs(t, 'aip0');
  const name = uniqueIf();
  const [fallback, preferred] = [publicKey(), publicKey()];
  const conf = join(tempDir(t), `${name}.conf`);
  writeFileSync(
    conf,
    [
      '[Interface]', // 1
      `PrivateKey = ${encodeKey(generatePrivateKey(systemRng))}`,
      'Address = 10.81.0.1/24',
      '',
      '[Peer]', // 5: the fallback
      `PublicKey = ${fallback}`,
      'AllowedIPs = 0.0.0.0/0', // 7
      'Endpoint = 192.0.2.1:51820',
      '',
      '[Peer]', // 10: the preferred one
      `PublicKey = ${preferred}`,
      'AllowedIPs = 0.0.0.0/0', // 12
      'Endpoint = 192.0.2.2:51820',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const { child, out } = await up(t, ns, conf);
  t.regex(out.text(), /:12: AllowedIPs 0\.0\.0\.0\/0 is also listed by the peer at line 5 \(AllowedIPs at line 7\)/);
  // wg-quick + wireguard-go: the first peer shows (none), the second 0.0.0.0/0.
  t.is(await wg(t, ns, 'show', name, 'allowed-ips'), `${fallback}\t(none)\n${preferred}\t0.0.0.0/0\n`);
  const routes = ipJson<Route[]>(ns, '-4', 'route', 'show', 'table', 'all', 'dev', name).filter((r) => r.dst === 'default');
  t.is(routes.length, 1, JSON.stringify(routes));
  child.kill('SIGTERM');
  t.is(await waitExit(child), 0, out.text());
});

rootTest('a shared prefix and the order of a peer\'s prefixes: wg show and showconf as for wireguard-go, one route each', async (t) => {
  const ns = makeNs(t, 'aipo');
  const refNs = makeNs(t, 'aipr');
  const name = uniqueIf();
  const dir = tempDir(t);
  const [first, second] = [publicKey(), publicKey()];
  const iface = ['[Interface]', `PrivateKey = ${encodeKey(generatePrivateKey(systemRng))}`];
  const peers = [
    '[Peer]', `PublicKey = ${first}`, 'AllowedIPs = 10.60.0.0/16, 10.9.0.0/16, fd00::/8, 10.1.0.0/16', 'AllowedIPs = 192.168.7.0/24, 10.9.0.0/16',
    '[Peer]', `PublicKey = ${second}`, 'AllowedIPs = 10.60.0.0/16',
  ];
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, [...iface, 'Address = 10.55.0.1/24', ...peers, ''].join('\n'), { mode: 0o600 });
  const stripped = join(dir, `${name}.wg`);
  writeFileSync(stripped, [...iface, ...peers, ''].join('\n'), { mode: 0o600 });

  // The reference: wireguard-go, configured by wg setconf from the same file (what wg-quick does).
  const refName = uniqueIf();
  spawnInNs(t, refNs, 'env', ['WG_PROCESS_FOREGROUND=1', 'LOG_LEVEL=error', 'wireguard-go', refName]);
  await waitFor(() => existsSync(socketPath(refName)), () => undefined, `wireguard-go's ${socketPath(refName)}`);
  await wg(t, refNs, 'setconf', refName, stripped);
  const refShow = await wg(t, refNs, 'show', refName, 'allowed-ips');
  const refConf = (await wg(t, refNs, 'showconf', refName)).split('\n').filter((l) => l.startsWith('AllowedIPs'));
  // 10.60.0.0/16 went to the second peer; 10.9.0.0/16, listed again, moved to the end of the first peer's list.
  // The peers' order is not compared: wireguard-go lists them from a Go map, and wg keeps that order.
  const peerLines = (text: string) => text.split('\n').filter((l) => l !== '').sort();
  t.deepEqual(peerLines(refShow), peerLines(`${first}\tfd00::/8 10.1.0.0/16 192.168.7.0/24 10.9.0.0/16\n${second}\t10.60.0.0/16\n`));

  const { child, out } = await up(t, ns, conf);
  const ours = await wg(t, ns, 'show', name, 'allowed-ips');
  t.deepEqual(peerLines(ours), peerLines(refShow));
  // tunvpn lists its peers in the order they were added, as the kernel's WireGuard does.
  t.is(ours, `${first}\tfd00::/8 10.1.0.0/16 192.168.7.0/24 10.9.0.0/16\n${second}\t10.60.0.0/16\n`);
  // Each peer's line as wireguard-go's; the peers themselves in any order (wireguard-go keeps them in a Go map,
  // so its showconf order changes from run to run).
  t.deepEqual((await wg(t, ns, 'showconf', name)).split('\n').filter((l) => l.startsWith('AllowedIPs')).sort(), refConf.sort());
  const v4 = ipJson<Route[]>(ns, '-4', 'route', 'show', 'dev', name).map((r) => r.dst).sort();
  t.deepEqual(v4, ['10.1.0.0/16', '10.55.0.0/24', '10.60.0.0/16', '10.9.0.0/16', '192.168.7.0/24']);
  const v6 = ipJson<Route[]>(ns, '-6', 'route', 'show', 'dev', name).map((r) => r.dst).filter((d) => !d.startsWith('fe80'));
  t.deepEqual(v6, ['fd00::/8']);
  child.kill('SIGTERM');
  t.is(await waitExit(child), 0, out.text());
});
