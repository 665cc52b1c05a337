/**
 * The compare bench's pure parts: iperf3/ping//proc parsing, CPU metrics, summaries over rounds, per-round ratio
 * medians, the tables, the SVG with whiskers and the round schedule. No root.
 */
import test from 'ava';
import { parseIperfJson, parsePing, parseProcStat } from '../../../src/lab/index.js';
import {
  computeRatios, cpuMetrics, formatSpread, formatTable, summarize,
  type BenchReport, type PathRun, type TestResult,
} from '../../../bench/compare/report.js';
import { resultStem } from '../../../bench/common/format.js';
import { rttStats } from '../../../bench/common/stats.js';
import { parsePaths, parseTests } from '../../../bench/options.js';
import { roundSchedule } from '../../../bench/compare/schedule.js';
import { decades, escapeXml, logY, renderSvg } from '../../../bench/compare/svg.js';

/** Trimmed from a real `iperf3 -c ... -J -P 2` (iperf 3.12) run: the fields the parser reads, and some it does not. */
const IPERF_JSON = JSON.stringify({
  start: { version: 'iperf 3.12', test_start: { protocol: 'TCP', num_streams: 2, duration: 1, reverse: 0 } },
  intervals: [],
  end: {
    streams: [],
    sum_sent: { start: 0, end: 1.00011, seconds: 1.00011, bytes: 1567621120, bits_per_second: 12539589605.143433, retransmits: 7, sender: true },
    sum_received: { start: 0, end: 1.00033, seconds: 1.00033, bytes: 1557397504, bits_per_second: 12455069858.946548, sender: true },
    cpu_utilization_percent: {},
  },
});

test('parseIperfJson reads receiver goodput, bytes, seconds, sender retransmits and streams', (t) => {
  const r = parseIperfJson(IPERF_JSON);
  t.is(r.bitsPerSecond, 12455069858.946548);
  t.is(r.bytes, 1557397504);
  t.is(r.seconds, 1.00033);
  t.is(r.retransmits, 7);
  t.is(r.streams, 2);
  t.false(r.reverse);
});

test('parseIperfJson: reverse flag, missing retransmits', (t) => {
  const doc = JSON.parse(IPERF_JSON) as { start: { test_start: { reverse: number } }; end: { sum_sent: Record<string, unknown> } };
  doc.start.test_start.reverse = 1;
  delete doc.end.sum_sent.retransmits;
  const r = parseIperfJson(JSON.stringify(doc));
  t.true(r.reverse);
  t.is(r.retransmits, undefined);
});

test('parseIperfJson reports iperf3 errors and malformed output clearly', (t) => {
  const refused = '{"start":{"connected":[]},"intervals":[],"end":{},"error":"unable to connect to server: Connection refused"}';
  t.throws(() => parseIperfJson(refused), { message: 'iperf3: unable to connect to server: Connection refused' });
  t.throws(() => parseIperfJson('iperf3: error - bad'), { message: /not JSON/ });
  t.throws(() => parseIperfJson('[1,2]'), { message: /not an object/ });
  t.throws(() => parseIperfJson('{"end":{"sum_received":{"bytes":1,"seconds":1}}}'), { message: /lacks bits_per_second/ });
  t.throws(() => parseIperfJson('{"end":{"sum":{}}}'), { message: /no end.sum_received/ });
});

test('parsePing: summary with replies, total loss, and missing summary', (t) => {
  const ok = [
    'PING 10.214.7.2 (10.214.7.2) 56(84) bytes of data.',
    '',
    '--- 10.214.7.2 ping statistics ---',
    '20 packets transmitted, 19 received, 5% packet loss, time 1903ms',
    'rtt min/avg/max/mdev = 0.051/0.412/1.334/0.210 ms',
  ].join('\n');
  t.deepEqual(parsePing(ok), { transmitted: 20, received: 19, loss: 0.05, avgRttMs: 0.412 });
  const lost = '--- x ping statistics ---\n3 packets transmitted, 0 received, 100% packet loss, time 2040ms\n';
  t.deepEqual(parsePing(lost), { transmitted: 3, received: 0, loss: 1, avgRttMs: undefined });
  const errors = '4 packets transmitted, 1 received, +3 errors, 75% packet loss, time 3004ms\nrtt min/avg/max/mdev = 1.0/2.5/4.0/0.1 ms';
  t.is(parsePing(errors).received, 1);
  t.is(parsePing(errors).avgRttMs, 2.5);
  t.throws(() => parsePing('ping: connect: Network is unreachable'), { message: /no summary/ });
});

