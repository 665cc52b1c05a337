/**
 * The TUN offload codecs, no root: checksum (against a naive oracle), virtio_net_hdr, TSO/USO split, NEEDS_CSUM
 * completion, GRO coalescing (what merges and what must not), and the VnetReader that ties them together.
 */
import test from 'ava';
import fc from 'fast-check';
import { PacketBatch } from '../../src/packet/batch.js';
import { checksumAdd, fold16 } from '../../src/packet/checksum.js';
import { GroPlanner, GRO_MAX_SEGMENTS } from '../../src/tun/offload/coalesce.js';
import { VnetReader } from '../../src/tun/offload/reader.js';
import { finishChecksum, gsoCheck, gsoSplit } from '../../src/tun/offload/split.js';
import { TCP_FLAG_ACK, TCP_FLAG_CWR, TCP_FLAG_FIN, TCP_FLAG_PSH, TCP_FLAG_SYN } from '../../src/packet/ip-header.js';
import {
  emptyVnetHeader,
  formatVnetHeader,
  parseVnetHeader,
  VNET_HDR_BYTES,
  VNET_HDR_F_NEEDS_CSUM,
  VNET_HDR_GSO_NONE,
  VNET_HDR_GSO_TCPV4,
  VNET_HDR_GSO_TCPV6,
  VNET_HDR_GSO_UDP_L4,
  type VnetHeader,
} from '../../src/tun/offload/vnet-header.js';
import { ipv4HeaderOk, naiveSum, payloadOf, read32, tcpPacket, transportChecksumOk, udpPacket } from './tcp-packets.js';

const ACK = TCP_FLAG_ACK;

// ---- checksum ------------------------------------------------------------------------------------------------

test('checksumAdd + fold16 equal the naive word-by-word sum for any bytes, offset and length', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.nat(7), fc.nat(0xffff), (bytes, skip, initial) => {
      const buf = new Uint8Array(bytes.length + skip);
      buf.set(bytes, skip);
      const ours = fold16(checksumAdd(buf, skip, bytes.length, initial));
      let naive = naiveSum(bytes) + initial;
      naive = (naive & 0xffff) + (naive >>> 16);
      // 0 and 0xffff are the same number in one's complement; compare modulo that.
      return ours % 0xffff === naive % 0xffff;
    }),
  );
  t.is(fold16(checksumAdd(Uint8Array.of(0x45, 0x00, 0x00, 0x1c), 0, 4, 0)), 0x451c);
});

// ---- virtio_net_hdr --------------------------------------------------------------------------------------------

test('virtio_net_hdr: little-endian fields round-trip; short buffers are refused', (t) => {
  const h: VnetHeader = { flags: VNET_HDR_F_NEEDS_CSUM, gsoType: VNET_HDR_GSO_TCPV6, hdrLen: 72, gsoSize: 1388, csumStart: 40, csumOffset: 16 };
  const buf = new Uint8Array(12);
  formatVnetHeader(h, buf, 2);
  t.deepEqual([...buf.subarray(2)], [1, 4, 72, 0, 0x6c, 0x05, 40, 0, 16, 0]);
  t.deepEqual(parseVnetHeader(buf, 2, emptyVnetHeader()), h);
  t.throws(() => parseVnetHeader(buf, 3, emptyVnetHeader()), { instanceOf: RangeError });
  t.throws(() => formatVnetHeader(h, new Uint8Array(9), 0), { instanceOf: RangeError });
});

// ---- TSO split ------------------------------------------------------------------------------------------------

/** A batch whose buffer also holds `input` beyond its slots (where a TUN read would be); returns its offset. */
function batchWithInput(input: Uint8Array, capacity = 64, slot = 2048): { out: PacketBatch; off: number } {
  const buf = new Uint8Array(capacity * slot + input.length + 16);
  const off = capacity * slot + 16;
  buf.set(input, off);
  return { out: new PacketBatch(capacity, slot, { buf }), off };
}

