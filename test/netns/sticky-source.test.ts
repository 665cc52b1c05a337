/**
 * The sticky source end to end: the responder (tunvpn) has two addresses on its link and the initiator's Endpoint
 * names the one the kernel would NOT pick as a source; tunvpn must answer from the address it was contacted on, so
 * the initiator's endpoint stays where it was configured (through a NAT or a stateful firewall an answer from the
 * other address would be dropped).
 *
 *     [ns a] initiator: tunvpn or wireguard-go      [ns b] responder: tunvpn
 *     tunnel IFACE_A 10.215.R.1/32                  tunnel IFACE_B 10.215.R.2/32
 *     veth0 10.231.R.1/24 ========= veth =========  veth0 10.231.R.2/24 (the kernel's source), 10.231.R.3/24
 *     (link-local variant: fe80::a/64 on a; fe80::b/64 and fe80::c/64 on b, addrgenmode none)
 *
 *   a's peer (b): Endpoint = b's address the kernel does not prefer (10.231.R.3; for IPv6 the one `ip route get`
 *   does not name);  b's peer (a): no endpoint, learned from a's packets.
 *
 * Then the address that went away: b's contacted address is removed; b's next datagram is refused with that source,
 * sent again from the kernel's choice (counted in b's stats), a follows, and the tunnel keeps working both ways.
 */
import type { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { ip, ipJson, makeNs, waitExit } from './harness.js';
import { run } from './topology.js';
import { CLI, pingOnce, quickConf, sideKeys, uapiDaemon, upQuick, type Side } from './pair.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const rootTest = testWhen(
  skipReason({ root: true, commands: ['ip', 'wg', 'ping', 'wireguard-go'], files: ['/dev/net/tun', CLI] }),
  { concurrent: true },
);

const PORT_A = 51_031;
const PORT_B = 51_032;
type Initiator = 'tunvpn' | 'wireguard-go';
type Underlay = 'ipv4' | 'link-local';

interface Pair {
  a: Side;
  b: Side;
  dir: string;
  /** b's address a's Endpoint names, and the one the kernel picks as b's source towards a. */
  contacted: string;
  preferred: string;
  /** Endpoint text of a b address, as `wg show endpoints` prints it. */
  endpoint: (address: string) => string;
  /** The prefix length b's addresses carry (for `ip addr del`). */
  bits: number;
}

