/** The bench's pure parts: iperf3/ping//proc parsing, CPU metrics, ratios, the table and the SVG. No root. */
import test from 'ava';
import { parseIperfJson, parsePing, parseProcStat } from '../../src/lab/index.js';
import { computeRatios, cpuMetrics, formatTable, parsePaths, resultStem, type BenchReport, type PathResult, type TestResult } from '../../bench/report.js';
import { escapeXml, renderSvg } from '../../bench/svg.js';

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

test('cpuMetrics: percent of one core and core-seconds per gigabit', (t) => {
  // 2.5 CPU-s over 10 s while 1.25e9 bytes (10 Gbit) arrived.
  t.deepEqual(cpuMetrics(2.5, 10, 1.25e9), { cpuSeconds: 2.5, percentCore: 25, coreSecondsPerGbit: 0.25 });
  t.is(cpuMetrics(1, 0, 100), null);
  t.is(cpuMetrics(1, 10, 0), null);
  t.is(cpuMetrics(Number.NaN, 10, 100), null);
});

function tests(gbps: [number, number, number], cpu: boolean): TestResult[] {
  const ids = [['tcp1', 'TCP x1'], ['tcp4', 'TCP x4'], ['reverse', 'TCP -R']] as const;
  return ids.map(([test, label], i) => {
    const bytes = (gbps[i]! * 1e9 * 10) / 8;
    return { test, label, bitsPerSecond: gbps[i]! * 1e9, bytes, seconds: 10, retransmits: i, cpu: cpu ? cpuMetrics(5, 10, bytes) : null };
  });
}

function report(): BenchReport {
  const paths: PathResult[] = [
    { path: 'veth', status: 'ok', pingAvgMs: 0.05, pingLoss: 0, tests: tests([20, 30, 10], false) },
    { path: 'wireguard-go', status: 'ok', pingAvgMs: 0.8, pingLoss: 0, tests: tests([0.5, 0.4, 0.5], true) },
    { path: 'tunvpn', status: 'ok', pingAvgMs: 1.5, pingLoss: 0, tests: tests([0.25, 0.6, 0.5], true) },
    { path: 'openvpn', status: 'skipped', reason: 'not installed (openvpn)', pingAvgMs: null, pingLoss: null, tests: [] },
  ];
  return { date: '2026-01-31T12:00:00.000Z', host: { cpus: 2, kernel: '6.18', node: 'v20' }, durationSeconds: 10, paths, ratios: computeRatios(paths) };
}

test('computeRatios: tunvpn over wireguard-go per test; none when either is missing or failed', (t) => {
  const r = report();
  t.deepEqual(
    r.ratios.map((x) => [x.test, x.ratio]),
    [['tcp1', 0.5], ['tcp4', 1.5], ['reverse', 1]],
  );
  const failed = r.paths.map((p) => (p.path === 'wireguard-go' ? { ...p, status: 'failed' as const } : p));
  t.deepEqual(computeRatios(failed), []);
  t.deepEqual(computeRatios(r.paths.filter((p) => p.path !== 'tunvpn')), []);
});

test('formatTable: one row per path and test, dashes where no CPU, skipped paths and the ratios', (t) => {
  const text = formatTable(report());
  const lines = text.split('\n');
  t.regex(lines[0]!, /^path\s+test\s+Gbit\/s\s+retr\s+RTT ms\s+CPU %core\s+core-s\/Gbit$/);
  const veth1 = lines.find((l) => l.startsWith('veth') && l.includes('TCP x1'))!;
  t.regex(veth1, /20\.000\s+0\s+0\.050\s+-\s+-$/);
  const tun4 = lines.find((l) => l.startsWith('tunvpn') && l.includes('TCP x4'))!;
  // 5 CPU-s over 10 s = 50 %; 0.6 Gbit/s × 10 s = 6 Gbit → 0.833 core-s/Gbit.
  t.regex(tun4, /0\.600\s+1\s+1\.500\s+50\s+0\.833$/);
  t.true(lines.some((l) => /^openvpn\s+skipped: not installed \(openvpn\)$/.test(l)));
  t.true(text.includes('tunvpn / wireguard-go: TCP x1 0.50x, TCP x4 1.50x, TCP -R 1.00x'));
});

test('renderSvg: one bar per path and test, values and ratios written, text escaped', (t) => {
  const svg = renderSvg(report());
  t.true(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  t.true(svg.trimEnd().endsWith('</svg>'));
  // 3 ok paths × 3 tests bars (with <title>), skipped openvpn has none.
  t.is((svg.match(/<rect [^>]*><title>/g) ?? []).length, 9);
  t.false(svg.includes('openvpn'));
  for (const r of ['0.50×', '1.50×', '1.00×']) t.true(svg.includes(`tunvpn/wireguard-go = ${r}`), r);
  t.true(svg.includes('600 Mbit/s'));
  t.true(svg.includes('20 Gbit/s'));
  t.is(escapeXml(`a<b & "c" 'd'>`), 'a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
});

test('renderSvg: taller bars for faster paths (log scale keeps the order)', (t) => {
  const svg = renderSvg(report());
  const height = (path: string, label: string) => {
    const m = new RegExp(`height="([\\d.]+)" fill="[^"]+"><title>${path} ${label}:`).exec(svg);
    return Number(m?.[1]);
  };
  t.true(height('veth', 'TCP x1') > height('wireguard-go', 'TCP x1'));
  t.true(height('wireguard-go', 'TCP x1') > height('tunvpn', 'TCP x1'));
  t.true(height('tunvpn', 'TCP x1') > 0);
});

test('parsePaths and resultStem', (t) => {
  t.deepEqual(parsePaths('veth, tunvpn'), ['veth', 'tunvpn']);
  t.throws(() => parsePaths('veth,ipsec'), { message: /unknown path "ipsec"/ });
  t.throws(() => parsePaths('tunvpn,tunvpn'), { message: /given twice/ });
  t.throws(() => parsePaths(' , '), { message: /at least one/ });
  t.is(resultStem('2026-01-31T12:34:56.789Z'), '2026-01-31T12-34-56Z');
});