function superHeader(v: 4 | 6, gso: number, ipLen: number): VnetHeader {
  return {
    flags: VNET_HDR_F_NEEDS_CSUM,
    gsoType: v === 4 ? VNET_HDR_GSO_TCPV4 : VNET_HDR_GSO_TCPV6,
    hdrLen: 0, // the kernel's hint is not trusted: gsoCheck recomputes it
    gsoSize: gso,
    csumStart: ipLen,
    csumOffset: 16,
  };
}

for (const v of [4, 6] as const) {
  test(`TSO split, IPv${v}: headers, sequence numbers, flags and checksums of every segment`, (t) => {
    const mss = 1000;
    const data = payloadOf(3 * mss + 456, v);
    const options = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]; // NOP NOP timestamps
    const seq0 = 0xffff_fc00; // wraps during the split
    const superPkt = tcpPacket({ v, seq: seq0, flags: ACK | TCP_FLAG_PSH | TCP_FLAG_FIN | TCP_FLAG_CWR, payload: data, options, id: 0xfffe, csum: 'pseudo' });
    const ipLen = v === 4 ? 20 : 40;
    const { out, off } = batchWithInput(superPkt);
    const h = superHeader(v, mss, ipLen);
    t.is(gsoCheck(out.buf, off, superPkt.length, h), 4);
    t.is(h.hdrLen, ipLen + 32);
    t.is(gsoSplit(out, off, superPkt.length, h), 4);
    t.is(out.count, 4);
    for (let i = 0; i < 4; i++) {
      const seg = out.view(i);
      const dataLen = i < 3 ? mss : 456;
      t.is(seg.length, ipLen + 32 + dataLen);
      if (v === 4) {
        t.is((seg[2]! << 8) | seg[3]!, seg.length, 'total length');
        t.is((seg[4]! << 8) | seg[5]!, (0xfffe + i) & 0xffff, 'IPv4 id + i');
        t.true(ipv4HeaderOk(seg), 'IPv4 header checksum');
      } else {
        t.is((seg[4]! << 8) | seg[5]!, seg.length - 40, 'payload length');
      }
      t.is(read32(seg, ipLen + 4), (seq0 + i * mss) >>> 0, 'sequence number');
      const flags = seg[ipLen + 13]!;
      t.is((flags & (TCP_FLAG_FIN | TCP_FLAG_PSH)) !== 0, i === 3, 'FIN/PSH only on the last');
      t.is((flags & TCP_FLAG_CWR) !== 0, i === 0, 'CWR only on the first');
      t.true((flags & ACK) !== 0);
      t.deepEqual([...seg.subarray(ipLen + 20, ipLen + 32)], options);
      t.deepEqual(seg.subarray(ipLen + 32), data.subarray(i * mss, i * mss + dataLen));
      t.true(transportChecksumOk(seg), `TCP checksum of segment ${i}`);
    }
  });
}

test('USO split: UDP_L4 super-packets become datagrams with their own length and checksum', (t) => {
  const data = payloadOf(2 * 1200 + 7, 3);
  const superPkt = udpPacket(4, data, 'pseudo');
  const { out, off } = batchWithInput(superPkt);
  const h: VnetHeader = { flags: VNET_HDR_F_NEEDS_CSUM, gsoType: VNET_HDR_GSO_UDP_L4, hdrLen: 28, gsoSize: 1200, csumStart: 20, csumOffset: 6 };
  t.is(gsoCheck(out.buf, off, superPkt.length, h), 3);
  gsoSplit(out, off, superPkt.length, h);
  t.deepEqual([0, 1, 2].map((i) => out.lengths[i]), [1228, 1228, 35]);
  for (let i = 0; i < 3; i++) {
    const seg = out.view(i);
    t.is((seg[24]! << 8) | seg[25]!, seg.length - 20, 'UDP length');
    t.true(ipv4HeaderOk(seg));
    t.true(transportChecksumOk(seg));
  }
});

