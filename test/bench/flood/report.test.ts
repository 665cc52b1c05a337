/** The flood scenario's pure parts: the verdict of a run and the side-by-side table. */
import test from 'ava';
import { floodVerdict, formatFloodTable, HANDSHAKE_CAP_MS, type FloodBenchReport, type FloodRun, type PhaseResult } from '../../../bench/flood/report.js';
import { rttStats } from '../../../bench/common/stats.js';
import type { FloodReport } from '../../../bench/flood/flooder.js';

const MiB = 1024;

function floodReport(sent: number, seconds: number): FloodReport {
  return { sent, seconds, ratePerSecond: sent / seconds, targetRate: 100_000, sources: 1, shortSends: 0, sendErrors: 0, cpuSeconds: 0.5 };
}

function phase(opts: { loss: number; gbps: number | 'error'; handshakeMs: number | null; cpu: number; flood?: [number, number] }): PhaseResult {
  const p: PhaseResult = {
    ping: rttStats(100, Math.round(100 * (1 - opts.loss)), opts.loss, [1, 2, 3, 150]),
    handshake: { uapiMs: 12, handshakeMs: opts.handshakeMs },
    throughput: opts.gbps === 'error' ? { error: 'iperf3: unable to connect' } : { bitsPerSecond: opts.gbps * 1e9, retransmits: 3 },
    cpu: { ping: { cpuSeconds: opts.cpu, wallSeconds: 10 }, throughput: { cpuSeconds: 9, wallSeconds: 10 } },
    memory: { before: { rssKiB: 80 * MiB, peakKiB: 81 * MiB }, after: { rssKiB: 96 * MiB, peakKiB: 120 * MiB } },
    udp: { inDatagrams: 1000, inErrors: 500, rcvbufErrors: 400 },
  };
  if (opts.flood) p.flood = { ping: floodReport(opts.flood[0], 10), throughput: floodReport(opts.flood[1], 10) };
  return p;
}

function runs(): FloodRun[] {
  return [
    {
      path: 'wireguard-go', mode: 'single', sources: 1, status: 'ok',
      quiet: phase({ loss: 0, gbps: 1, handshakeMs: 40, cpu: 0.1 }),
      flood: phase({ loss: 0.005, gbps: 0.9, handshakeMs: 5200, cpu: 8, flood: [1_000_000, 900_000] }),
    },
    {
      path: 'tunvpn', mode: 'single', sources: 1, status: 'ok',
      quiet: phase({ loss: 0, gbps: 1.5, handshakeMs: 90, cpu: 0.2 }),
      flood: phase({ loss: 0.85, gbps: 'error', handshakeMs: null, cpu: 6, flood: [1_000_000, 1_000_000] }),
    },
    { path: 'tunvpn', mode: 'spread', sources: 200, status: 'failed', reason: 'a cannot reach c (10.214.7.2)' },
  ];
}

test('floodVerdict: loss, throughput ratio, handshake times, CPU per 100k datagrams, memory', (t) => {
  const [wg, tun] = runs().map(floodVerdict);
  t.is(wg!.pingLossFloodPercent, 0.5);
  t.is(wg!.throughputRatio, 0.9);
  t.is(wg!.handshakeFloodMs, 5200);
  t.is(wg!.floodRate, 95_000, '1.9M datagrams over 20 s');
  t.is(wg!.coreSecondsPer100k, 0.8, '8 CPU-s for the 1M datagrams of the ping segment');
  t.is(wg!.cpuFloodPercent, 80);
  t.is(wg!.rssBeforeMiB, 80);
  t.is(wg!.rssAfterMiB, 96);
  t.is(wg!.rssPeakMiB, 120);
  t.is(wg!.rcvbufDrops, 400);
  t.is(tun!.gbpsFlood, 0, 'a failed iperf3 counts as no throughput');
  t.is(tun!.throughputRatio, 0);
  t.is(tun!.handshakeFloodMs, null);
  t.is(tun!.rttFloodP50Ms, 2.5);
  t.is(tun!.rttFloodP99Ms, 150);
});

test('formatFloodTable: one column per run under its mode and path, targets, failures listed', (t) => {
  const report: FloodBenchReport = {
    date: '2026-01-31T12:00:00.000Z', host: { cpus: 2, kernel: '6.18', node: 'v20' }, seconds: 10, rate: 100_000,
    wireguardGo: { binary: '/usr/bin/wireguard-go', version: 'wireguard-go v0.0.20220316' }, runs: runs(),
  };
  const text = formatFloodTable(report);
  const lines = text.split('\n');
  t.regex(lines[0]!, /100000 handshake initiations\/s/);
  t.regex(lines[1]!, /wireguard-go v0\.0\.20220316 \(\/usr\/bin\/wireguard-go\); the fresh peer is always this wireguard-go/);
  t.regex(lines[3]!, /^\s+1 source\s+1 source\s+target$/);
  t.regex(lines[4]!, /^\s+wireguard-go\s+tunvpn$/);
  t.regex(lines[5]!, /^-+\s+-+\s+-+\s+-+$/);
  t.regex(text, /^ping loss flood %\s+0\.5\s+85\.0\s+≤ 1$/m);
  t.regex(text, /^ping RTT flood p50\/p99 ms\s+2\.50\/150\s+2\.50\/150$/m);
  t.regex(text, /^throughput flood\/quiet\s+0\.90x\s+0\.00x\s+≥ 0\.8$/m);
  t.regex(text, new RegExp(`^fresh peer handshake flood ms\\s+5200\\s+none in ${HANDSHAKE_CAP_MS / 1000} s\\s+≤ 5000$`, 'm'));
  t.regex(text, /^b core-s per 100k flood dgrams\s+0\.800\s+0\.600$/m);
  t.regex(text, /^b RSS MiB before\/after\/peak\s+80\/96\/120\s+80\/96\/120$/m);
  t.regex(text, /^tunvpn, 200 sources: failed: a cannot reach c \(10\.214\.7\.2\)$/m);
});
