/**
 * Two sites over a tunvpn tunnel (docs/sites.md): hosts a and b are namespaces joined by a veth underlay and a
 * tunvpn tunnel (10.213.0.1 ⇄ 10.213.0.2); site files put a bridge, a vxlan over the tunnel and container
 * namespaces on each. c1 and c2 (on a) reach c3 (on b) across the vxlan inside the tunnel, and the underlay
 * carries WireGuard UDP only: no vxlan packet ever appears on it.
 *
 *   c1 ─┐                                                        ┌─ c3
 *   c2 ─┴─ br-lan ── vx-lan ── tunA ══ a ─ veth ─ b ══ tunB ── vx-lan ── br-lan
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { collect, deleteNs, ip, makeNs, sh, shAsync, spawnInNs, waitExit, RUN_TAG } from './harness.js';
import { systemRng } from '../../src/crypto/random.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const rootTest = testWhen(skipReason({ root: true, commands: ['tcpdump'] }), { concurrent: true });

function tunnelConf(own: Uint8Array, peer: Uint8Array, addr: string, peerAddr: string, port: number, endpoint?: string): string {
  return `[Interface]
PrivateKey = ${encodeKey(own)}
Address = ${addr}/24
ListenPort = ${port}

[Peer]
PublicKey = ${encodeKey(publicKeyOf(peer))}
AllowedIPs = ${peerAddr}/32
${endpoint ? `Endpoint = ${endpoint}\nPersistentKeepalive = 5` : ''}
`;
}

function siteConf(tun: string, bridgeAddr: string, local: string, remote: string, containers: Array<[string, string]>): string {
  const ns = containers
    .map(([name, addr]) => `[Namespace]\nName = ${name}\nBridge = br-lan\nAddress = ${addr}/24\nGateway = ${bridgeAddr}\n`)
    .join('\n');
  return `[Bridge]
Name = br-lan
Address = ${bridgeAddr}/24

[Vxlan]
Name = vx-lan
Id = 42
Local = ${local}
Remote = ${remote}
DstPort = 4789
Bridge = br-lan
Dev = ${tun}

${ns}`;
}

/** Runs the CLI in this (root) namespace; site commands act on the namespace given by --host-netns. */
function cli(args: string[]): Promise<{ out: string; err: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8' }, (e, out, err) =>
      e ? reject(new Error(`tunvpn ${args.join(' ')} failed: ${err || e.message}`)) : resolve({ out, err }),
    );
  });
}

