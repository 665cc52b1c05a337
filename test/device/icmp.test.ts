/**
 * ICMP destination unreachable for packets that route to no peer: the reply builder on its own (which packets it
 * answers and how), then through a Device on MemoryTun/MemoryNetwork (what reaches the TUN, and the rate limit).
 * Checksums are verified with a routine written here, independent of src/packet/checksum.ts.
 */
import test, { type ExecutionContext } from 'ava';
import { MemoryNetwork } from '../../src/conn/memory-bind.js';
import { Endpoint } from '../../src/net/endpoint.js';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { Device } from '../../src/device/device.js';
import { ICMP_UNREACHABLE_BURST, ICMP_UNREACHABLE_PER_S, UnreachableReplies } from '../../src/device/icmp.js';
import { silentLogger } from '../../src/log.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { buildIcmpEcho, buildUdp } from '../helpers/packets.js';
import { parsePrefix, type Prefix } from '../../src/net/ip.js';
import { systemRng } from '../../src/crypto/random.js';
import { until } from '../helpers/wait.js';

const P = (s: string): Prefix => parsePrefix(s)!;

/** RFC 1071 the slow, obvious way: 16-bit big-endian words, end-around carry, over any number of parts. */
function onesComplementSum(...parts: Uint8Array[]): number {
  const bytes: number[] = [];
  for (const p of parts) bytes.push(...p);
  if (bytes.length % 2 === 1) bytes.push(0);
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += bytes[i]! * 256 + bytes[i + 1]!;
    sum = (sum & 0xffff) + Math.floor(sum / 65536);
  }
  return sum;
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

/** Checks an IPv4 host-unreachable reply to `original`; returns the quoted bytes. */
function checkV4Reply(t: ExecutionContext, reply: Uint8Array, original: Uint8Array): Uint8Array {
  t.is(reply[0], 0x45, 'IPv4, 20-byte header');
  t.is(u16(reply, 2), reply.length, 'total length');
  t.is(reply[9], 1, 'protocol ICMP');
  t.true(reply[8]! > 0, 'a TTL');
  t.is(onesComplementSum(reply.subarray(0, 20)), 0xffff, 'IPv4 header checksum');
  t.deepEqual(reply.subarray(12, 16), original.subarray(16, 20), 'from the unreachable destination');
  t.deepEqual(reply.subarray(16, 20), original.subarray(12, 16), 'to the original sender');
  const icmp = reply.subarray(20);
  t.is(icmp[0], 3, 'destination unreachable');
  t.is(icmp[1], 1, 'host unreachable');
  t.deepEqual(icmp.subarray(4, 8), new Uint8Array(4), 'unused field is zero');
  t.is(onesComplementSum(icmp), 0xffff, 'ICMP checksum');
  const ihl = (original[0]! & 0x0f) * 4;
  const quote = icmp.subarray(8);
  t.deepEqual(quote, original.subarray(0, Math.min(original.length, ihl + 8)), 'IP header + 8 bytes quoted');
  return quote;
}

/** Checks an IPv6 address-unreachable reply to `original`; returns the quoted bytes. */
function checkV6Reply(t: ExecutionContext, reply: Uint8Array, original: Uint8Array): Uint8Array {
  t.is(reply[0]! >> 4, 6);
  t.is(u16(reply, 4), reply.length - 40, 'payload length');
  t.is(reply[6], 58, 'next header ICMPv6');
  t.true(reply[7]! > 0, 'a hop limit');
  t.deepEqual(reply.subarray(8, 24), original.subarray(24, 40), 'from the unreachable destination');
  t.deepEqual(reply.subarray(24, 40), original.subarray(8, 24), 'to the original sender');
  t.true(reply.length <= 1280, 'within the IPv6 minimum MTU');
  const icmp = reply.subarray(40);
  t.is(icmp[0], 1, 'destination unreachable');
  t.is(icmp[1], 3, 'address unreachable');
  t.deepEqual(icmp.subarray(4, 8), new Uint8Array(4));
  const pseudo = new Uint8Array(40);
  pseudo.set(reply.subarray(8, 40), 0);
  pseudo[34] = icmp.length >> 8;
  pseudo[35] = icmp.length & 0xff;
  pseudo[39] = 58;
  t.is(onesComplementSum(pseudo, icmp), 0xffff, 'ICMPv6 checksum over the pseudo-header');
  const quote = icmp.subarray(8);
  t.deepEqual(quote, original.subarray(0, Math.min(original.length, 1280 - 48)), 'as much of the packet as fits');
  return quote;
}

