/**
 * A fresh legitimate peer for b: a wireguard-go interface in namespace c (on b's LAN) with a key b has never seen.
 * To time its first handshake, b learns the peer over its UAPI (`wg set`, as an operator would), then the peer is
 * pointed at b with a persistent keepalive of 1 s, which makes wireguard-go send an initiation at once; the time
 * until `wg show IFACE latest-handshakes` on c reports a handshake is the result.
 *
 * The client is always wireguard-go (the lab's binary), whatever b runs, so the client's retry timing
 * (REKEY_TIMEOUT, 5 s, whitepaper §6.4) is the same for every b.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeKeys } from '../../src/lab/configs.js';
import { spawnWireguardGo } from '../../src/lab/daemons.js';
import type { Lab } from '../../src/lab/lab.js';
import { withRtnl } from '../../src/lab/topology.js';

/** How often c's handshake time is polled (ms). */
const POLL_MS = 100;
const WG_TIMEOUT_MS = 10_000;
const SECRET_FILE_MODE = 0o600;
/** Tunnel host numbers the fresh peers get in b's tunnel /24 (a is .1, b .2). */
const FIRST_FRESH_HOST = 3;

export interface FreshPeer {
  /** Interface name in c: tv<tag><letter>. */
  ifname: string;
  /** base64 public key. */
  publicKey: string;
  /** The tunnel address b routes to it (AllowedIPs on b). */
  tunnelAddress: string;
}

export interface HandshakeTiming {
  /** How long b's `wg set ... peer` took (ms): the UAPI's responsiveness. */
  uapiMs: number;
  /** Time from pointing the peer at b to its first handshake (ms); null when none came within the cap. */
  handshakeMs: number | null;
}

/**
 * Starts wireguard-go in c as interface tv<tag><letter> with a new private key, link up, no peer yet. The
 * process and its socket are cleaned up by the lab's dispose(). `index` (0, 1, ...) picks its tunnel address.
 */
export async function startFreshPeer(lab: Lab, letter: string, index: number): Promise<FreshPeer> {
  if (!/^[c-z]$/.test(letter) || letter === 'f') throw new Error(`fresh peer letter must be one of c..z but f, got "${letter}"`);
  const dir = lab.configDir;
  if (dir === undefined) throw new Error('fresh peer: the lab has no tunnel (veth path)');
  const { plan } = lab;
  const ifname = `tv${plan.tag}${letter}`;
  const keys = makeKeys();
  const keyFile = join(dir, `${ifname}.key`);
  writeFileSync(keyFile, `${keys.privateKey}\n`, { mode: SECRET_FILE_MODE, flag: 'wx' });
  lab.adoptInterface(ifname);
  await spawnWireguardGo(lab.procs, plan.ns.c, ifname, lab.logger, lab.wireguardGo);
  await lab.procs.run(plan.ns.c, 'wg', ['set', ifname, 'private-key', keyFile], { timeoutMs: WG_TIMEOUT_MS });
  await withRtnl(plan.ns.c, (r) => r.links.up(ifname));
  const tunnelAddress = `10.213.${plan.k}.${FIRST_FRESH_HOST + index}`;
  return { ifname, publicKey: keys.publicKey, tunnelAddress };
}

/**
 * Adds `peer` to b (UAPI), points it at b (whose public key is `bPublicKey`, see publicKeyOfB: read it beforehand,
 * so that timing a handshake under load makes one UAPI call only) and waits for its first handshake, at most
 * `capMs`. Throws only when a `wg` command fails (e.g. b's UAPI does not answer within 10 s).
 */
export async function timeFirstHandshake(lab: Lab, peer: FreshPeer, bPublicKey: string, capMs: number): Promise<HandshakeTiming> {
  const { plan } = lab;
  const b = lab.daemons.b;
  if (!b) throw new Error('fresh peer: no daemon at b');
  const t0 = performance.now();
  await lab.procs.run(b.ns, 'wg', ['set', b.ifname, 'peer', peer.publicKey, 'allowed-ips', `${peer.tunnelAddress}/32`], { timeoutMs: WG_TIMEOUT_MS });
  const uapiMs = performance.now() - t0;
  const start = performance.now();
  await lab.procs.run(plan.ns.c, 'wg', [
    'set', peer.ifname, 'peer', bPublicKey, 'endpoint', `${plan.lan.b}:${plan.ports.b}`,
    'allowed-ips', `${plan.tunnel.b}/32`, 'persistent-keepalive', '1',
  ], { timeoutMs: WG_TIMEOUT_MS });
  while (performance.now() - start < capMs) {
    const out = (await lab.procs.run(plan.ns.c, 'wg', ['show', peer.ifname, 'latest-handshakes'], { timeoutMs: WG_TIMEOUT_MS })).stdout;
    if (latestHandshake(out, bPublicKey) > 0) return { uapiMs, handshakeMs: performance.now() - start };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return { uapiMs, handshakeMs: null };
}

/** The epoch seconds `wg show IFACE latest-handshakes` gives for `publicKey` (0 = never, also when absent). */
export function latestHandshake(output: string, publicKey: string): number {
  for (const line of output.split('\n')) {
    const [key, when] = line.trim().split(/\s+/);
    if (key === publicKey) {
      const n = Number(when);
      return Number.isInteger(n) && n > 0 ? n : 0;
    }
  }
  return 0;
}
