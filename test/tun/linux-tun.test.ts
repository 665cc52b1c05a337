/**
 * LinuxTun inside a network namespace this test creates (root + addon; otherwise skipped with the reason in the
 * title). Topology, all inside tv-tun-<pid>-<rand>:
 *
 *   socket 10.77.0.1 / fd77::1 ──(kernel routes 10.77.0.0/24, fd77::/64)── tvt0 ══ fd ══ this test (the "device")
 *
 * The kernel is the checksum oracle here: it drops UDP/ICMP packets with bad checksums, so a packet built by
 * test/helpers/packets.ts reaching a socket, or an echo request being answered, proves the builders right.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { PacketBatch } from '../../src/packet/batch.js';
import { Endpoint } from '../../src/net/endpoint.js';
import { NativeBind } from '../../src/conn/native-bind.js';
import { nativeNetns } from '../../src/native/netns.js';
import { nativeTun } from '../../src/native/tun.js';
import { LinuxTun } from '../../src/tun/linux-tun.js';
import { buildIcmpEcho, buildUdp, parseIpPacket, type ParsedTransport } from '../helpers/packets.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const TUN_NAME = 'tvt0';
const NS_ADDR4 = '10.77.0.1';
const PEER_ADDR4 = '10.77.0.2';
const NS_ADDR6 = 'fd77::1';
const PEER_ADDR6 = 'fd77::2';
const WAIT_MS = 5_000;

const why = skipReason({ root: true, addon: true });
const nsTest = testWhen(why);

interface Lab {
  ns: string;
  path: string;
  tun: LinuxTun;
  /** Every packet the TUN read, parsed. */
  packets: ParsedTransport[];
  batchSizes: number[];
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A namespace with the TUN configured and started; removed on teardown, also on failure. */
function makeLab(t: ExecutionContext, offload = true): Lab {
  const n = nativeNetns();
  const ns = `tv-tun-${process.pid}-${randomBytes(3).toString('hex')}`;
  const path = `/run/netns/${ns}`;
  n.netnsCreate(path);
  t.teardown(() => n.netnsDelete(path));
  const tun = LinuxTun.open({ name: TUN_NAME, netnsPath: path, batchSize: 64, mtu: 1420, offload });
  t.is(tun.offload, offload);
  t.teardown(() => tun.close());
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', ns, 'addr', 'add', `${NS_ADDR4}/24`, 'dev', TUN_NAME);
  ip('-n', ns, '-6', 'addr', 'add', `${NS_ADDR6}/64`, 'dev', TUN_NAME, 'nodad');
  ip('-n', ns, 'link', 'set', TUN_NAME, 'up');
  const lab: Lab = { ns, path, tun, packets: [], batchSizes: [] };
  tun.start((batch) => {
    lab.batchSizes.push(batch.count);
    for (let i = 0; i < batch.count; i++) {
      const p = parseIpPacket(batch.view(i));
      if (p) lab.packets.push({ ...p, body: p.body.slice() });
    }
  });
  return lab;
}