/** Runs `packet` through a fresh builder; returns the replies written to a MemoryTun. */
function answer(packet: Uint8Array): { outcome: string; written: Uint8Array[] } {
  const tun = new MemoryTun();
  const r = new UnreachableReplies(4);
  const outcome = r.answer(packet, 0, packet.length, 0, tun);
  r.flush(tun);
  return { outcome, written: tun.takeWritten() };
}

/* ---------------- the builder ---------------- */

test('IPv4: a UDP packet gets a host unreachable quoting its header and 8 bytes', (t) => {
  const udp = buildUdp({ src: '10.0.0.1', dst: '10.9.9.9', srcPort: 4444, dstPort: 53, payload: new Uint8Array(100).fill(7) });
  const { outcome, written } = answer(udp);
  t.is(outcome, 'queued');
  t.is(written.length, 1);
  t.is(written[0]!.length, 20 + 8 + 28);
  checkV4Reply(t, written[0]!, udp);
});

test('IPv4 with options: the whole header is quoted', (t) => {
  const base = buildUdp({ src: '10.0.0.1', dst: '10.9.9.9', srcPort: 1, dstPort: 2, payload: new Uint8Array(20).fill(9) });
  const withOpts = new Uint8Array(base.length + 8);
  withOpts.set(base.subarray(0, 20), 0);
  withOpts.set([1, 1, 1, 1, 1, 1, 1, 0], 20); // NOPs + end of options
  withOpts.set(base.subarray(20), 28);
  withOpts[0] = 0x47;
  withOpts[2] = withOpts.length >> 8;
  withOpts[3] = withOpts.length & 0xff;
  const { written } = answer(withOpts);
  t.is(written.length, 1);
  t.is(checkV4Reply(t, written[0]!, withOpts).length, 28 + 8);
});

test('IPv6: an address unreachable quoting the whole packet, or as much as fits in 1280 bytes', (t) => {
  const small = buildUdp({ src: 'fd00::1', dst: 'fd99::9', srcPort: 1, dstPort: 2, payload: new Uint8Array(100).fill(3) });
  const a = answer(small);
  t.is(a.outcome, 'queued');
  t.is(checkV6Reply(t, a.written[0]!, small).length, small.length);
  const big = buildUdp({ src: 'fd00::1', dst: 'fd99::9', srcPort: 1, dstPort: 2, payload: new Uint8Array(1400).map((_, i) => i) });
  const b = answer(big);
  t.is(b.written[0]!.length, 1280);
  t.is(checkV6Reply(t, b.written[0]!, big).length, 1280 - 48);
});

test('echo requests to nowhere are answered; ICMP errors never are', (t) => {
  const ping4 = buildIcmpEcho({ src: '10.0.0.1', dst: '10.9.9.9', id: 1, seq: 1 });
  t.is(answer(ping4).written.length, 1);
  const ping6 = buildIcmpEcho({ src: 'fd00::1', dst: 'fd99::9', id: 1, seq: 1 });
  t.is(answer(ping6).written.length, 1);
  for (const type of [3, 4, 5, 11, 12, 42]) {
    const err = buildIcmpEcho({ src: '10.0.0.1', dst: '10.9.9.9', id: 1, seq: 1 });
    err[20] = type;
    t.deepEqual(answer(err), { outcome: 'ineligible', written: [] }, `ICMPv4 type ${type}`);
  }
  for (const type of [1, 2, 3, 4, 127]) {
    const err = buildIcmpEcho({ src: 'fd00::1', dst: 'fd99::9', id: 1, seq: 1 });
    err[40] = type;
    t.deepEqual(answer(err), { outcome: 'ineligible', written: [] }, `ICMPv6 type ${type}`);
  }
  // An ICMPv6 error behind a hop-by-hop options header is still an error.
  const hbh = new Uint8Array(40 + 8 + 8);
  hbh.set(buildIcmpEcho({ src: 'fd00::1', dst: 'fd99::9', id: 1, seq: 1 }).subarray(0, 40));
  hbh[4] = 0;
  hbh[5] = 16;
  hbh[6] = 0; // hop-by-hop
  hbh[40] = 58; // then ICMPv6
  hbh[41] = 0; // 8 bytes long
  hbh[48] = 1; // destination unreachable
  t.deepEqual(answer(hbh), { outcome: 'ineligible', written: [] });
  hbh[48] = 128; // an echo request behind the same header is answered
  t.is(answer(hbh).outcome, 'queued');
});

