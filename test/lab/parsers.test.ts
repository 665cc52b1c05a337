/** The lab's pure parsers: ping reply lines, iperf3 UDP JSON, /proc/PID/status. */
import test from 'ava';
import { againstPlanned, makePlan, parseIperfUdpJson, parsePingReplies, parseProcStatus } from '../../src/lab/index.js';

test('parsePingReplies: every reply time in order, summary and error lines ignored', (t) => {
  const out = [
    'PING 10.214.7.2 (10.214.7.2) 56(84) bytes of data.',
    '64 bytes from 10.214.7.2: icmp_seq=1 ttl=63 time=0.412 ms',
    'From 10.214.7.1 icmp_seq=2 Destination Host Unreachable',
    '64 bytes from 10.214.7.2: icmp_seq=3 ttl=63 time=12.5 ms',
    '64 bytes from 10.214.7.2: icmp_seq=3 ttl=63 time=13 ms (DUP!)',
    '',
    '--- 10.214.7.2 ping statistics ---',
    '3 packets transmitted, 2 received, +1 duplicates, 33.3333% packet loss, time 201ms',
    'rtt min/avg/max/mdev = 0.412/8.637/13.000/5.9 ms',
  ].join('\n');
  t.deepEqual(parsePingReplies(out), [0.412, 12.5, 13]);
  t.deepEqual(parsePingReplies('64 bytes from 1.2.3.4: seq=0 ttl=64 time=0.081 ms'), [0.081]);
  t.deepEqual(parsePingReplies('--- x ping statistics ---\n3 packets transmitted, 0 received'), []);
});

/** Trimmed from a real `iperf3 -c ... -u -b 0 -l 64 -J` (iperf 3.12) run. */
const UDP_JSON = {
  start: { version: 'iperf 3.12', test_start: { protocol: 'UDP', num_streams: 1, blksize: 64, duration: 2, reverse: 0, target_bitrate: 0 } },
  intervals: [],
  end: {
    streams: [],
    sum: { seconds: 2.000124, bytes: 32150400, bits_per_second: 128598256.4, lost_packets: 2059, packets: 502350, lost_percent: 0.41 },
    sum_sent: { seconds: 2.000052, bytes: 32150400, bits_per_second: 128598256.4, lost_packets: 0, packets: 502350, lost_percent: 0, sender: true },
    sum_received: { seconds: 2.000124, bytes: 31998976, bits_per_second: 127987968.7, lost_packets: 2059, packets: 502043, lost_percent: 0.41, sender: false },
  },
};

test('parseIperfUdpJson: arrived = receiver packets minus lost; loss rate; sender count; blksize', (t) => {
  const r = parseIperfUdpJson(JSON.stringify(UDP_JSON));
  t.is(r.packets, 502043 - 2059);
  t.is(r.lostPackets, 2059);
  t.is(r.lossRate, 2059 / 502043);
  t.is(r.sentPackets, 502350);
  t.is(r.bytes, 31998976);
  t.is(r.seconds, 2.000124);
  t.is(r.bitsPerSecond, (31998976 * 8) / 2.000124);
  t.is(r.length, 64);
});

test('parseIperfUdpJson: falls back to end.sum, and reports errors and TCP output clearly', (t) => {
  const old = structuredClone(UDP_JSON) as { end: Record<string, unknown> };
  delete old.end.sum_received;
  delete old.end.sum_sent;
  const r = parseIperfUdpJson(JSON.stringify(old));
  t.is(r.packets, 502350 - 2059);
  t.is(r.sentPackets, undefined);
  t.throws(() => parseIperfUdpJson('{"error":"unable to send control message: Bad file descriptor"}'), { message: /iperf3: unable to send/ });
  t.throws(() => parseIperfUdpJson('{"start":{"test_start":{"protocol":"TCP"}},"end":{}}'), { message: /UDP test expected, got TCP/ });
  t.throws(() => parseIperfUdpJson('{"end":{"sum_received":{"bytes":1,"seconds":1}}}'), { message: /lacks packets/ });
  t.throws(() => parseIperfUdpJson('not json'), { message: /not JSON/ });
});

test('parseProcStatus reads VmRSS and VmHWM in KiB', (t) => {
  const text = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   80000 kB\nThreads:\t11\n';
  t.deepEqual(parseProcStatus(text), { rssKiB: 80000, peakKiB: 81234 });
  t.throws(() => parseProcStatus('Name:\tkthreadd\nThreads:\t1\n'), { message: /no VmRSS/ });
});

test('makePlan: the LAN host lives in its own namespace inside the LAN /24, sources after it', (t) => {
  const p = makePlan('00ab2a');
  t.is(p.lanHost.ns, 'tvlab-00ab2a-f');
  t.is(p.lanHost.address, '10.214.42.3');
  t.is(p.lanHost.firstSource, '10.214.42.10');
  t.not(p.lanHost.address, p.lan.b);
  t.not(p.lanHost.address, p.lan.c);
  t.true(p.lanHost.ns.startsWith('tvlab-00ab2a-'));
});

test('againstPlanned: pings a stalled ping never sent count as lost', (t) => {
  const interrupted = { transmitted: 40, received: 30, loss: 0.25, avgRttMs: 1 };
  t.deepEqual(againstPlanned(interrupted, 100), { transmitted: 100, received: 30, loss: 0.7, avgRttMs: 1 });
  const complete = { transmitted: 100, received: 99, loss: 0.01, avgRttMs: 1 };
  t.deepEqual(againstPlanned(complete, 100), complete);
  t.is(againstPlanned({ transmitted: 0, received: 0, loss: 1, avgRttMs: undefined }, 0).loss, 1);
});
