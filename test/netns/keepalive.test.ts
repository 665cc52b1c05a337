/**
 * Keepalive at start, end to end: stock wg-quick drives tunvpnd (WG_QUICK_USERSPACE_IMPLEMENTATION) with a peer
 * that has PersistentKeepalive; the peer is wireguard-go, already up in another namespace. The first handshake
 * must happen without any traffic, as soon as wg-quick is done, and the first ping is answered at once (-W1).
 * Also when the private key only arrives in PostUp (`wg set %i private-key FILE`, a common way to keep it out of
 * the file): the handshake then starts with the key.
 *
 *   [ns a] wg-quick + tunvpnd  IFACE 10.98.0.1/24   va 172.30.X.1/30 ===veth=== vb 172.30.X.2/30   [ns b] wireguard-go 10.98.0.2/24
 */
import type { ExecutionContext } from 'ava';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';
import { skipReason, testWhen } from '../helpers/skip.js';
import { ip, makeNs, sh, shAsync, spawnInNs } from './harness.js';
import { run, sleep, wgDumpPeers } from './topology.js';

const DAEMON = join(process.cwd(), 'dist/src/cli/userspace.js');
const rootTest = testWhen(skipReason({ root: true, commands: ['wg-quick', 'wg', 'wireguard-go', 'ping'], files: ['/dev/net/tun', DAEMON] }), { concurrent: true });

/** Longest wait for the first handshake without traffic (ms): below REKEY_TIMEOUT, so a retry cannot be it. */
const FIRST_HANDSHAKE_WAIT_MS = 4000;

async function setup(t: ExecutionContext, keyInPostUp: boolean) {
  const a = makeNs(t, 'ka');
  const b = makeNs(t, 'kb');
  const x = randomInt(0, 256);
  ip(a, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', b);
  ip(a, 'addr', 'add', `172.30.${x}.1/30`, 'dev', 'va');
  ip(b, 'addr', 'add', `172.30.${x}.2/30`, 'dev', 'vb');
  ip(a, 'link', 'set', 'va', 'up');
  ip(b, 'link', 'set', 'vb', 'up');
  const dir = mkdtempSync(join(tmpdir(), 'tv-ka-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  sh('mkdir', ['-p', bin]);
  chmodSync(DAEMON, 0o755);
  symlinkSync(DAEMON, join(bin, 'tunvpnd'));
  const keyA = generatePrivateKey(systemRng);
  const keyB = generatePrivateKey(systemRng);
  const tag = randomBytes(3).toString('hex');
  const nameA = `tvk${tag}a`;
  const nameB = `tvk${tag}b`;

  // b: wireguard-go, configured by wg, addressed by ip; it knows a but not where a is.
  spawnInNs(t, b, 'env', ['WG_PROCESS_FOREGROUND=1', 'LOG_LEVEL=error', 'wireguard-go', nameB]);
  for (let i = 0; i < 100 && (await run(b, 'wg', ['show', nameB])).code !== 0; i++) await sleep(50);
  const wgB = join(dir, `${nameB}.wg`);
  writeFileSync(wgB, `[Interface]\nPrivateKey = ${encodeKey(keyB)}\nListenPort = 51902\n\n[Peer]\nPublicKey = ${encodeKey(publicKeyOf(keyA))}\nAllowedIPs = 10.98.0.1/32\n`, { mode: 0o600 });
  await shAsync('ip', ['netns', 'exec', b, 'wg', 'setconf', nameB, wgB]);
  ip(b, 'addr', 'add', '10.98.0.2/24', 'dev', nameB);
  ip(b, 'link', 'set', nameB, 'up');

  // a: wg-quick with tunvpnd, PersistentKeepalive towards b.
  const keyFile = join(dir, 'a.key');
  writeFileSync(keyFile, `${encodeKey(keyA)}\n`, { mode: 0o600 });
  const confA = join(dir, `${nameA}.conf`);
  const keyLine = keyInPostUp ? `PostUp = wg set %i private-key ${keyFile}` : `PrivateKey = ${encodeKey(keyA)}`;
  writeFileSync(confA, `[Interface]\n${keyLine}\nAddress = 10.98.0.1/24\nListenPort = 51901\n\n` +
    `[Peer]\nPublicKey = ${encodeKey(publicKeyOf(keyB))}\nAllowedIPs = 10.98.0.2/32\nEndpoint = 172.30.${x}.2:51902\nPersistentKeepalive = 25\n`, { mode: 0o600 });
  t.teardown(() => void sh('ip', ['netns', 'exec', a, 'wg-quick', 'down', confA], { allowFail: true }));
  await shAsync('ip', ['netns', 'exec', a, 'env', `PATH=${bin}:${process.env.PATH}`, 'WG_QUICK_USERSPACE_IMPLEMENTATION=tunvpnd', 'wg-quick', 'up', confA]);
  return { a, nameA };
}

/** Polls a's peer until it reports a handshake; undefined when none came within `ms`. */
async function handshakeWithin(ns: string, ifname: string, ms: number): Promise<number | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const [peer] = await wgDumpPeers(ns, ifname);
    if (peer && peer.latestHandshake > 0) return peer.latestHandshake;
    if (Date.now() > end) return undefined;
    await sleep(100);
  }
}

for (const [what, keyInPostUp] of [['the key in the file', false], ['the key set in PostUp', true]] as const) {
  rootTest(`wg-quick + tunvpnd, PersistentKeepalive (${what}): the handshake starts without traffic; the first ping is answered`, async (t) => {
    const { a, nameA } = await setup(t, keyInPostUp);
    t.truthy(await handshakeWithin(a, nameA, FIRST_HANDSHAKE_WAIT_MS), 'no handshake without traffic');
    const r = await run(a, 'ping', ['-c1', '-W1', '-n', '10.98.0.2']);
    t.is(r.code, 0, `the first ping was not answered within 1 s: ${r.stdout}${r.stderr}`);
  });
}
