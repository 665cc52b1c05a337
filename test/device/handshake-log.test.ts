/**
 * Logs that explain handshakes (device/handshake-log.ts) and the handshake counters, with two devices over an
 * in-memory network: a PresharedKey mismatch is named at debug, a first session is announced at info, no key
 * material ever reaches the log, and a flood of failures is rate-limited with a summary.
 */
import test from 'ava';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { MemoryNetwork } from '../../src/conn/memory-bind.js';
import { Endpoint } from '../../src/net/endpoint.js';
import { encodeKey, generatePresharedKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { Device } from '../../src/device/device.js';
import { HandshakeLog } from '../../src/device/handshake-log.js';
import { emptyDeviceStats } from '../../src/device/stats.js';
import { shortKey, type Logger } from '../../src/log.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { buildUdp } from '../helpers/packets.js';
import { parsePrefix } from '../../src/net/ip.js';
import { systemRng } from '../../src/crypto/random.js';
import type { Peer, PeerEvent } from '../../src/protocol/index.js';

interface Line { level: number; msg: string; [k: string]: unknown }

/** A debug-level pino logger whose lines land in `lines` (parsed) and `text` (raw). */
function captureLogger(): { log: Logger; lines: Line[]; text: () => string } {
  const lines: Line[] = [];
  let raw = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw += chunk.toString();
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Line);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines, text: () => raw };
}

const DEBUG = 20;
const INFO = 30;

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function pair(opts: { pskA?: Uint8Array; pskB?: Uint8Array }) {
  const net = new MemoryNetwork();
  const keyA = generatePrivateKey(systemRng);
  const keyB = generatePrivateKey(systemRng);
  const logA = captureLogger();
  const logB = captureLogger();
  const tunA = new MemoryTun({ name: 'a' });
  const tunB = new MemoryTun({ name: 'b' });
  const a = new Device({ tun: tunA, bind: net.createBind('192.0.2.1'), privateKey: keyA, listenPort: 51820, log: logA.log });
  const b = new Device({ tun: tunB, bind: net.createBind('192.0.2.2'), privateKey: keyB, listenPort: 51821, log: logB.log });
  a.setPeer({
    publicKey: publicKeyOf(keyB), presharedKey: opts.pskA, allowedIPs: [parsePrefix('10.0.0.2/32')!],
    endpoint: Endpoint.fromString('192.0.2.2:51821'),
  });
  b.setPeer({ publicKey: publicKeyOf(keyA), presharedKey: opts.pskB, allowedIPs: [parsePrefix('10.0.0.1/32')!] });
  await a.start();
  await b.start();
  return { a, b, tunA, tunB, logA, logB, keyA, keyB, close: async () => { await a.close(); await b.close(); } };
}

const ping = () => buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(8) });