async function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const offload of [true, false]) {
const mode = offload ? 'offloads on' : 'offloads off';
nsTest(`UDP sent inside the namespace towards the TUN route arrives as a batch (${mode})`, async (t) => {
  const lab = makeLab(t, offload);
  t.is(lab.tun.name, TUN_NAME);
  const sender = new NativeBind({ netnsPath: lab.path, address4: NS_ADDR4, ipv6: false });
  t.teardown(() => sender.close());
  const port = await sender.open(0);
  const out = new PacketBatch(16, 256, { addrs: true });
  const to = Endpoint.fromString(`${PEER_ADDR4}:9999`);
  for (let i = 0; i < 16; i++) out.push(Uint8Array.of(i, 0xaa, 0xbb), 0, 3, to.slot);
  sender.send(out);
  const udp = await waitFor('16 UDP packets', () => {
    const got = lab.packets.filter((p) => p.protocol === 17 && p.dst === PEER_ADDR4);
    return got.length >= 16 ? got : undefined;
  });
  t.true(udp.every((p) => p.src === NS_ADDR4 && ((p.body[0]! << 8) | p.body[1]!) === port && ((p.body[2]! << 8) | p.body[3]!) === 9999));
  t.deepEqual(udp.map((p) => p.body[8]), Array.from({ length: 16 }, (_, i) => i));
  t.true(lab.batchSizes.some((n) => n > 1), `some wake-up read more than one packet: ${lab.batchSizes.join(',')}`);
  t.is(lab.tun.stats.read, lab.batchSizes.reduce((a, b) => a + b, 0));
});

nsTest(`packets written to the TUN are delivered: UDP to a socket, and echo requests are answered (${mode})`, async (t) => {
  const lab = makeLab(t, offload);
  const receiver = new NativeBind({ netnsPath: lab.path, address4: NS_ADDR4, ipv6: false });
  t.teardown(() => receiver.close());
  const port = await receiver.open(0);
  const got: Array<{ from: string; data: number[] }> = [];
  receiver.start((b) => {
    for (let i = 0; i < b.count; i++) got.push({ from: Endpoint.fromSlot(b.addrs!, i * 24).toString(), data: [...b.view(i)] });
  });
  const batch = new PacketBatch(10, 2048);
  for (let i = 0; i < 8; i++) {
    batch.push(buildUdp({ src: PEER_ADDR4, dst: NS_ADDR4, srcPort: 4000 + i, dstPort: port, payload: Uint8Array.of(i, i, i) }));
  }
  batch.push(buildIcmpEcho({ src: PEER_ADDR4, dst: NS_ADDR4, id: 0x77, seq: 1, payload: Uint8Array.of(1, 2, 3, 4) }));
  batch.push(buildIcmpEcho({ src: PEER_ADDR6, dst: NS_ADDR6, id: 0x66, seq: 2, payload: Uint8Array.of(5, 6) }));
  lab.tun.write(batch);
  t.is(lab.tun.stats.written, 10);
  await waitFor('8 datagrams', () => (got.length >= 8 ? got : undefined));
  t.deepEqual(got.map((g) => g.from), Array.from({ length: 8 }, (_, i) => `${PEER_ADDR4}:${4000 + i}`));
  t.deepEqual(got.map((g) => g.data), Array.from({ length: 8 }, (_, i) => [i, i, i]));
  const reply4 = await waitFor('an ICMP echo reply', () => lab.packets.find((p) => p.protocol === 1 && p.body[0] === 0));
  t.is(reply4.src, NS_ADDR4);
  t.is(reply4.dst, PEER_ADDR4);
  t.deepEqual([...reply4.body.subarray(4)], [0, 0x77, 0, 1, 1, 2, 3, 4]);
  const reply6 = await waitFor('an ICMPv6 echo reply', () => lab.packets.find((p) => p.protocol === 58 && p.body[0] === 129));
  t.is(reply6.src, NS_ADDR6);
  t.deepEqual([...reply6.body.subarray(4)], [0, 0x66, 0, 2, 5, 6]);
});
}

nsTest('a packet with a bad checksum is not delivered (the kernel oracle is real)', async (t) => {
  const lab = makeLab(t);
  const echo = buildIcmpEcho({ src: PEER_ADDR4, dst: NS_ADDR4, id: 9, seq: 9 });
  echo[echo.length - 1]! ^= 0xff; // corrupt the ICMP message, not the IP header
  const good = buildIcmpEcho({ src: PEER_ADDR4, dst: NS_ADDR4, id: 10, seq: 10 });
  const batch = new PacketBatch(2, 128);
  batch.push(echo);
  batch.push(good);
  lab.tun.write(batch);
  await waitFor('the reply to the good request', () => lab.packets.find((p) => p.protocol === 1 && p.body[0] === 0 && p.body[5] === 10));
  t.false(lab.packets.some((p) => p.protocol === 1 && p.body[0] === 0 && p.body[5] === 9));
});

nsTest('deleting the TUN link makes the Tun emit closed', async (t) => {
  const lab = makeLab(t);
  const closed = new Promise<string>((resolve) => lab.tun.once('closed', resolve));
  ip('-n', lab.ns, 'link', 'del', TUN_NAME);
  const reason = await Promise.race([closed, new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no closed event')), WAIT_MS))]);
  t.regex(reason, new RegExp(`the TUN device ${TUN_NAME} was deleted|was the TUN device ${TUN_NAME} deleted`));
  const b = new PacketBatch(1, 64);
  b.push(buildIcmpEcho({ src: PEER_ADDR4, dst: NS_ADDR4, id: 1, seq: 1 }));
  lab.tun.write(b);
  t.is(lab.tun.stats.writeDropped, 1, 'writes after close are dropped and counted');
});

nsTest('opening with a bad name fails with a clear error', async (t) => {
  t.throws(() => LinuxTun.open({ name: 'x'.repeat(16) }), { message: /longer than 15 bytes/ });
});

nsTest('offloads: on by default when the kernel takes them (IFF_VNET_HDR + TSO), off on request', async (t) => {
  const n = nativeNetns();
  const c = nativeTun().constants;
  const ns = `tv-tuno-${process.pid}-${randomBytes(3).toString('hex')}`;
  const path = `/run/netns/${ns}`;
  n.netnsCreate(path);
  t.teardown(() => n.netnsDelete(path));
  const on = LinuxTun.open({ name: 'tvo0', netnsPath: path });
  t.teardown(() => on.close());
  t.true(on.offload);
  t.is(on.offloadFlags & (c.TUN_F_CSUM | c.TUN_F_TSO4 | c.TUN_F_TSO6), c.TUN_F_CSUM | c.TUN_F_TSO4 | c.TUN_F_TSO6);
  const off = LinuxTun.open({ name: 'tvo1', netnsPath: path, offload: false });
  t.teardown(() => off.close());
  t.false(off.offload);
  t.is(off.offloadFlags, 0);
});
