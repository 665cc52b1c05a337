/**
 * Link-local endpoints with a zone: two namespaces joined by one veth that carries only link-local addresses.
 *
 *     [ns a]                                       [ns b]
 *     tunnel IFACE_A 10.214.R.1/32                 tunnel IFACE_B 10.214.R.2/32
 *     veth0 fe80::a/64  =========== veth ========= veth0 fe80::b/64     (addrgenmode none: no other address)
 *
 *   a's peer (b): Endpoint [fe80::b%veth0]:PORT_B;  b's peer (a): no endpoint, learned from a's packets.
 *
 * The zone names the interface the handshake must leave by; wg-quick + wireguard-go accept it, and `wg show
 * endpoints` prints it back as wg prints a scoped address ("[fe80::b%veth0]:PORT", getnameinfo's form, which the
 * kernel's WireGuard and wireguard-go since 0.0.20230223 show). Once through `tunvpn up` (the config file), once
 * through tunvpnd configured by `wg set ... endpoint [fe80::b%veth0]:PORT` (the UAPI) against wireguard-go.
 */
import type { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { ip, makeNs, waitExit } from './harness.js';
import { run } from './topology.js';
import { CLI, pingOnce, quickConf, sideKeys, uapiDaemon, upQuick, type Side } from './pair.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const DAEMON = join(process.cwd(), 'dist/src/cli/userspace.js');
const rootTest = testWhen(
  skipReason({ root: true, commands: ['ip', 'wg', 'ping', 'wireguard-go'], files: ['/dev/net/tun', CLI, DAEMON] }),
  { concurrent: true },
);

const PORT_A = 51_011;
const PORT_B = 51_012;
/** Both namespaces, the veth with only fe80::a and fe80::b on it, and each side's keys and names. */
function linkLocalPair(t: ExecutionContext, purpose: string): { a: Side; b: Side; dir: string } {
  const tag = randomBytes(3).toString('hex');
  const r = randomInt(1, 254);
  const a: Side = { ns: makeNs(t, `${purpose}a`), ifname: `tvl${tag}a`, tunnel: `10.214.${r}.1`, ...sideKeys() };
  const b: Side = { ns: makeNs(t, `${purpose}b`), ifname: `tvl${tag}b`, tunnel: `10.214.${r}.2`, ...sideKeys() };
  ip(a.ns, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth0', 'netns', b.ns);
  for (const [side, address] of [[a, 'fe80::a/64'], [b, 'fe80::b/64']] as const) {
    ip(side.ns, 'link', 'set', 'veth0', 'addrgenmode', 'none');
    ip(side.ns, 'address', 'add', address, 'dev', 'veth0', 'nodad');
    ip(side.ns, 'link', 'set', 'veth0', 'up');
  }
  const dir = mkdtempSync(join(tmpdir(), `tv-ll-${tag}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { a, b, dir };
}

async function endpoints(t: ExecutionContext, side: Side): Promise<string> {
  const r = await run(side.ns, 'wg', ['show', side.ifname, 'endpoints']);
  t.is(r.code, 0, r.stderr);
  return r.stdout;
}

rootTest('up with Endpoint = [fe80::b%veth0]:PORT: the handshake runs over veth0, wg show endpoints names the zone', async (t) => {
  const { a, b, dir } = linkLocalPair(t, 'llq');
  const atB = await upQuick(t, b, quickConf(dir, b, a, PORT_B));
  const atA = await upQuick(t, a, quickConf(dir, a, b, PORT_A, `[fe80::b%veth0]:${PORT_B}`));
  await pingOnce(t, a, b);
  t.is(await endpoints(t, a), `${b.publicKey}\t[fe80::b%veth0]:${PORT_B}\n`);
  // b learned a's endpoint from a's packets: the source address and the interface they came in by.
  t.is(await endpoints(t, b), `${a.publicKey}\t[fe80::a%veth0]:${PORT_A}\n`);
  // tunvpn's own reply names the interface as wireguard-go does.
  const shown = await run(a.ns, process.execPath, [CLI, 'show', a.ifname, '--json']);
  t.is((JSON.parse(shown.stdout) as { interfaces: { peers: { endpoint: string }[] }[] }).interfaces[0]!.peers[0]!.endpoint, `[fe80::b%veth0]:${PORT_B}`);
  for (const d of [atA, atB]) {
    d.child.kill('SIGTERM');
    t.is(await waitExit(d.child), 0, d.out.text());
  }
});

rootTest('tunvpnd with wg set endpoint [fe80::b%veth0]:PORT, wireguard-go at the other end', async (t) => {
  const { a, b, dir } = linkLocalPair(t, 'lld');
  const atB = await uapiDaemon(t, b, a, dir, ['wireguard-go'], PORT_B);
  const atA = await uapiDaemon(t, a, b, dir, [process.execPath, DAEMON, '-f'], PORT_A, `[fe80::b%veth0]:${PORT_B}`);
  t.is(await endpoints(t, a), `${b.publicKey}\t[fe80::b%veth0]:${PORT_B}\n`);
  await pingOnce(t, a, b);
  t.is(await endpoints(t, a), `${b.publicKey}\t[fe80::b%veth0]:${PORT_B}\n`);
  for (const d of [atA, atB]) {
    d.child.kill('SIGTERM');
    t.is(await waitExit(d.child), 0, d.out.text());
  }
});