test('parseProcStat finds utime and stime after a comm holding spaces and parentheses', (t) => {
  const rest = 'S 1 2 3 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 9 0 12345 1000000 200';
  t.deepEqual(parseProcStat(`4242 (node) ${rest}`), { utime: 1234, stime: 567 });
  t.deepEqual(parseProcStat(`4242 (we ird) (x) ${rest}`), { utime: 1234, stime: 567 });
  t.throws(() => parseProcStat('garbage'), { message: /no "\)"/ });
  t.throws(() => parseProcStat('1 (x) S 1 2'), { message: /not non-negative integers/ });
});

test('cpuMetrics: percent of one core, core-seconds per gigabit, and µs per packet when packets are given', (t) => {
  // 2.5 CPU-s over 10 s while 1.25e9 bytes (10 Gbit) arrived.
  t.deepEqual(cpuMetrics(2.5, 10, 1.25e9), { cpuSeconds: 2.5, percentCore: 25, coreSecondsPerGbit: 0.25 });
  t.is(cpuMetrics(2, 10, 1000, 1e6)?.microsecondsPerPacket, 2);
  t.is(cpuMetrics(1, 0, 100), null);
  t.is(cpuMetrics(1, 10, 0), null);
  t.is(cpuMetrics(Number.NaN, 10, 100), null);
});

test('rttStats: median, nearest-rank p99 and mean of the samples; nulls when nothing came back', (t) => {
  const s = rttStats(5, 4, 0.2, [1, 4, 2, 3]);
  t.is(s.medianMs, 2.5);
  t.is(s.p99Ms, 4);
  t.is(s.avgMs, 2.5);
  t.deepEqual(s.samplesMs, [1, 4, 2, 3]);
  const none = rttStats(3, 0, 1, []);
  t.is(none.medianMs, null);
  t.is(none.p99Ms, null);
  t.is(none.loss, 1);
});

/** One round's results: TCP in Gbit/s, UDP in kpps, idle RTT in ms (constant over samples). */
function results(g: [number, number, number], kpps: [number, number], rttMs: number, cpu: boolean): TestResult[] {
  const tcp = (['tcp1', 'tcp4', 'reverse'] as const).map((test, i): TestResult => {
    const bytes = (g[i]! * 1e9 * 10) / 8;
    const r: TestResult = { test, kind: 'tcp', bitsPerSecond: g[i]! * 1e9, bytes, seconds: 10, retransmits: i, cpu: cpu ? cpuMetrics(5, 10, bytes) : null };
    if (test === 'tcp1') r.loadedRtt = rttStats(100, 99, 0.01, [rttMs * 2, rttMs * 2, rttMs * 3]);
    return r;
  });
  const udp = (['udp64', 'udp512'] as const).map((test, i): TestResult => {
    const packets = kpps[i]! * 1e3 * 10;
    const bytes = packets * (test === 'udp64' ? 64 : 512);
    return {
      test, kind: 'udp', packetsPerSecond: kpps[i]! * 1e3, packets, lostPackets: packets / 4, lossRate: 0.2, sentPackets: packets * 2,
      bitsPerSecond: (bytes * 8) / 10, bytes, seconds: 10, cpu: cpu ? cpuMetrics(5, 10, bytes, packets) : null,
    };
  });
  return [{ test: 'rtt', kind: 'rtt', rtt: rttStats(20, 20, 0, [rttMs, rttMs, rttMs]) }, ...tcp, ...udp];
}

function runs(): PathRun[] {
  return [
    { round: 1, path: 'veth', status: 'ok', results: results([20, 30, 10], [900, 800], 0.05, false) },
    { round: 1, path: 'wireguard-go', status: 'ok', results: results([0.5, 0.4, 0.5], [100, 90], 1, true) },
    { round: 1, path: 'tunvpn', status: 'ok', results: results([0.25, 0.6, 0.5], [50, 45], 2, true) },
    { round: 1, path: 'openvpn', status: 'skipped', reason: 'not installed (openvpn)', results: [] },
    // Round 2: the machine was busy while wireguard-go ran.
    { round: 2, path: 'wireguard-go', status: 'ok', results: results([0.125, 0.4, 0.5], [100, 90], 1, true) },
    { round: 2, path: 'tunvpn', status: 'ok', results: results([0.3, 0.6, 0.5], [60, 45], 2, true) },
    { round: 3, path: 'wireguard-go', status: 'ok', results: results([0.5, 0.4, 0.5], [100, 90], 1, true) },
    { round: 3, path: 'tunvpn', status: 'failed', reason: 'a cannot reach c (10.214.7.2)', results: [] },
  ];
}

function report(): BenchReport {
  const r = runs();
  return {
    date: '2026-01-31T12:00:00.000Z', host: { cpus: 2, kernel: '6.18', node: 'v20' }, seconds: 10, rounds: 3,
    tests: ['rtt', 'tcp1', 'tcp4', 'reverse', 'udp64', 'udp512'],
    wireguardGo: { binary: '/opt/wg/wireguard-go', version: 'wireguard-go v0.0.20250522' },
    runs: r, summary: summarize(r), ratios: computeRatios(r),
  };
}