/** Both namespaces, the veth, a's one address and b's two; which of b's is the kernel's choice towards a. */
function twoAddressPair(t: ExecutionContext, purpose: string, underlay: Underlay): Pair {
  const tag = randomBytes(3).toString('hex');
  const r = randomInt(1, 254);
  const a: Side = { ns: makeNs(t, `${purpose}a`), ifname: `tvs${tag}a`, tunnel: `10.215.${r}.1`, ...sideKeys() };
  const b: Side = { ns: makeNs(t, `${purpose}b`), ifname: `tvs${tag}b`, tunnel: `10.215.${r}.2`, ...sideKeys() };
  ip(a.ns, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth0', 'netns', b.ns);
  const v4 = underlay === 'ipv4';
  const bits = v4 ? 24 : 64;
  const aAddress = v4 ? `10.231.${r}.1` : 'fe80::a';
  const bAddresses = v4 ? [`10.231.${r}.2`, `10.231.${r}.3`] : ['fe80::b', 'fe80::c'];
  for (const [side, addresses] of [[a, [aAddress]], [b, bAddresses]] as const) {
    if (!v4) ip(side.ns, 'link', 'set', 'veth0', 'addrgenmode', 'none');
    for (const address of addresses) ip(side.ns, 'address', 'add', `${address}/${bits}`, 'dev', 'veth0', ...(v4 ? [] : ['nodad']));
    ip(side.ns, 'link', 'set', 'veth0', 'up');
  }
  const route = ipJson<Array<{ prefsrc?: string }>>(b.ns, 'route', 'get', aAddress, ...(v4 ? [] : ['oif', 'veth0']));
  const preferred = route[0]?.prefsrc ?? '';
  t.true(bAddresses.includes(preferred), `the kernel's source towards a: ${preferred}`);
  const contacted = bAddresses.find((x) => x !== preferred)!;
  const dir = mkdtempSync(join(tmpdir(), `tv-ss-${tag}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const endpoint = (address: string) => (v4 ? `${address}:${PORT_B}` : `[${address}%veth0]:${PORT_B}`);
  return { a, b, dir, contacted, preferred, endpoint, bits };
}

async function endpointOf(t: ExecutionContext, side: Side): Promise<string> {
  const r = await run(side.ns, 'wg', ['show', side.ifname, 'endpoints']);
  t.is(r.code, 0, r.stderr);
  return r.stdout.trim().split('\t')[1] ?? '';
}

/** Endpoint text without an IPv6 zone: the wireguard-go of Debian prints "[fe80::b]:PORT" where wg prints "%veth0". */
function unzoned(endpoint: string): string {
  return endpoint.replace(/%[^\]]*\]/, ']');
}

async function statsOf(side: Side): Promise<Record<string, number>> {
  const r = await run(side.ns, process.execPath, [CLI, 'show', side.ifname, '--json']);
  return (JSON.parse(r.stdout) as { interfaces: Array<{ stats?: Record<string, number> }> }).interfaces[0]!.stats ?? {};
}

/** b (tunvpn) up, then a (the initiator) up with Endpoint = b's contacted address; one ping a → b. */
async function start(t: ExecutionContext, p: Pair, initiator: Initiator) {
  const atB = await upQuick(t, p.b, quickConf(p.dir, p.b, p.a, PORT_B));
  const atA = initiator === 'tunvpn'
    ? await upQuick(t, p.a, quickConf(p.dir, p.a, p.b, PORT_A, p.endpoint(p.contacted)))
    : await uapiDaemon(t, p.a, p.b, p.dir, ['wireguard-go', '-f'], PORT_A, p.endpoint(p.contacted));
  await pingOnce(t, p.a, p.b);
  return [atA, atB];
}

async function stop(t: ExecutionContext, daemons: Array<Awaited<ReturnType<typeof upQuick>>>): Promise<void> {
  for (const d of daemons) {
    d.child.kill('SIGTERM');
    t.is(await waitExit(d.child), 0, d.out.text());
  }
}

for (const [initiator, underlay] of [
  ['tunvpn', 'ipv4'], ['wireguard-go', 'ipv4'], ['tunvpn', 'link-local'], ['wireguard-go', 'link-local'],
] as const) {
  rootTest(`${initiator} → tunvpn over ${underlay}: tunvpn answers from the address it was contacted on`, async (t) => {
    const p = twoAddressPair(t, underlay === 'ipv4' ? 'ss4' : 'ss6', underlay);
    const daemons = await start(t, p, initiator);
    await pingOnce(t, p.b, p.a);
    await pingOnce(t, p.a, p.b);
    const shown = await endpointOf(t, p.a);
    const expected = p.endpoint(p.contacted);
    // Debian's wireguard-go prints no zone ("[fe80::b]:PORT"): there the address and port are compared.
    if (initiator === 'tunvpn') t.is(shown, expected, `a did not roam to b's ${p.preferred}`);
    else t.is(unzoned(shown), unzoned(expected), `a did not roam to b's ${p.preferred}`);
    t.is((await statsOf(p.b)).sourcesCleared, 0);
    await stop(t, daemons);
  });
}

rootTest('the contacted address goes away: tunvpn sends from the kernel\'s choice, counts it, and the tunnel keeps working', async (t) => {
  const p = twoAddressPair(t, 'ssgone', 'ipv4');
  const daemons = await start(t, p, 'tunvpn');
  t.is(await endpointOf(t, p.a), p.endpoint(p.contacted));
  ip(p.b.ns, 'address', 'del', `${p.contacted}/${p.bits}`, 'dev', 'veth0');
  // b speaks first: its remembered source is refused, the ping leaves from the address that is left, a follows.
  await pingOnce(t, p.b, p.a);
  t.is(await endpointOf(t, p.a), p.endpoint(p.preferred));
  t.true((await statsOf(p.b)).sourcesCleared! >= 1, 'b forgot the source it could no longer use');
  await pingOnce(t, p.a, p.b);
  await pingOnce(t, p.b, p.a);
  t.is(await endpointOf(t, p.a), p.endpoint(p.preferred));
  await stop(t, daemons);
});