test('gsoCheck refuses what the kernel should never send, before touching anything', (t) => {
  const pkt4 = tcpPacket({ v: 4, seq: 1, flags: ACK, payload: payloadOf(3000, 1), csum: 'pseudo' });
  const pkt6 = tcpPacket({ v: 6, seq: 1, flags: ACK, payload: payloadOf(3000, 1), csum: 'pseudo' });
  const ok = superHeader(4, 1000, 20);
  t.is(gsoCheck(pkt4, 0, pkt4.length, { ...ok }), 3);
  t.is(gsoCheck(pkt4, 0, pkt4.length, { ...ok, gsoType: VNET_HDR_GSO_TCPV6 }), -1, 'TCPV6 on an IPv4 packet');
  t.is(gsoCheck(pkt6, 0, pkt6.length, { ...superHeader(6, 1000, 40), gsoType: VNET_HDR_GSO_TCPV4 }), -1, 'TCPV4 on IPv6');
  t.is(gsoCheck(pkt4, 0, pkt4.length, { ...ok, gsoType: 2 }), -1, 'unknown gso type');
  t.is(gsoCheck(pkt4, 0, pkt4.length, { ...ok, gsoSize: 0 }), -1, 'gso_size 0');
  t.is(gsoCheck(pkt4, 0, pkt4.length, { ...ok, csumOffset: 6 }), -1, 'UDP checksum offset on TCP');
  t.is(gsoCheck(pkt4, 0, pkt4.length, { ...ok, csumStart: 24 }), -1, 'csum_start is not the IP header length');
  t.is(gsoCheck(pkt4, 0, 40, { ...ok }), -1, 'no payload');
  t.is(gsoCheck(pkt4, 0, 30, { ...ok }), -1, 'truncated TCP header');
  const badThl = pkt4.slice();
  badThl[32] = 0x40; // data offset 4 words = 16 bytes
  t.is(gsoCheck(badThl, 0, badThl.length, { ...ok }), -1, 'TCP header shorter than 20 bytes');
  t.is(gsoCheck(pkt4, 0, pkt4.length + 1, { ...ok }), -1, 'longer than the buffer');
  const { out, off } = batchWithInput(pkt4, 2);
  const h = { ...ok };
  t.is(gsoCheck(out.buf, off, pkt4.length, h), 3);
  t.throws(() => gsoSplit(out, off, pkt4.length, h), { instanceOf: RangeError }, 'no room for 3 segments in 2 slots');
  t.is(out.count, 0);
});

test('NEEDS_CSUM without GSO: the pseudo-header sum in the field becomes the full checksum (TCP and UDP)', (t) => {
  for (const pkt of [
    tcpPacket({ v: 4, seq: 9, flags: ACK | TCP_FLAG_PSH, payload: payloadOf(333, 2), csum: 'pseudo' }),
    tcpPacket({ v: 6, seq: 9, flags: ACK, payload: payloadOf(100, 2), csum: 'pseudo' }),
    udpPacket(6, payloadOf(51, 4), 'pseudo'),
  ]) {
    t.false(transportChecksumOk(pkt));
    const v = pkt[0]! >> 4;
    const ipLen = v === 4 ? 20 : 40;
    const udp = (v === 4 ? pkt[9] : pkt[6]) === 17;
    t.true(finishChecksum(pkt, 0, pkt.length, { ...emptyVnetHeader(), flags: VNET_HDR_F_NEEDS_CSUM, csumStart: ipLen, csumOffset: udp ? 6 : 16 }));
    t.true(transportChecksumOk(pkt));
  }
  const short = udpPacket(4, new Uint8Array(0));
  t.false(finishChecksum(short, 0, short.length, { ...emptyVnetHeader(), csumStart: 20, csumOffset: 16 }), 'field beyond the packet');
});

// ---- GRO ------------------------------------------------------------------------------------------------------

function batchOf(packets: Uint8Array[], slot = 2048): PacketBatch {
  const b = new PacketBatch(Math.max(1, packets.length), slot);
  for (const p of packets) b.push(p);
  return b;
}

