/**
 * A TCP transfer through two in-process devices on real TUN devices and UDP sockets, in namespaces this test
 * creates (root + addon; otherwise skipped), once with offloads (TSO/GRO on the TUN, GSO/GRO on UDP) and once
 * without. A checksum slip in the split or the coalescing would stall or corrupt the stream, so the receiver's
 * SHA-256 of what arrived must equal the sender's.
 *
 *   ns A: [node client] → tvoa 10.155.0.1 ═ device A ═ veth 192.168.177.1 ──── veth 192.168.177.2 ═ device B ═
 *         tvob 10.155.0.2 → [node server] :5555 in ns B
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { Endpoint } from '../../src/net/endpoint.js';
import { NativeBind } from '../../src/conn/native-bind.js';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { Device } from '../../src/device/device.js';
import { nativeNetns } from '../../src/native/netns.js';
import { LinuxTun } from '../../src/tun/linux-tun.js';
import { parsePrefix, type Prefix } from '../../src/net/ip.js';
import { systemRng } from '../../src/crypto/random.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const TRANSFER_BYTES = 6 << 20;
const PORT = 5555;
const GUARD_MS = 60_000; // turns a stalled transfer into a failure; nothing asserts on time

const why = skipReason({ root: true, addon: true });

const P = (s: string): Prefix => parsePrefix(s)!;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

// Both scripts hash with SHA-256 and print one JSON line; the client's data is a deterministic byte pattern.
const SERVER = `
const net = require('node:net'), { createHash } = require('node:crypto');
const srv = net.createServer((s) => {
  const h = createHash('sha256'); let bytes = 0;
  s.on('data', (d) => { bytes += d.length; h.update(d); });
  s.on('end', () => { console.log(JSON.stringify({ bytes, sha: h.digest('hex') })); s.end(); srv.close(); });
});
srv.listen(${PORT}, '10.155.0.2', () => console.log('ready'));`;
const CLIENT = `
const net = require('node:net'), { createHash } = require('node:crypto');
const total = ${TRANSFER_BYTES}, chunk = Buffer.alloc(64 * 1024), h = createHash('sha256');
let sent = 0;
const s = net.connect(${PORT}, '10.155.0.2', () => {
  const pump = () => {
    while (sent < total) {
      for (let i = 0; i < chunk.length; i++) chunk[i] = (sent + i) * 2654435761 >>> 24;
      const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
      h.update(part); sent += part.length;
      if (!s.write(Buffer.from(part))) return s.once('drain', pump);
    }
    s.end();
    console.log(JSON.stringify({ bytes: sent, sha: h.digest('hex') }));
  };
  pump();
});
s.on('data', () => {});`;

interface Run {
  out: string;
  done: Promise<number>;
  kill: () => void;
}

function nodeIn(ns: string, script: string): Run {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = {
    out: '',
    done: new Promise((resolve) => child.on('close', (code) => resolve(code ?? -1))),
    kill: () => child.kill('SIGKILL'),
  };
  child.stdout.on('data', (d: Buffer) => (run.out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (run.out += d.toString()));
  return run;
}

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + GUARD_MS;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function transfer(t: ExecutionContext, offload: boolean): Promise<void> {
  const n = nativeNetns();
  const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const ns = { a: `tv-offa-${tag}`, b: `tv-offb-${tag}` };
  const path = { a: `/run/netns/${ns.a}`, b: `/run/netns/${ns.b}` };
  for (const side of ['a', 'b'] as const) {
    n.netnsCreate(path[side]);
    t.teardown(() => n.netnsDelete(path[side]));
    ip('-n', ns[side], 'link', 'set', 'lo', 'up');
  }
  ip('-n', ns.a, 'link', 'add', 'tvva', 'type', 'veth', 'peer', 'name', 'tvvb', 'netns', ns.b);
  ip('-n', ns.a, 'addr', 'add', '192.168.177.1/24', 'dev', 'tvva');
  ip('-n', ns.b, 'addr', 'add', '192.168.177.2/24', 'dev', 'tvvb');
  ip('-n', ns.a, 'link', 'set', 'tvva', 'up');
  ip('-n', ns.b, 'link', 'set', 'tvvb', 'up');

  const keys = { a: generatePrivateKey(systemRng), b: generatePrivateKey(systemRng) };
  const make = (side: 'a' | 'b') => {
    const tun = LinuxTun.open({ name: `tvo${side}`, netnsPath: path[side], offload, mtu: 1420 });
    const bind = new NativeBind({ netnsPath: path[side], offload, ipv6: false });
    const device = new Device({ tun, bind, privateKey: keys[side] });
    t.teardown(() => device.close());
    return { tun, bind, device };
  };
  const a = make('a');
  const b = make('b');
  const portB = await b.device.start();
  await a.device.start();
  a.device.setPeer({ publicKey: publicKeyOf(keys.b), allowedIPs: [P('10.155.0.2/32')], endpoint: Endpoint.fromString(`192.168.177.2:${portB}`) });
  b.device.setPeer({ publicKey: publicKeyOf(keys.a), allowedIPs: [P('10.155.0.1/32')] });
  for (const side of ['a', 'b'] as const) {
    const dev = `tvo${side}`;
    ip('-n', ns[side], 'addr', 'add', side === 'a' ? '10.155.0.1/24' : '10.155.0.2/24', 'dev', dev);
    ip('-n', ns[side], 'link', 'set', dev, 'mtu', '1420', 'up');
  }
  t.is(a.tun.offload, offload);
  t.is(b.tun.offload, offload);
  t.is(a.bind.offloads[0]!.gso, offload);
  t.is(b.bind.offloads[0]!.gro, offload);

  const server = nodeIn(ns.b, SERVER);
  t.teardown(server.kill);
  await until('the server to listen', () => server.out.includes('ready'));
  const client = nodeIn(ns.a, CLIENT);
  t.teardown(client.kill);
  const guard = setTimeout(() => {
    client.kill();
    server.kill();
  }, GUARD_MS);
  t.teardown(() => clearTimeout(guard));
  const [clientCode, serverCode] = await Promise.all([client.done, server.done]);
  t.is(clientCode, 0, client.out);
  t.is(serverCode, 0, server.out);
  const sent = JSON.parse(client.out.trim().split('\n').pop()!) as { bytes: number; sha: string };
  const got = JSON.parse(server.out.trim().split('\n').pop()!) as { bytes: number; sha: string };
  t.is(sent.bytes, TRANSFER_BYTES);
  t.deepEqual(got, sent);
  t.log(`offloads ${offload ? 'on' : 'off'}: A read ${a.tun.stats.read} packets from its TUN, B wrote ${b.tun.stats.written}; ` +
    `datagrams A sent ${a.bind.stats.sent}, B received ${b.bind.stats.received}`);
}

for (const offload of [true, false]) {
  const title = `a ${TRANSFER_BYTES >> 20} MiB TCP transfer through the tunnel arrives intact with offloads ${offload ? 'on' : 'off'}`;
  testWhen(why)(title, (t) => transfer(t, offload));
}
