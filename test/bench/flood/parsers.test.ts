/** The flood bench's pure parsers: /proc/net/snmp's Udp counters and `wg show IFACE latest-handshakes`. */
import test from 'ava';
import { latestHandshake } from '../../../bench/flood/freshpeer.js';
import { parseSnmpUdp } from '../../../bench/flood/snmp.js';

test('parseSnmpUdp picks the Udp fields by name', (t) => {
  const text = [
    'Ip: Forwarding DefaultTTL',
    'Ip: 1 64',
    'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
    'Udp: 500146 0 2168 502513 2167 0 0 0 0',
    'UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
    'UdpLite: 0 0 0 0 0 0 0 0 0',
  ].join('\n');
  t.deepEqual(parseSnmpUdp(text), { inDatagrams: 500146, inErrors: 2168, rcvbufErrors: 2167 });
  t.throws(() => parseSnmpUdp('Ip: a\nIp: 1\n'), { message: /no Udp header/ });
  t.throws(() => parseSnmpUdp('Udp: InDatagrams\nUdp: 5\n'), { message: /no Udp InErrors/ });
});

test('latestHandshake: epoch of the named peer, 0 for never or absent', (t) => {
  const out = 'AAAA=\t0\nBBBB=\t1764421234\n';
  t.is(latestHandshake(out, 'BBBB='), 1764421234);
  t.is(latestHandshake(out, 'AAAA='), 0);
  t.is(latestHandshake(out, 'CCCC='), 0);
  t.is(latestHandshake('', 'AAAA='), 0);
});