test('multicast, broadcast, unspecified or loopback addresses, later fragments and garbage get no reply', (t) => {
  const v4 = (src: string, dst: string) => buildUdp({ src, dst, srcPort: 1, dstPort: 2, payload: new Uint8Array(8) });
  const v6 = v4;
  const cases: Array<[string, Uint8Array]> = [
    ['v4 multicast destination', v4('10.0.0.1', '224.0.0.251')],
    ['v4 broadcast destination', v4('10.0.0.1', '255.255.255.255')],
    ['v4 unspecified source', v4('0.0.0.0', '10.9.9.9')],
    ['v4 loopback source', v4('127.0.0.1', '10.9.9.9')],
    ['v4 multicast source', v4('239.1.1.1', '10.9.9.9')],
    ['v6 multicast destination', v6('fe80::1', 'ff02::fb')],
    ['v6 unspecified source', v6('::', 'fd99::9')],
    ['v6 loopback source', v6('::1', 'fd99::9')],
    ['v6 multicast source', v6('ff02::1', 'fd99::9')],
  ];
  const fragment = v4('10.0.0.1', '10.9.9.9');
  fragment[6] = 0x00;
  fragment[7] = 0x10; // offset 16 × 8 bytes
  cases.push(['a later IPv4 fragment', fragment]);
  const truncated = v4('10.0.0.1', '10.9.9.9');
  cases.push(['a length field beyond the bytes', truncated.subarray(0, truncated.length - 1)]);
  cases.push(['not IP', new Uint8Array(40).fill(0x11)]);
  cases.push(['empty', new Uint8Array(0)]);
  for (const [what, packet] of cases) t.deepEqual(answer(packet), { outcome: 'ineligible', written: [] }, what);
  // A first fragment (offset 0, more fragments) is answered.
  const first = v4('10.0.0.1', '10.9.9.9');
  first[6] = 0x20;
  first[7] = 0;
  t.is(answer(first).written.length, 1);
  t.is(answer(v6('fe80::1', 'fd99::9')).written.length, 1, 'a link-local source is an ordinary unicast sender');
});

test('the builder writes a full batch out and keeps going; replies are rate limited', (t) => {
  const tun = new MemoryTun();
  const r = new UnreachableReplies(4, 100, 10);
  const p = buildUdp({ src: '10.0.0.1', dst: '10.9.9.9', srcPort: 1, dstPort: 2, payload: new Uint8Array(8) });
  const outcomes = Array.from({ length: 15 }, () => r.answer(p, 0, p.length, 1000, tun));
  t.is(tun.takeWritten().length, 8, 'two full batches of 4 were written while building');
  t.is(r.flush(tun), 2);
  t.is(tun.takeWritten().length, 2);
  t.is(outcomes.filter((o) => o === 'queued').length, 10);
  t.is(outcomes.filter((o) => o === 'rateLimited').length, 5);
  t.is(r.answer(p, 0, p.length, 1009, tun), 'rateLimited', '100/s: 10 ms per reply');
  t.is(r.answer(p, 0, p.length, 1010, tun), 'queued');
});

/* ---------------- through a device ---------------- */

async function device(t: ExecutionContext) {
  const net = new MemoryNetwork();
  const tun = new MemoryTun({ name: 'icmp' });
  let now = 1_000_000;
  const dev = new Device({
    tun, bind: net.createBind('192.0.2.1'), privateKey: generatePrivateKey(systemRng), listenPort: 51820, log: silentLogger,
    clock: () => now,
  });
  dev.setPeer({
    publicKey: publicKeyOf(generatePrivateKey(systemRng)),
    allowedIPs: [P('10.0.0.2/32'), P('fd00::2/128')],
    endpoint: Endpoint.fromString('192.0.2.2:51821'),
  });
  await dev.start();
  t.teardown(() => dev.close());
  return { dev, tun, advance: (ms: number) => { now += ms; } };
}