test('a PresharedKey mismatch is named at debug with the peer and endpoint, and counted; no key is ever logged', async (t) => {
  const pskA = generatePresharedKey(systemRng);
  const pskB = generatePresharedKey(systemRng);
  const { a, b, tunA, logA, logB, keyA, keyB, close } = await pair({ pskA, pskB });
  t.teardown(close);
  tunA.inject(ping());
  await until(() => (a.stats.handshakes.failed.decryptFailed ?? 0) >= 1);
  const bKey = shortKey(encodeKey(publicKeyOf(keyB)));
  const failure = logA.lines.find((l) => l.level === DEBUG && /handshake response .* rejected/.test(l.msg));
  t.truthy(failure, logA.text());
  t.regex(failure!.msg, /from 192\.0\.2\.2:51821 \(peer .+\) rejected: decryption failed \(PresharedKey mismatch/);
  t.true(failure!.msg.includes(bKey));
  t.is(failure!.reason, 'decryptFailed');
  // b saw a valid initiation and answered it: both steps are in its debug log and counters.
  t.is(b.stats.handshakes.initiationsReceived, 1);
  t.is(b.stats.handshakes.responsesSent, 1);
  t.truthy(logB.lines.find((l) => /handshake initiation received from peer .*192\.0\.2\.1:51820/.test(l.msg)));
  t.is(a.stats.handshakes.initiationsSent, 1);
  t.is(a.stats.handshakes.completed, 0);
  t.is(a.stats.dropped.decryptFailed, 1);
  for (const secret of [pskA, pskB, keyA, keyB]) {
    const b64 = encodeKey(secret);
    t.false(logA.text().includes(b64) || logB.text().includes(b64), 'a secret key reached the log');
    t.false(logA.text().includes(Buffer.from(secret).toString('hex')));
  }
});

test('a successful handshake: debug lines for each step, one info line for the first session, counters', async (t) => {
  const psk = generatePresharedKey(systemRng);
  const { a, b, tunA, tunB, logA, logB, close } = await pair({ pskA: psk, pskB: psk });
  t.teardown(close);
  tunA.inject(ping());
  await tunB.nextWritten();
  const msgsA = logA.lines.map((l) => l.msg);
  t.truthy(msgsA.find((m) => /^handshake initiation sent to peer .* \(192\.0\.2\.2:51821\) \(staged\)$/.test(m)), msgsA.join('\n'));
  t.truthy(msgsA.find((m) => /^handshake response received from peer/.test(m)));
  const infoA = logA.lines.filter((l) => l.level === INFO && /session established/.test(l.msg));
  t.is(infoA.length, 1);
  t.regex(infoA[0]!.msg, /handshake complete, session established \(initiator\)/);
  await until(() => b.stats.handshakes.completed === 1);
  t.truthy(logB.lines.find((l) => l.level === INFO && /session established \(responder\)/.test(l.msg)));
  t.like(a.stats.handshakes, { initiationsSent: 1, responsesReceived: 1, completed: 1 });
  t.like(b.stats.handshakes, { initiationsReceived: 1, responsesSent: 1, completed: 1 });
  t.deepEqual(a.stats.handshakes.failed, {});
});

test('a flood of failures is rate-limited per kind, and the next line that gets through says how many were suppressed', (t) => {
  const { log, lines } = captureLogger();
  const stats = emptyDeviceStats().handshakes;
  const hl = new HandshakeLog(log, stats, { perSecond: 1, burst: 5 });
  const endpoint = Endpoint.fromString('198.51.100.7:4000');
  const flood: PeerEvent<Endpoint>[] = Array.from({ length: 1000 }, () => ({
    kind: 'handshakeFailed' as const, message: 'initiation' as const, reason: 'invalidMac1' as const, peer: null, endpoint,
  }));
  hl.record(flood, 1000);
  t.is(stats.failed.invalidMac1, 1000); // every one counted
  t.is(lines.length, 5); // only the burst logged
  t.regex(lines[0]!.msg, /^handshake initiation from 198\.51\.100\.7:4000 rejected: MAC1 is wrong/);
  // Another kind has its own bucket.
  hl.record([{ kind: 'cookieSent', endpoint, message: 'initiation' }], 1000);
  t.is(lines.length, 6);
  // Two seconds later: a summary, then the line.
  hl.record(flood.slice(0, 1), 3000);
  t.is(lines.length, 8);
  t.regex(lines[6]!.msg, /^suppressed 995 "failed:invalidMac1" log lines/);
  t.regex(lines[7]!.msg, /MAC1 is wrong/);
});

test('a peer going silent is reported once at info, its return as a first session again', (t) => {
  const { log, lines } = captureLogger();
  const stats = emptyDeviceStats().handshakes;
  const hl = new HandshakeLog(log, stats);
  const endpoint = Endpoint.fromString('198.51.100.8:51820');
  const peer = { publicKey: new Uint8Array(32).fill(7), endpoint } as unknown as Peer<Endpoint>;
  hl.record([{ kind: 'handshakeGaveUp', peer, attempts: 19 }], 0);
  hl.record([{ kind: 'sessionEstablished', peer, endpoint, initiator: true, first: true, rekey: false }], 1);
  const info = lines.filter((l) => l.level === INFO).map((l) => l.msg);
  t.is(info.length, 2);
  const name = shortKey(encodeKey(peer.publicKey));
  t.true(info[0]!.startsWith(`peer ${name} (198.51.100.8:51820) is silent: no handshake response in 90 s (19 attempts)`), info[0]);
  t.regex(info[1]!, /handshake complete, session established \(initiator\)/);
  t.is(stats.gaveUp, 1);
});