test('summarize: median and min–max over the ok rounds per path; failed rounds left out, skipped paths kept', (t) => {
  const s = summarize(runs());
  t.deepEqual(s.map((p) => [p.path, p.status, p.rounds, p.okRounds]), [
    ['veth', 'ok', 1, 1], ['wireguard-go', 'ok', 3, 3], ['tunvpn', 'ok', 3, 2], ['openvpn', 'skipped', 1, 0],
  ]);
  const wg = s.find((p) => p.path === 'wireguard-go')!;
  t.deepEqual(wg.metrics.tcp1, { median: 0.5, min: 0.125, max: 0.5, n: 3 });
  t.deepEqual(wg.metrics.udp64, { median: 100, min: 100, max: 100, n: 3 });
  t.is(wg.metrics.rtt!.median, 1);
  t.is(wg.metrics.rttLoad!.median, 2);
  const tun = s.find((p) => p.path === 'tunvpn')!;
  t.deepEqual(tun.metrics.tcp1, { median: 0.275, min: 0.25, max: 0.3, n: 2 });
  t.is(tun.details.tcp1!.rttP99Ms!.median, 6);
  t.is(tun.details.udp64!.lossPercent!.median, 20);
  t.is(tun.details.udp64!.microsecondsPerPacket!.median, (5e6 / 5e5 + 5e6 / 6e5) / 2); // 5 CPU-s over 500k and 600k packets
  t.is(s.find((p) => p.path === 'veth')!.details.tcp1!.percentCore, undefined, 'no CPU on veth');
  t.is(s.find((p) => p.path === 'openvpn')!.reason, 'not installed (openvpn)');
});

test('computeRatios: the median of per-round tunvpn/wireguard-go ratios, rounds matched by number', (t) => {
  const r = computeRatios(runs());
  const tcp1 = r.find((x) => x.metric === 'tcp1')!;
  // Round 1: 0.25/0.5 = 0.5; round 2: 0.3/0.125 = 2.4; round 3: tunvpn failed.
  t.deepEqual(tcp1.perRound, [0.5, 2.4]);
  t.is(tcp1.median, 1.45);
  t.is(tcp1.min, 0.5);
  t.is(tcp1.max, 2.4);
  t.is(tcp1.better, 'higher');
  const rtt = r.find((x) => x.metric === 'rtt')!;
  t.deepEqual(rtt.perRound, [2, 2]);
  t.is(rtt.better, 'lower');
  t.deepEqual(r.map((x) => x.metric), ['tcp1', 'tcp4', 'reverse', 'udp64', 'udp512', 'rtt', 'rttLoad']);
  t.deepEqual(computeRatios(runs().filter((x) => x.path !== 'tunvpn')), []);
});

test('formatTable: header with the wireguard-go version, medians [min–max] per path, the ratio column, details, failures', (t) => {
  const text = formatTable(report());
  const lines = text.split('\n');
  t.is(lines[0], 'tunvpn bench 2026-01-31T12:00:00.000Z: 3 round(s), 10 s per test; wireguard-go and tunvpn alternate each round; veth once');
  t.is(lines[1], 'wireguard-go: wireguard-go v0.0.20250522 (/opt/wg/wireguard-go)');
  t.regex(text, /^metric\s+unit\s+veth\s+wireguard-go\s+tunvpn\s+tunvpn\/wireguard-go$/m);
  t.regex(text, /^TCP x1\s+Gbit\/s\s+20\.000\s+0\.500 \[0\.125–0\.500\]\s+0\.275 \[0\.250–0\.300\]\s+1\.45 \[0\.50–2\.40\]x$/m);
  t.regex(text, /^TCP x4\s+Gbit\/s\s+30\.000\s+0\.400\s+0\.600\s+1\.50x$/m, 'equal rounds print no range');
  t.regex(text, /^UDP 64 B\s+kpps\s+900\.0\s+100\.0\s+55\.0 \[50\.0–60\.0\]\s+0\.55 \[0\.50–0\.60\]x$/m);
  t.regex(text, /^RTT idle p50\s+ms\s+0\.050\s+1\.000\s+2\.000\s+2\.00x$/m);
  t.regex(text, /^RTT load p50\s+ms\s+0\.100\s+2\.000\s+4\.000\s+2\.00x$/m);
  t.regex(text, /median of per-round ratios/);
  // Details: tunvpn TCP x4: retr 1, 5 CPU-s / 10 s = 50 %, 6 Gbit → 0.833 core-s/Gbit.
  t.regex(text, /^tunvpn\s+TCP x4\s+1\s+-\s+-\s+50\s+0\.833\s+-$/m);
  t.regex(text, /^veth\s+TCP x1\s+0\s+1\.00\s+0\.150\s+-\s+-\s+-$/m);
  t.regex(text, /^openvpn round 1: skipped: not installed \(openvpn\)$/m);
  t.regex(text, /^tunvpn round 3: failed: a cannot reach c \(10\.214\.7\.2\)$/m);
  t.false(/^openvpn\s+TCP/m.test(text), 'no rows for a skipped path');
});