test('device: unrouted IPv4 and IPv6 packets are answered through the TUN', async (t) => {
  const { dev, tun } = await device(t);
  const v4 = buildUdp({ src: '10.0.0.1', dst: '10.9.9.9', srcPort: 1000, dstPort: 2000, payload: new Uint8Array(64).fill(1) });
  const v6 = buildUdp({ src: 'fd00::1', dst: 'fd99::9', srcPort: 1000, dstPort: 2000, payload: new Uint8Array(64).fill(2) });
  tun.inject([v4, v6]);
  checkV4Reply(t, await tun.nextWritten(), v4);
  checkV6Reply(t, await tun.nextWritten(), v6);
  t.is(dev.stats.noRoute, 2);
  t.is(dev.stats.icmpUnreachable, 2);
  t.is(dev.stats.sent, 0, 'nothing went to the network');
});

test('device: an ICMP error to nowhere produces nothing', async (t) => {
  const { dev, tun } = await device(t);
  const err4 = buildIcmpEcho({ src: '10.0.0.1', dst: '10.9.9.9', id: 1, seq: 1 });
  err4[20] = 3;
  const err6 = buildIcmpEcho({ src: 'fd00::1', dst: 'fd99::9', id: 1, seq: 1 });
  err6[40] = 1;
  tun.inject([err4, err6]);
  await until(() => dev.stats.noRoute === 2);
  t.deepEqual(tun.takeWritten(), []);
  t.is(dev.stats.icmpUnreachable, 0);
  t.is(dev.stats.icmpRateLimited, 0);
});

test('device: unreachable replies are rate limited per device', async (t) => {
  const { dev, tun, advance } = await device(t);
  const flood = Array.from({ length: 200 }, (_, i) =>
    buildUdp({ src: '10.0.0.1', dst: `10.9.${i >> 8}.${i & 0xff}`, srcPort: 1, dstPort: 2, payload: new Uint8Array(8) }));
  tun.inject(flood); // the device clock stands still: only the burst gets through
  await until(() => dev.stats.noRoute === 200);
  t.is(tun.takeWritten().length, ICMP_UNREACHABLE_BURST);
  t.is(dev.stats.icmpUnreachable, ICMP_UNREACHABLE_BURST);
  t.is(dev.stats.icmpRateLimited, 200 - ICMP_UNREACHABLE_BURST);
  const msFor10 = (10 * 1000) / ICMP_UNREACHABLE_PER_S;
  advance(msFor10);
  tun.inject(flood.slice(0, 30));
  await until(() => dev.stats.noRoute === 230);
  t.is(tun.takeWritten().length, 10, 'the rate refills the bucket');
  t.is(dev.stats.icmpUnreachable, ICMP_UNREACHABLE_BURST + 10);
});

test('device: the host\'s own link-scope traffic (fe80:: source, multicast destination) with no peer is counted apart, not as noRoute, and never answered', async (t) => {
  const { dev, tun } = await device(t);
  // The kernel's router solicitation from the TUN's link-local address (ICMPv6 type 133 to ff02::2), an MLD-like
  // packet to a multicast group, mDNS to 224.0.0.251, and a link-local unicast to another link-local address.
  const rs = buildIcmpEcho({ src: 'fe80::1', dst: 'ff02::2', id: 0, seq: 0 });
  rs[40] = 133;
  const group6 = buildUdp({ src: 'fd00::1', dst: 'ff05::fb', srcPort: 5353, dstPort: 5353, payload: new Uint8Array(8) });
  const mdns4 = buildUdp({ src: '10.0.0.1', dst: '224.0.0.251', srcPort: 5353, dstPort: 5353, payload: new Uint8Array(8) });
  const ll = buildUdp({ src: 'febf::1', dst: 'fe80::2', srcPort: 1, dstPort: 2, payload: new Uint8Array(8) });
  // Not link scope: fec0:: lies outside fe80::/10, so it is the user's, dropped and answered as before.
  const user = buildUdp({ src: 'fec0::1', dst: 'fd99::9', srcPort: 1, dstPort: 2, payload: new Uint8Array(8) });
  tun.inject([rs, group6, mdns4, ll, user]);
  await until(() => dev.stats.noRouteHost + dev.stats.noRoute === 5);
  t.is(dev.stats.noRouteHost, 4);
  t.is(dev.stats.noRoute, 1, 'only the user\'s packet is a drop');
  const written = tun.takeWritten();
  t.is(written.length, 1, 'one unreachable, to the user\'s packet only');
  t.is(dev.stats.icmpUnreachable, 1);
  t.is(dev.stats.icmpRateLimited, 0);
  t.is(dev.stats.sent, 0);
});
