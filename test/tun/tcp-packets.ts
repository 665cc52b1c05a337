/**
 * Test helpers for the offload tests: hand-built TCP/UDP packets over IPv4/IPv6, and an independent, deliberately
 * naive checksum (word by word, folding every step) to verify what src/packet/checksum.ts computes.
 */

export const SRC4 = [10, 1, 2, 3];
export const DST4 = [10, 4, 5, 6];
export const SRC6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
export const DST6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

export interface TcpSpec {
  v: 4 | 6;
  seq: number;
  flags: number;
  payload: Uint8Array;
  ack?: number;
  window?: number;
  id?: number;
  options?: number[];
  srcPort?: number;
  dstPort?: number;
  ttl?: number;
  /** 'full' (valid checksum, default), 'pseudo' (pseudo-header sum only: what NEEDS_CSUM packets carry), 'bad'. */
  csum?: 'full' | 'pseudo' | 'bad';
  ipv4Options?: number[];
}

/** The naive Internet checksum sum (folded, not complemented) of a byte list. */
export function naiveSum(bytes: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    s += (bytes[i]! << 8) | (i + 1 < bytes.length ? bytes[i + 1]! : 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return s;
}

function pseudo(v: 4 | 6, pkt: Uint8Array, ipLen: number, proto: number): number[] {
  const addrs = v === 4 ? [...pkt.subarray(12, 20)] : [...pkt.subarray(8, 40)];
  const len = pkt.length - ipLen;
  return [...addrs, 0, proto, len >> 8, len & 0xff];
}

function ipHeaderLength(pkt: Uint8Array): number {
  return pkt[0]! >> 4 === 4 ? (pkt[0]! & 0x0f) * 4 : 40;
}

/** Whether the transport checksum of a whole packet holds (proto 6 or 17). */
export function transportChecksumOk(pkt: Uint8Array): boolean {
  const v = (pkt[0]! >> 4) as 4 | 6;
  const ipLen = ipHeaderLength(pkt);
  const proto = v === 4 ? pkt[9]! : pkt[6]!;
  return naiveSum([...pseudo(v, pkt, ipLen, proto), ...pkt.subarray(ipLen)]) === 0xffff;
}

export function ipv4HeaderOk(pkt: Uint8Array): boolean {
  return naiveSum(pkt.subarray(0, (pkt[0]! & 0x0f) * 4)) === 0xffff;
}

function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

function put32(b: Uint8Array, off: number, v: number): void {
  put16(b, off, (v >>> 16) & 0xffff);
  put16(b, off + 2, v & 0xffff);
}

function ipHeader(v: 4 | 6, proto: number, transportLen: number, id: number, ttl: number, options: number[]): Uint8Array {
  if (v === 4) {
    const ihl = 20 + options.length;
    const h = new Uint8Array(ihl);
    h[0] = 0x40 | (ihl / 4);
    put16(h, 2, ihl + transportLen);
    put16(h, 4, id);
    h[6] = 0x40; // DF
    h[8] = ttl;
    h[9] = proto;
    h.set(SRC4, 12);
    h.set(DST4, 16);
    h.set(options, 20);
    put16(h, 10, ~naiveSum(h) & 0xffff);
    return h;
  }
  const h = new Uint8Array(40);
  h[0] = 0x60;
  put16(h, 4, transportLen);
  h[6] = proto;
  h[7] = ttl;
  h.set(SRC6, 8);
  h.set(DST6, 24);
  return h;
}

function finish(v: 4 | 6, pkt: Uint8Array, ipLen: number, proto: number, at: number, mode: 'full' | 'pseudo' | 'bad'): Uint8Array {
  if (mode === 'pseudo') {
    put16(pkt, at, naiveSum(pseudo(v, pkt, ipLen, proto)));
  } else {
    put16(pkt, at, ~naiveSum([...pseudo(v, pkt, ipLen, proto), ...pkt.subarray(ipLen)]) & 0xffff);
    if (mode === 'bad') pkt[at]! ^= 0x5a;
  }
  return pkt;
}

export function tcpPacket(s: TcpSpec): Uint8Array {
  const options = s.options ?? [];
  const thl = 20 + options.length;
  const ip = ipHeader(s.v, 6, thl + s.payload.length, s.id ?? 0x1234, s.ttl ?? 64, s.ipv4Options ?? []);
  const pkt = new Uint8Array(ip.length + thl + s.payload.length);
  pkt.set(ip);
  const t = ip.length;
  put16(pkt, t, s.srcPort ?? 40000);
  put16(pkt, t + 2, s.dstPort ?? 5201);
  put32(pkt, t + 4, s.seq >>> 0);
  put32(pkt, t + 8, s.ack ?? 0xabcdef01);
  pkt[t + 12] = (thl / 4) << 4;
  pkt[t + 13] = s.flags;
  put16(pkt, t + 14, s.window ?? 502);
  pkt.set(options, t + 20);
  pkt.set(s.payload, t + thl);
  return finish(s.v, pkt, ip.length, 6, t + 16, s.csum ?? 'full');
}

export function udpPacket(v: 4 | 6, payload: Uint8Array, csum: 'full' | 'pseudo' = 'full'): Uint8Array {
  const ip = ipHeader(v, 17, 8 + payload.length, 7, 64, []);
  const pkt = new Uint8Array(ip.length + 8 + payload.length);
  pkt.set(ip);
  const u = ip.length;
  put16(pkt, u, 1111);
  put16(pkt, u + 2, 2222);
  put16(pkt, u + 4, 8 + payload.length);
  pkt.set(payload, u + 8);
  return finish(v, pkt, ip.length, 17, u + 6, csum);
}

/** Deterministic payload bytes. */
export function payloadOf(n: number, seed: number): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return p;
}

export function read32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}