test('formatSpread: one value for a single round or equal extremes at this precision', (t) => {
  t.is(formatSpread({ median: 1.2345, min: 1.1, max: 1.4, n: 3 }, 2), '1.23 [1.10–1.40]');
  t.is(formatSpread({ median: 1.2345, min: 1.1, max: 1.4, n: 1 }, 2), '1.23');
  t.is(formatSpread({ median: 1.001, min: 1.0004, max: 1.0014, n: 2 }, 2), '1.00');
});

test('renderSvg: a panel per unit, a bar and a min–max whisker per path and metric, ratios, text escaped', (t) => {
  const svg = renderSvg(report());
  t.true(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  t.true(svg.trimEnd().endsWith('</svg>'));
  // 3 ok paths (veth, wireguard-go, tunvpn) × 7 metrics.
  t.is((svg.match(/<rect [^>]*><title>/g) ?? []).length, 21);
  t.is((svg.match(/<g class="whisker"/g) ?? []).length, 21);
  for (const unit of ['Gbit/s', 'kpps', 'ms']) t.true(svg.includes(`>${unit}</text>`), unit);
  t.false(svg.includes('openvpn'));
  t.true(svg.includes('wireguard-go v0.0.20250522'));
  t.true(svg.includes('>1.45×</text>'));
  t.true(svg.includes('wireguard-go TCP x1: median 0.5 Gbit/s, min 0.125, max 0.5 (3 round(s))'));
  t.is(escapeXml(`a<b & "c" 'd'>`), 'a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
});

test('renderSvg: the whisker spans the rounds around the bar top, on the log axis', (t) => {
  const svg = renderSvg(report());
  // wireguard-go TCP x1: bar at the median 0.5, whisker from 0.125 to 0.5.
  const bar = /<rect x="([\d.]+)" y="([\d.]+)" width="30" height="[\d.]+" fill="[^"]+"><title>wireguard-go TCP x1:/.exec(svg)!;
  const cx = Number(bar[1]) + 15;
  const whisker = new RegExp(`<g class="whisker"[^>]*><line x1="${cx}" x2="${cx}" y1="([\\d.]+)" y2="([\\d.]+)"/>`).exec(svg)!;
  const [yMax, yMin] = [Number(whisker[1]), Number(whisker[2])];
  t.is(Number(bar[2]), yMax, 'the median is the largest round here: the bar top meets the whisker top');
  t.true(yMin > yMax, 'the smaller round is lower on the chart');
  const { lo, hi } = decades([0.1, 0.5, 30]);
  t.deepEqual({ lo, hi }, { lo: -1, hi: 2 });
  t.is(logY(10, lo, hi, 0, 300), 100);
  t.is(logY(1e9, lo, hi, 0, 300), 0, 'clamped to the top');
});

test('parsePaths, parseTests (returned in run order) and resultStem', (t) => {
  t.deepEqual(parsePaths('veth, tunvpn'), ['veth', 'tunvpn']);
  t.throws(() => parsePaths('veth,ipsec'), { message: /unknown name "ipsec"/ });
  t.throws(() => parsePaths('tunvpn,tunvpn'), { message: /given twice/ });
  t.throws(() => parsePaths(' , '), { message: /at least one/ });
  t.deepEqual(parseTests('udp64,tcp1,rtt'), ['rtt', 'tcp1', 'udp64']);
  t.throws(() => parseTests('tcp2'), { message: /--only: unknown name "tcp2"/ });
  t.is(resultStem('2026-01-31T12:34:56.789Z'), '2026-01-31T12-34-56Z');
});

test('roundSchedule: A B A B for wireguard-go and tunvpn, veth and skipped drivers in round 1 only', (t) => {
  const s = roundSchedule(['veth', 'wireguard-go', 'tunvpn', 'openvpn'], 3).map((r) => `${r.round}:${r.path}`);
  t.deepEqual(s, ['1:veth', '1:wireguard-go', '1:tunvpn', '1:openvpn', '2:wireguard-go', '2:tunvpn', '3:wireguard-go', '3:tunvpn']);
  t.deepEqual(roundSchedule(['tunvpn'], 2).map((r) => r.round), [1, 2]);
  t.throws(() => roundSchedule(['tunvpn'], 0), { message: /positive integer/ });
});