/** What the kernel would receive for write w: the header and the gathered slices. */
function gathered(g: GroPlanner, batch: PacketBatch, w: number): { hdr: VnetHeader; pkt: Uint8Array } {
  let slice = 0;
  for (let k = 0; k < w; k++) slice += g.parts[k]!;
  const chunks: number[] = [];
  for (let k = 0; k < g.parts[w]!; k++) {
    const o = g.offsets[slice + k]!;
    chunks.push(...batch.buf.subarray(o, o + g.lengths[slice + k]!));
  }
  return { hdr: parseVnetHeader(g.heads, w * VNET_HDR_BYTES, emptyVnetHeader()), pkt: Uint8Array.from(chunks) };
}

function flow(v: 4 | 6, n: number, mss: number, opts: { seq?: number; last?: number; lastFlags?: number } = {}): Uint8Array[] {
  const seq0 = opts.seq ?? 1000;
  return Array.from({ length: n }, (_, i) => {
    const len = i === n - 1 && opts.last !== undefined ? opts.last : mss;
    return tcpPacket({ v, seq: seq0 + i * mss, flags: i === n - 1 && opts.lastFlags !== undefined ? opts.lastFlags : ACK, payload: payloadOf(len, i), id: 100 + i });
  });
}

for (const v of [4, 6] as const) {
  test(`GRO, IPv${v}: a run of one flow becomes one super-packet that splits back into the same segments`, (t) => {
    const originals = flow(v, 5, 1200, { last: 700, lastFlags: ACK | TCP_FLAG_PSH });
    const batch = batchOf(originals.map((p) => p.slice()));
    const g = new GroPlanner(64);
    g.plan(batch);
    t.is(g.writes, 1);
    t.is(g.parts[0], 5);
    t.is(g.packets[0], 5);
    t.is(g.merged, 4);
    const { hdr, pkt } = gathered(g, batch, 0);
    const ipLen = v === 4 ? 20 : 40;
    t.deepEqual(hdr, {
      flags: VNET_HDR_F_NEEDS_CSUM,
      gsoType: v === 4 ? VNET_HDR_GSO_TCPV4 : VNET_HDR_GSO_TCPV6,
      hdrLen: ipLen + 20,
      gsoSize: 1200,
      csumStart: ipLen,
      csumOffset: 16,
    });
    t.is(pkt.length, ipLen + 20 + 4 * 1200 + 700);
    if (v === 4) {
      t.is((pkt[2]! << 8) | pkt[3]!, pkt.length);
      t.true(ipv4HeaderOk(pkt));
    } else {
      t.is((pkt[4]! << 8) | pkt[5]!, pkt.length - 40);
    }
    t.true((pkt[ipLen + 13]! & TCP_FLAG_PSH) !== 0, 'PSH of the last segment carried over');
    // The kernel's TSO of that super-packet gives back the original segments (our split is the oracle's twin).
    const { out, off } = batchWithInput(pkt);
    t.is(gsoCheck(out.buf, off, pkt.length, hdr), 5);
    gsoSplit(out, off, pkt.length, hdr);
    for (let i = 0; i < 5; i++) t.deepEqual(out.view(i), originals[i], `segment ${i}`);
  });
}

