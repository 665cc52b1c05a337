/**
 * Two tunnel ends in namespaces of their own, joined by whatever underlay the test builds: their keys and names,
 * a wg-quick file for `tunvpn up`, or a userspace daemon (tunvpnd, wireguard-go) configured by `wg set`; and the
 * first ping across. Shared by the link-local and sticky-source tests.
 */
import type { ExecutionContext } from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';
import { collect, ip, spawnInNs } from './harness.js';
import { pingFirstReply, run, socketPath, waitFor } from './topology.js';

export const CLI = join(process.cwd(), 'dist/src/cli/main.js');

/** One end: its namespace, tunnel interface name, base64 keys and tunnel address (a /32). */
export interface Side {
  ns: string;
  ifname: string;
  privateKey: string;
  publicKey: string;
  tunnel: string;
}

/** A fresh key pair, base64. */
export function sideKeys(): { privateKey: string; publicKey: string } {
  const priv = generatePrivateKey(systemRng);
  return { privateKey: encodeKey(priv), publicKey: encodeKey(publicKeyOf(priv)) };
}

/** Writes a new file of mode 0600 (fails if it exists); returns its path. */
export function writeSecret(path: string, text: string): string {
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  return path;
}

/** A wg-quick file in `dir` for `self` with `peer` (and its Endpoint, when given); returns its path. */
export function quickConf(dir: string, self: Side, peer: Side, port: number, endpoint?: string): string {
  const lines = [
    '[Interface]', `PrivateKey = ${self.privateKey}`, `ListenPort = ${port}`, `Address = ${self.tunnel}/32`, '',
    '[Peer]', `PublicKey = ${peer.publicKey}`, `AllowedIPs = ${peer.tunnel}/32`, ...(endpoint ? [`Endpoint = ${endpoint}`] : []), '',
  ];
  return writeSecret(join(dir, `${self.ifname}.conf`), lines.join('\n'));
}

/** `tunvpn up CONF` in the side's namespace, resolved once the interface is up; stopped at teardown. */
export async function upQuick(t: ExecutionContext, side: Side, conf: string) {
  const child = spawnInNs(t, side.ns, process.execPath, [CLI, 'up', conf]);
  const out = collect(child);
  await out.wait(new RegExp(`${side.ifname} is up`));
  return { child, out };
}

/**
 * A userspace daemon (`cmd` followed by the interface name: tunvpnd or wireguard-go, in the foreground) configured
 * by `wg set` with its key, port and `peer` (and the peer's endpoint, when given), then the tunnel address and a
 * route to the peer's.
 */
export async function uapiDaemon(t: ExecutionContext, side: Side, peer: Side, dir: string, cmd: string[], port: number, endpoint?: string) {
  const child = spawnInNs(t, side.ns, 'env', ['WG_PROCESS_FOREGROUND=1', 'LOG_LEVEL=error', ...cmd, side.ifname]);
  const out = collect(child);
  await waitFor(() => existsSync(socketPath(side.ifname)), () => undefined, socketPath(side.ifname));
  const key = writeSecret(join(dir, `${side.ifname}.key`), `${side.privateKey}\n`);
  const args = ['set', side.ifname, 'private-key', key, 'listen-port', String(port), 'peer', peer.publicKey, 'allowed-ips', `${peer.tunnel}/32`];
  const set = await run(side.ns, 'wg', endpoint ? [...args, 'endpoint', endpoint] : args);
  t.is(set.code, 0, `wg ${args.join(' ')}: ${set.stderr}\n${out.text()}`);
  ip(side.ns, 'address', 'add', `${side.tunnel}/32`, 'dev', side.ifname);
  ip(side.ns, 'link', 'set', 'dev', side.ifname, 'up');
  ip(side.ns, 'route', 'add', `${peer.tunnel}/32`, 'dev', side.ifname);
  return { child, out };
}

/** Seconds pingOnce keeps trying: the first reply may wait for a handshake. */
const PING_DEADLINE_S = 10;

/** Pings `to`'s tunnel address from `from` until one reply comes, at most PING_DEADLINE_S; asserts that one did. */
export async function pingOnce(t: ExecutionContext, from: Side, to: Side): Promise<void> {
  const r = await pingFirstReply(from.ns, to.tunnel, PING_DEADLINE_S);
  t.true(r.received >= 1, `${from.tunnel} → ${to.tunnel}:\n${r.output}`);
}