rootTest('c1 and c2 on site a reach c3 on site b over a vxlan inside the tunnel; site up is idempotent; site down leaves nothing', async (t) => {
  const a = makeNs(t, 'sa');
  const b = makeNs(t, 'sb');
  const dir = mkdtempSync(join(tmpdir(), 'tunvpn-sites-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const prefix = `s${RUN_TAG.slice(0, 6)}${randomBytes(1).toString('hex')}-`;
  t.teardown(() => ['c1', 'c2', 'c3'].forEach((c) => deleteNs(prefix + c)));

  // Underlay: a veth between the two hosts.
  const [va, vb] = [`u${randomBytes(3).toString('hex')}`, `u${randomBytes(3).toString('hex')}`];
  ip(undefined, 'link', 'add', va, 'netns', a, 'type', 'veth', 'peer', 'name', vb, 'netns', b);
  ip(a, 'addr', 'add', '172.31.250.1/30', 'dev', va);
  ip(b, 'addr', 'add', '172.31.250.2/30', 'dev', vb);
  ip(a, 'link', 'set', va, 'up');
  ip(b, 'link', 'set', vb, 'up');

  // The tunnel.
  const [keyA, keyB] = [generatePrivateKey(systemRng), generatePrivateKey(systemRng)];
  const tunA = `tvs${randomBytes(3).toString('hex')}`;
  const tunB = `tvs${randomBytes(3).toString('hex')}`;
  const confA = join(dir, `${tunA}.conf`);
  const confB = join(dir, `${tunB}.conf`);
  writeFileSync(confA, tunnelConf(keyA, keyB, '10.213.0.1', '10.213.0.2', 51820, '172.31.250.2:51821'), { mode: 0o600 });
  writeFileSync(confB, tunnelConf(keyB, keyA, '10.213.0.2', '10.213.0.1', 51821), { mode: 0o600 });
  const daemonA = spawnInNs(t, a, process.execPath, [CLI, 'up', confA]);
  const daemonB = spawnInNs(t, b, process.execPath, [CLI, 'up', confB]);
  await Promise.all([collect(daemonA).wait(/is up/), collect(daemonB).wait(/is up/)]);
  // Both daemons start at once: a's first initiation may reach b before b listens, so allow for the 5 s retry.
  await shAsync('ip', ['netns', 'exec', a, 'ping', '-c', '3', '-i', '0.3', '-w', '20', '10.213.0.2']);

  // The sites.
  const siteA = join(dir, 'site-a.conf');
  const siteB = join(dir, 'site-b.conf');
  writeFileSync(siteA, siteConf(tunA, '192.168.50.1', '10.213.0.1', '10.213.0.2', [['c1', '192.168.50.11'], ['c2', '192.168.50.12']]));
  writeFileSync(siteB, siteConf(tunB, '192.168.50.2', '10.213.0.2', '10.213.0.1', [['c3', '192.168.50.13']]));
  const site = (verb: string, file: string, host: string) => cli(['site', verb, file, '--host-netns', host, '--ns-prefix', prefix]);
  t.teardown(async () => {
    await site('down', siteA, a).catch(() => undefined);
    await site('down', siteB, b).catch(() => undefined);
  });
  await site('up', siteA, a);
  await site('up', siteB, b);
  t.is(ip(a, '-j', 'link', 'show', 'vx-lan').includes('"mtu":1370'), true);

  // Watch the underlay for vxlan while the containers talk.
  const pcap = join(dir, 'underlay.pcap');
  const capture = spawnInNs(t, b, 'tcpdump', ['-i', vb, '-n', '-U', '-w', pcap]);
  await collect(capture).wait(/listening on/);
  await shAsync('ip', ['netns', 'exec', prefix + 'c1', 'ping', '-c', '3', '-i', '0.3', '-W', '3', '192.168.50.13']);
  await shAsync('ip', ['netns', 'exec', prefix + 'c2', 'ping', '-c', '3', '-i', '0.3', '-W', '3', '192.168.50.13']);
  await shAsync('ip', ['netns', 'exec', prefix + 'c3', 'ping', '-c', '2', '-i', '0.3', '-W', '3', '192.168.50.11']);
  capture.kill('SIGINT');
  await waitExit(capture);
  const vxlanOnUnderlay = sh('tcpdump', ['-n', '-r', pcap, 'udp port 4789']).trim();
  const wireguardOnUnderlay = sh('tcpdump', ['-n', '-r', pcap, 'udp port 51820 or udp port 51821']).trim();
  t.is(vxlanOnUnderlay, '', 'vxlan must never appear on the underlay');
  t.true(wireguardOnUnderlay.split('\n').length >= 16, 'the pings crossed the underlay as WireGuard UDP');

  // Idempotent.
  const again = await site('up', siteA, a);
  t.regex(again.out + again.err, /0 changes/);
  const show = JSON.parse((await cli(['site', 'show', siteA, '--host-netns', a, '--ns-prefix', prefix, '--json'])).out) as unknown;
  t.false(JSON.stringify(show).includes('"missing"'));

  // Down on both: no container namespace, no bridge or vxlan left on the hosts.
  await site('down', siteA, a);
  await site('down', siteB, b);
  for (const c of ['c1', 'c2', 'c3']) t.false(existsSync(`/run/netns/${prefix}${c}`));
  for (const host of [a, b]) {
    const names = (JSON.parse(ip(host, '-j', 'link')) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
    t.deepEqual(names, ['lo', host === a ? tunA : tunB, host === a ? va : vb].sort());
  }
  daemonA.kill('SIGTERM');
  daemonB.kill('SIGTERM');
  t.is(await waitExit(daemonA), 0);
  t.is(await waitExit(daemonB), 0);
  t.is(readFileSync(pcap).length > 0, true);
});
