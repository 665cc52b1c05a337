/**
 * Hostile datagrams at tunvpn's UDP port. With the tunnel a ⇄ b up (topology.ts), a Node script in namespace c
 * (on the LAN behind b, a host that is no peer) sends 20,000 datagrams to b's listen port:
 *
 *   - random bytes, 0..1500 long;
 *   - initiation (148), response (92) and cookie reply (64) sized messages with valid type bytes and garbage MACs,
 *     and the same types at one byte too short or too long, or with non-zero reserved bytes;
 *   - transport messages (type 4) shorter than header + tag, and well-formed ones for unknown receiver indices;
 *   - unknown message types.
 *
 * Afterwards the daemon still runs, its resident memory grew by less than a bound far below what a leak per
 * datagram would cost, it logged no error, and the tunnel still carries pings.
 */
import { buildTopology, isAlive, ping, pingUntilReply, rssKiB, run, sleep, startEnd, stopDaemon, tunvpnShow, TUNVPN_FILES } from './topology.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const why = skipReason({ root: true, files: TUNVPN_FILES, commands: ['ip', 'wg', 'ping'] });
const maybe = testWhen(why, { concurrent: true });

const DATAGRAMS = 20_000;
/** RSS growth allowed over the whole flood (KiB): noise and JIT are far below, 5 KiB leaked per datagram is above. */
const RSS_GROWTH_BOUND_KIB = 100 * 1024;
/** Time (ms) for the daemon to drain its socket after the flood. */
const DRAIN_MS = 1_000;
/** pino's numeric level for `error`; `fatal` is above it. */
const PINO_ERROR_LEVEL = 50;

/**
 * The sender, run with `node --input-type=module -e SCRIPT HOST PORT COUNT` inside c. It cycles through the kinds
 * above, sends in chunks and waits for each chunk's callbacks, so the daemon sees most datagrams rather than the
 * kernel dropping them at a full socket buffer. Prints {"sent": N, "kinds": K}.
 */
const SENDER = String.raw`
import dgram from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
const [host, portText, countText] = process.argv.slice(1);
const port = Number(portText), count = Number(countText);
const MAX = 1500, HEADER = 16, TAG = 16;
const typed = (type, len) => { const b = randomBytes(len); if (len > 0) b[0] = type; b.fill(0, 1, Math.min(4, len)); return b; };
const kinds = [
  () => randomBytes(randomInt(0, MAX + 1)),
  () => typed(1, 148),
  () => typed(2, 92),
  () => typed(3, 64),
  () => typed(1, 147 + 2 * randomInt(0, 2)),
  () => typed(2, 91 + 2 * randomInt(0, 2)),
  () => typed(3, 63 + 2 * randomInt(0, 2)),
  () => { const b = typed(1 + randomInt(0, 4), [148, 92, 64, 32][randomInt(0, 4)]); b[1 + randomInt(0, 3)] = 1 + randomInt(0, 255); return b; },
  () => typed(4, randomInt(0, HEADER + TAG)),
  () => typed(4, randomInt(HEADER + TAG, MAX + 1)),
  () => typed(4, HEADER + TAG),
  () => typed([0, 5, 6, 7, 42, 128, 255][randomInt(0, 7)], randomInt(1, 200)),
];
const sock = dgram.createSocket('udp4');
const CHUNK = 200;
let sent = 0;
while (sent < count) {
  const n = Math.min(CHUNK, count - sent);
  await Promise.all(Array.from({ length: n }, (_, i) => new Promise((resolve, reject) =>
    sock.send(kinds[(sent + i) % kinds.length](), port, host, (err) => (err ? reject(err) : resolve())))));
  sent += n;
  await new Promise((resolve) => setTimeout(resolve, 1));
}
sock.close();
console.log(JSON.stringify({ sent, kinds: kinds.length }));
`;

/** The kernel's UDP counters in namespace `ns` (/proc/net/snmp), e.g. InDatagrams, RcvbufErrors. */
async function udpCounters(ns: string): Promise<Record<string, number>> {
  const r = await run(ns, 'cat', ['/proc/net/snmp']);
  const [names, values] = r.stdout.split('\n').filter((l) => l.startsWith('Udp: '));
  if (!names || !values) throw new Error(`no Udp lines in /proc/net/snmp of ${ns}`);
  const keys = names.split(/\s+/).slice(1);
  const nums = values.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(keys.map((k, i) => [k, nums[i]!]));
}