test('GRO: what must not merge stays apart, in order', (t) => {
  const mss = 1000;
  const cases: Array<[string, Uint8Array[], number[]]> = [
    ['another port', [tcpPacket({ v: 4, seq: 0, flags: ACK, payload: payloadOf(mss, 0) }), tcpPacket({ v: 4, seq: mss, flags: ACK, payload: payloadOf(mss, 1), dstPort: 1 })], [1, 1]],
    ['a sequence gap', [tcpPacket({ v: 4, seq: 0, flags: ACK, payload: payloadOf(mss, 0) }), tcpPacket({ v: 4, seq: mss + 1, flags: ACK, payload: payloadOf(mss, 1) })], [1, 1]],
    ['PSH ends a group', flow(4, 3, mss, { lastFlags: ACK }).map((p, i) => (i === 0 ? tcpPacket({ v: 4, seq: 1000, flags: ACK | TCP_FLAG_PSH, payload: payloadOf(mss, 0) }) : p)), [1, 2]],
    ['a longer segment after a shorter one', [tcpPacket({ v: 4, seq: 0, flags: ACK, payload: payloadOf(500, 0) }), tcpPacket({ v: 4, seq: 500, flags: ACK, payload: payloadOf(mss, 1) })], [1, 1]],
    ['nothing after a short segment', [...flow(4, 2, mss, { last: 10 }), tcpPacket({ v: 4, seq: 1000 + mss + 10, flags: ACK, payload: payloadOf(10, 9) })], [2, 1]],
    ['another ACK number', [tcpPacket({ v: 4, seq: 0, flags: ACK, payload: payloadOf(mss, 0) }), tcpPacket({ v: 4, seq: mss, flags: ACK, payload: payloadOf(mss, 1), ack: 5 })], [1, 1]],
    ['other TCP options', [tcpPacket({ v: 4, seq: 0, flags: ACK, payload: payloadOf(mss, 0), options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2] }), tcpPacket({ v: 4, seq: mss, flags: ACK, payload: payloadOf(mss, 1), options: [1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 2] })], [1, 1]],
    ['another window', [tcpPacket({ v: 4, seq: 0, flags: ACK, payload: payloadOf(mss, 0) }), tcpPacket({ v: 4, seq: mss, flags: ACK, payload: payloadOf(mss, 1), window: 9 })], [1, 1]],
    ['another TTL', [tcpPacket({ v: 4, seq: 0, flags: ACK, payload: payloadOf(mss, 0) }), tcpPacket({ v: 4, seq: mss, flags: ACK, payload: payloadOf(mss, 1), ttl: 3 })], [1, 1]],
    ['a bad checksum', [tcpPacket({ v: 4, seq: 0, flags: ACK, payload: payloadOf(mss, 0) }), tcpPacket({ v: 4, seq: mss, flags: ACK, payload: payloadOf(mss, 1), csum: 'bad' })], [1, 1]],
    ['a bad checksum on the head', [tcpPacket({ v: 4, seq: 0, flags: ACK, payload: payloadOf(mss, 0), csum: 'bad' }), tcpPacket({ v: 4, seq: mss, flags: ACK, payload: payloadOf(mss, 1) })], [1, 1]],
    ['SYN is no candidate', [tcpPacket({ v: 4, seq: 0, flags: ACK | TCP_FLAG_SYN, payload: payloadOf(mss, 0) }), tcpPacket({ v: 4, seq: mss, flags: ACK, payload: payloadOf(mss, 1) })], [1, 1]],
    ['IPv4 options are no candidate', [tcpPacket({ v: 4, seq: 0, flags: ACK, payload: payloadOf(mss, 0), ipv4Options: [1, 1, 1, 0] }), tcpPacket({ v: 4, seq: mss, flags: ACK, payload: payloadOf(mss, 1), ipv4Options: [1, 1, 1, 0] })], [1, 1]],
    ['pure ACKs (no payload)', [tcpPacket({ v: 4, seq: 0, flags: ACK, payload: new Uint8Array(0) }), tcpPacket({ v: 4, seq: 0, flags: ACK, payload: new Uint8Array(0) })], [1, 1]],
    ['UDP', [udpPacket(4, payloadOf(100, 1)), udpPacket(4, payloadOf(100, 1))], [1, 1]],
    ['IPv4 and IPv6', [tcpPacket({ v: 4, seq: 0, flags: ACK, payload: payloadOf(mss, 0) }), tcpPacket({ v: 6, seq: mss, flags: ACK, payload: payloadOf(mss, 1) })], [1, 1]],
  ];
  const g = new GroPlanner(8);
  for (const [what, packets, parts] of cases) {
    const batch = batchOf(packets);
    g.plan(batch);
    t.deepEqual([...g.parts.subarray(0, g.writes)], parts, what);
    // Unmerged packets are written unchanged behind a zero header.
    let slice = 0;
    for (let w = 0; w < g.writes; w++) {
      if (g.parts[w] === 1) {
        t.true(g.heads.subarray(w * VNET_HDR_BYTES, (w + 1) * VNET_HDR_BYTES).every((b) => b === 0), `${what}: zero header`);
        t.is(g.lengths[slice], batch.lengths[[...batch.offsets].indexOf(g.offsets[slice]!)], `${what}: whole packet`);
      }
      slice += g.parts[w]!;
    }
  }
});

