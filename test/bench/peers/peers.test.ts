/**
 * The peers bench without root: its options, the table it prints, the idle peers' configuration, and the
 * simulator's packets (an echo request the kernel would answer, the reply it recognizes) and parsing.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_IDLE_PEERS, DEFAULT_SIMULATED_PEERS, parseBenchArgs, UsageExit, type BenchArgs } from '../../../bench/options.js';
import { idlePeersConfig } from '../../../bench/peers/peers.js';
import { formatPeersTable, summarizeScale, type PeersBenchReport } from '../../../bench/peers/report.js';
import { encodeKey, generatePrivateKey } from '../../../src/crypto/keys.js';
import { systemRng } from '../../../src/crypto/random.js';
import { internetChecksum } from '../../../src/packet/checksum.js';
import { echoRequest, isEchoReply, parsePeerSimArgs, percentiles } from '../../../bench/peers/peersim.js';
import { addIpv4 } from '../../../bench/common/ipv4.js';
import { parseConfig } from '../../../src/config/index.js';

function parse(argv: string[]): BenchArgs | UsageExit {
  const writers = { writeOut: () => undefined, writeErr: () => undefined };
  try {
    return parseBenchArgs(argv, writers);
  } catch (e) {
    if (e instanceof UsageExit) return e;
    throw e;
  }
}

test('peers options: the issue\'s ten thousand idle and thousand simulated peers by default; bad values refused', (t) => {
  t.like(parse(['peers']), { command: 'peers', peers: DEFAULT_IDLE_PEERS, simulate: DEFAULT_SIMULATED_PEERS, runs: ['scale', 'simulate'], paths: ['wireguard-go', 'tunvpn'] });
  t.is(DEFAULT_IDLE_PEERS, 10_000);
  t.is(DEFAULT_SIMULATED_PEERS, 1_000);
  t.like(parse(['peers', '--peers', '500', '--runs', 'simulate', '--paths', 'tunvpn']), { peers: 500, runs: ['simulate'], paths: ['tunvpn'] });
  t.true(parse(['peers', '--peers', '0']) instanceof UsageExit);
  t.true(parse(['peers', '--runs', 'scale,dance']) instanceof UsageExit);
});

test('idle peers: a config wg and our parser read, one /32 and one endpoint port each, distinct keys', (t) => {
  const text = idlePeersConfig(300, '172.31.4.1');
  const c = parseConfig(`[Interface]\nPrivateKey = ${encodeKey(generatePrivateKey(systemRng))}\n\n${text}`, 'idle.conf');
  t.is(c.peers.length, 300);
  t.is(new Set(c.peers.map((p) => encodeKey(p.publicKey))).size, 300);
  t.deepEqual(c.peers.slice(0, 2).map((p) => p.allowedIPs.map((a) => `${a.bits}`)), [['32'], ['32']]);
  t.regex(text, /AllowedIPs = 10\.128\.1\.44\/32\nEndpoint = 172\.31\.4\.1:1323\n/, 'peer 299: 10.128.0.1 + 299, port 1024 + 299');
});

test('echo request: valid IPv4 and ICMP checksums; isEchoReply takes the reply the kernel would send, nothing else', (t) => {
  const src = Uint8Array.of(10, 216, 0, 7);
  const dst = Uint8Array.of(10, 213, 4, 2);
  const p = echoRequest(src, dst, 6);
  t.is(internetChecksum(p, 0, 20), 0, 'IPv4 header sums to zero');
  t.is(internetChecksum(p, 20, p.length - 20), 0, 'ICMP message sums to zero');
  t.is(p[20], 8);
  // The kernel's reply: addresses swapped, type 0, same identifier.
  const reply = Uint8Array.from(p);
  reply.set(dst, 12);
  reply.set(src, 16);
  reply[20] = 0;
  t.true(isEchoReply(reply, 0, reply.length, src, 6));
  t.false(isEchoReply(reply, 0, reply.length, src, 7), 'another peer\'s identifier');
  t.false(isEchoReply(reply, 0, reply.length, dst, 6), 'to another address');
  t.false(isEchoReply(p, 0, p.length, dst, 6), 'a request is no reply');
  t.false(isEchoReply(reply, 0, 20, src, 6), 'truncated');
});

test('percentiles and addIpv4', (t) => {
  t.is(percentiles([]), null);
  t.deepEqual(percentiles([5, 1, 4, 2, 3, 6, 7, 8, 9, 10]), { p50: 5, p90: 9, max: 10 });
  t.is(addIpv4('10.216.0.1', 999), '10.216.3.232');
  t.throws(() => addIpv4('255.255.255.255', 1), { instanceOf: RangeError });
  t.throws(() => addIpv4('fd00::1', 1), { message: /not an IPv4/ });
});

test('simulator arguments: keys from a file, with FILE:LINE on a bad one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tvpeersim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keys = join(dir, 'keys');
  writeFileSync(keys, `${encodeKey(generatePrivateKey(systemRng))}\n${encodeKey(generatePrivateKey(systemRng))}\n`);
  const pub = encodeKey(generatePrivateKey(systemRng));
  const base = ['--to', '10.214.4.1:51820', '--public-key', pub, '--keys', keys, '--tunnel-first', '10.216.0.1', '--target', '10.213.4.2', '--source', '10.214.4.10'];
  const o = parsePeerSimArgs([...base, '--sources', '3']);
  t.is(o.privateKeys.length, 2);
  t.deepEqual(o.sources, ['10.214.4.10', '10.214.4.11', '10.214.4.12']);
  t.deepEqual(o.to, { host: '10.214.4.1', port: 51820 });
  writeFileSync(keys, `${encodeKey(generatePrivateKey(systemRng))}\nnot-a-key\n`);
  t.throws(() => parsePeerSimArgs(base), { message: new RegExp(`${keys}:2: `) });
  t.throws(() => parsePeerSimArgs(base.map((a) => (a === '10.214.4.1:51820' ? '[fd00::1]:51820' : a))), { message: /--to must be IPv4/ });
});

test('peers table: medians per path, the ratio to wireguard-go, failures listed', (t) => {
  const mem = (mib: number) => ({ rssKiB: mib * 1024, peakKiB: mib * 1024 });
  const report: PeersBenchReport = {
    date: '2026-11-29T00:00:00.000Z',
    host: { cpus: 2, kernel: 'k', node: 'v20' },
    rounds: 2,
    peers: 10_000,
    simulate: 1000,
    seconds: 10,
    wireguardGo: { binary: 'wg-go', version: 'wireguard-go v0.0.20250522' },
    scale: [
      { path: 'wireguard-go', round: 1, status: 'ok', setSeconds: 1.6, dumpSeconds: 0.1, memoryAfter: mem(300), oneBitsPerSecond: 1e9, manyBitsPerSecond: 1e9 },
      { path: 'wireguard-go', round: 2, status: 'ok', setSeconds: 1.2, dumpSeconds: 0.1, memoryAfter: mem(320), oneBitsPerSecond: 1e9, manyBitsPerSecond: 0.9e9 },
      { path: 'tunvpn', round: 1, status: 'ok', setSeconds: 1.0, dumpSeconds: 0.2, memoryAfter: mem(150), oneBitsPerSecond: 2e9, manyBitsPerSecond: 2e9 },
      { path: 'tunvpn', round: 2, status: 'failed', reason: 'a cannot reach c' },
    ],
    simulations: [
      { path: 'tunvpn', round: 1, status: 'ok', sim: { peers: 1000, sources: 245, handshakes: 1000, packets: 1000, handshakeMs: { p50: 10, p90: 20, max: 30 }, packetMs: { p50: 1500, p90: 2000, max: 5500 }, initiations: 1900, cookieReplies: 900, errors: {}, seconds: 5.5, cpuSeconds: 3 } },
    ],
  };
  t.like(summarizeScale(report.scale, 'wireguard-go'), { runs: 2, setSeconds: 1.4, rssMiB: 310, idleRatio: 0.95 });
  t.like(summarizeScale(report.scale, 'tunvpn'), { runs: 1, setSeconds: 1.0 });
  const text = formatPeersTable(report);
  t.regex(text, /wg addconf 10000 peers\s+1\.40 s\s+1\.00 s\s+0\.71×\s+≤ 1\.0×/);
  t.regex(text, /RSS with them\s+310 MiB\s+150 MiB\s+0\.48×/);
  t.regex(text, /simulated peers through\s+—\s+1000\/1000/);
  t.regex(text, /last one after\s+—\s+5\.50 s/);
  t.regex(text, /failed:\nround 2 tunvpn: a cannot reach c/);
});
