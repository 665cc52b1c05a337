import test from 'ava';
import fc from 'fast-check';
import { internetChecksum } from '../../src/packet/checksum.js';
import {
  ipDestinationOffset, ipPacketLength, ipSourceOffset, ipv4Destination, ipv4Source, ipVersion,
} from '../../src/packet/ip-header.js';
import { buildIcmpEcho, buildUdp, parseIpPacket } from '../helpers/packets.js';

// ---- an independent checker: sums 16-bit words with a DataView and builds pseudo-headers by concatenation ----

function onesSum(bytes: number[]): number {
  const padded = bytes.length % 2 ? [...bytes, 0] : bytes;
  const view = new DataView(Uint8Array.from(padded).buffer);
  let sum = 0;
  for (let i = 0; i < padded.length; i += 2) {
    sum += view.getUint16(i);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return sum;
}

/** True when the data (checksum field included) sums to 0xffff, i.e. the checksum is right. */
function verifies(bytes: number[]): boolean {
  return onesSum(bytes) === 0xffff;
}

function pseudo(p: Uint8Array, protocol: number, length: number): number[] {
  if (p[0]! >> 4 === 4) return [...p.subarray(12, 20), 0, protocol, length >> 8, length & 0xff];
  return [...p.subarray(8, 40), 0, 0, length >> 8, length & 0xff, 0, 0, 0, protocol];
}

function checkIpv4Header(t: { true(v: boolean, m?: string): void }, p: Uint8Array): void {
  t.true(verifies([...p.subarray(0, 20)]), 'IPv4 header checksum');
}

test('internetChecksum matches the classic IPv4 header example (checksum 0xb861)', (t) => {
  const hdr = Uint8Array.from([0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7]);
  t.is(internetChecksum(hdr, 0, hdr.length), 0xb861);
  t.is(internetChecksum(Uint8Array.of(0xff), 0, 1), 0x00ff, 'odd length pads with a zero byte');
});

test('IPv4 ICMP echo request: fields and checksums', (t) => {
  const p = buildIcmpEcho({ src: '10.0.0.1', dst: '10.0.0.2', id: 0x1234, seq: 7, payload: Uint8Array.of(1, 2, 3) });
  t.is(p.length, 20 + 8 + 3);
  t.is(ipVersion(p, 0), 4);
  t.is(ipPacketLength(p, 0, p.length), p.length);
  t.is(ipv4Source(p, 0), 0x0a000001);
  t.is(ipv4Destination(p, 0), 0x0a000002);
  t.is(p[9], 1);
  t.is(p[20], 8, 'echo request');
  checkIpv4Header(t, p);
  t.true(verifies([...p.subarray(20)]), 'ICMP checksum');
  const reply = buildIcmpEcho({ src: '10.0.0.2', dst: '10.0.0.1', id: 0x1234, seq: 7, reply: true });
  t.is(reply[20], 0, 'echo reply');
  t.true(verifies([...reply.subarray(20)]));
});

test('IPv6 ICMPv6 echo: the checksum covers the pseudo-header', (t) => {
  const p = buildIcmpEcho({ src: 'fd00::1', dst: 'fd00::2', id: 1, seq: 2, payload: Uint8Array.of(9, 9, 9, 9, 9) });
  t.is(ipVersion(p, 0), 6);
  t.is(ipPacketLength(p, 0, p.length), 40 + 13);
  t.is(p[6], 58);
  t.is(p[40], 128);
  const body = [...p.subarray(40)];
  t.true(verifies([...pseudo(p, 58, body.length), ...body]));
  t.false(verifies(body), 'without the pseudo-header it would not verify');
  t.deepEqual([...p.subarray(ipSourceOffset(p, 0), ipSourceOffset(p, 0) + 16)].slice(-2), [0, 1]);
  t.deepEqual([...p.subarray(ipDestinationOffset(p, 0), ipDestinationOffset(p, 0) + 16)].slice(-2), [0, 2]);
});

test('UDP over IPv4 and IPv6: checksums verify for any payload (property)', (t) => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.uint8Array({ maxLength: 300 }),
      fc.integer({ min: 1, max: 65535 }),
      fc.integer({ min: 1, max: 65535 }),
      (v6, payload, sp, dp) => {
        const p = v6
          ? buildUdp({ src: '2001:db8::a', dst: '2001:db8:ffff::b', srcPort: sp, dstPort: dp, payload })
          : buildUdp({ src: '192.0.2.1', dst: '198.51.100.254', srcPort: sp, dstPort: dp, payload });
        const hl = v6 ? 40 : 20;
        const udp = [...p.subarray(hl)];
        if (!v6 && !verifies([...p.subarray(0, 20)])) return false;
        const parsed = parseIpPacket(p);
        return (
          udp.length === 8 + payload.length &&
          ((udp[4]! << 8) | udp[5]!) === udp.length &&
          ((udp[0]! << 8) | udp[1]!) === sp &&
          (udp[6]! | udp[7]!) !== 0 &&
          verifies([...pseudo(p, 17, udp.length), ...udp]) &&
          parsed?.protocol === 17 &&
          parsed.body.length === udp.length
        );
      },
    ),
  );
  t.is(parseIpPacket(buildUdp({ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(0) }))?.dst, '192.0.2.2');
});

test('readers reject malformed headers instead of trusting them', (t) => {
  const good = buildUdp({ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(10) });
  t.is(ipPacketLength(good, 0, good.length - 1), -1, 'shorter than it claims');
  t.is(ipPacketLength(new Uint8Array(10), 0, 10), -1, 'version 0');
  t.is(ipPacketLength(Uint8Array.of(0x45), 0, 1), -1, 'truncated header');
  const badIhl = good.slice();
  badIhl[0] = 0x44;
  t.is(ipPacketLength(badIhl, 0, badIhl.length), -1, 'IHL below 5');
  t.is(ipPacketLength(good, 0, good.length + 5), -1, 'available past the buffer');
  t.is(parseIpPacket(Uint8Array.of(0x60, 0, 0)), undefined);
  const inBigger = new Uint8Array(good.length + 7);
  inBigger.set(good, 7);
  t.is(ipPacketLength(inBigger, 7, good.length), good.length, 'works at an offset');
  t.is(ipv4Destination(inBigger, 7), 0xc0000202);
  t.throws(() => buildUdp({ src: '192.0.2.1', dst: 'fd00::1', srcPort: 1, dstPort: 1, payload: new Uint8Array(0) }), { message: /differ in family/ });
  t.throws(() => buildIcmpEcho({ src: 'x', dst: '192.0.2.1', id: 1, seq: 1 }), { message: /invalid IP address "x"/ });
});