test('GRO: interleaved flows each coalesce; groups keep the order of their first packets; 64 segments at most', (t) => {
  const a = flow(4, 3, 800);
  const b = flow(6, 3, 900);
  const batch = batchOf([a[0]!, b[0]!, a[1]!, b[1]!, a[2]!, b[2]!]);
  const g = new GroPlanner(8);
  g.plan(batch);
  t.is(g.writes, 2);
  t.deepEqual([g.heads[1], g.heads[VNET_HDR_BYTES + 1]], [VNET_HDR_GSO_TCPV4, VNET_HDR_GSO_TCPV6]);
  t.deepEqual([...g.parts.subarray(0, 2)], [3, 3]);

  const long = flow(4, GRO_MAX_SEGMENTS + 6, 100);
  const big = batchOf(long, 256);
  const g2 = new GroPlanner(128);
  g2.plan(big);
  t.deepEqual([...g2.parts.subarray(0, g2.writes)], [GRO_MAX_SEGMENTS, 6]);
});

// ---- VnetReader ------------------------------------------------------------------------------------------------

test('VnetReader: plain packets stay where they were read, NEEDS_CSUM is finished, super-packets are split', (t) => {
  const r = new VnetReader(8, 16, 4);
  const put = (j: number, h: VnetHeader, pkt: Uint8Array): void => {
    const at = j * r.rawSlot;
    formatVnetHeader(h, r.rawArena, at);
    r.rawArena.set(pkt, at + VNET_HDR_BYTES);
    r.rawLengths[j] = VNET_HDR_BYTES + pkt.length;
  };
  const plain = udpPacket(4, payloadOf(40, 1));
  const partial = tcpPacket({ v: 6, seq: 5, flags: ACK, payload: payloadOf(77, 2), csum: 'pseudo' });
  const superPkt = tcpPacket({ v: 4, seq: 10, flags: ACK, payload: payloadOf(6 * 1000, 3), csum: 'pseudo' });
  put(0, emptyVnetHeader(), plain);
  put(1, { ...emptyVnetHeader(), flags: VNET_HDR_F_NEEDS_CSUM, csumStart: 40, csumOffset: 16 }, partial);
  put(2, superHeader(4, 1000, 20), superPkt);
  put(3, { ...superHeader(4, 1000, 20), gsoType: 9 }, superPkt); // unknown type: dropped
  const seen: number[][] = [];
  const packets: Uint8Array[] = [];
  r.process(4, (b) => {
    seen.push([b.count]);
    for (let i = 0; i < b.count; i++) packets.push(b.view(i).slice());
  });
  t.deepEqual(seen, [[8]], 'one batch of 1 + 1 + 6');
  t.is(r.dropped, 1);
  t.deepEqual(packets[0], plain);
  t.true(transportChecksumOk(packets[1]!));
  for (const seg of packets.slice(2)) t.true(transportChecksumOk(seg) && ipv4HeaderOk(seg));
  t.is(r.rx.offsets[0], r.rawArena.byteOffset + VNET_HDR_BYTES, 'the plain packet was not copied');
  // Another round where the segments do not fit behind what is there: two deliveries.
  put(0, emptyVnetHeader(), plain);
  put(1, superHeader(4, 1000, 20), superPkt);
  put(2, superHeader(4, 1000, 20), superPkt);
  seen.length = 0;
  r.process(3, (b) => seen.push([b.count]));
  t.deepEqual(seen, [[7], [6]]);
  t.is(VNET_HDR_GSO_NONE, 0);
});