function errorLines(output: string): string[] {
  return output.split('\n').filter((line) => {
    try {
      return (JSON.parse(line) as { level?: number }).level! >= PINO_ERROR_LEVEL;
    } catch {
      return false;
    }
  });
}

/** Datagrams from the real peer a (pings, keepalives) among those b's UDP stack counted. */
const LEGIT_DATAGRAMS_SLACK = 100;

maybe(`20,000 hostile datagrams: the daemon survives, memory stays bounded, the tunnel still works`, async (t) => {
  const topo = await buildTopology(t, { purpose: 'hos' });
  const b = await startEnd(topo, 'b');
  const a = await startEnd(topo, 'a');
  await pingUntilReply(topo.ns.a, topo.tunnel.b);

  const udpBefore = await udpCounters(topo.ns.b);
  const rssBefore = rssKiB(b.pid);
  const logBefore = b.output().length;
  const flood = await run(topo.ns.c, process.execPath, ['--input-type=module', '-e', SENDER, topo.lan.b, String(topo.port.b), String(DATAGRAMS)], 120_000);
  t.is(flood.code, 0, flood.stderr);
  t.is((JSON.parse(flood.stdout) as { sent: number }).sent, DATAGRAMS);
  await sleep(DRAIN_MS);
  const udpAfter = await udpCounters(topo.ns.b);
  const delivered = (udpAfter.InDatagrams ?? 0) - (udpBefore.InDatagrams ?? 0);
  const overflowed = (udpAfter.RcvbufErrors ?? 0) - (udpBefore.RcvbufErrors ?? 0);
  t.log(`b's UDP: ${delivered} datagrams queued to sockets, ${overflowed} dropped at a full buffer`);
  // Every datagram reached b's UDP stack, and the daemon's socket got (at least some of) them.
  t.true(delivered > 0 && delivered + overflowed >= DATAGRAMS, `queued ${delivered}, overflowed ${overflowed}`);

  t.true(isAlive(b.pid), `daemon died:\n${b.output()}`);
  t.is(b.child.exitCode, null);
  const rssAfter = rssKiB(b.pid);
  t.log(`RSS ${rssBefore} KiB → ${rssAfter} KiB`);
  t.true(rssAfter - rssBefore < RSS_GROWTH_BOUND_KIB, `RSS grew by ${rssAfter - rssBefore} KiB`);
  t.deepEqual(errorLines(b.output().slice(logBefore)), [], 'the daemon logged errors for hostile input');

  // The session survives: pings both ways, to the LAN behind b too.
  const toB = await ping(topo.ns.a, topo.tunnel.b, 3);
  t.is(toB.received, 3, toB.output);
  const toC = await ping(topo.ns.a, topo.lan.c, 3);
  t.is(toC.received, 3, toC.output);
  const fromB = await ping(topo.ns.b, topo.tunnel.a, 3);
  t.is(fromB.received, 3, fromB.output);

  // The hostile host became no peer's endpoint: b's peer is still a at a's underlay address.
  const shown = await tunvpnShow(topo.ns.b, b.ifname);
  const iface = shown.interfaces[0]!;
  t.is(iface.peers.length, 1);
  t.is(iface.peers[0]!.endpoint, `${topo.underlay.a}:${topo.port.a}`);
  // Every hostile datagram that reached the daemon was dropped and counted under a reason (tunvpn's stats=1).
  const stats = iface.stats ?? {};
  const dropped = Object.entries(stats)
    .filter(([k]) => k.startsWith('dropped.'))
    .reduce((sum, [, n]) => sum + n, 0);
  t.log(`drop counters: ${JSON.stringify(stats)}`);
  t.true(dropped >= delivered - LEGIT_DATAGRAMS_SLACK, `dropped ${dropped} of ${delivered} delivered`);
  t.true(dropped <= (stats.datagrams ?? 0));

  for (const d of [a, b]) t.is(await stopDaemon(d), 0, d.output());
});
