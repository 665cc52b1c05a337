/**
 * Test helpers: two DeviceCore instances wired through an in-memory "network" of outbound queues. They run on the
 * reference suites (referenceHandshakeCrypto, referenceAeadBackend): nothing here loads the addon.
 */
import { seededRng } from '../../src/crypto/random.js';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import { DeviceCore, type Result } from '../../src/protocol/device-core.js';
import type { Peer, Outbound } from '../../src/protocol/peer.js';
import { transportMessageLength } from '../../src/protocol/session.js';
import { TransportAead } from '../../src/crypto/transport-aead.js';
import { referenceAeadBackend } from '../../src/crypto/reference-aead.js';
import { referenceHandshakeCrypto } from '../../src/crypto/reference-handshake.js';

export type Ep = string;
export const EP_A = '10.0.0.1:51820';
export const EP_B = '10.0.0.2:51820';
export const EPOCH = 1_700_000_000_000;

export interface Side {
  proto: DeviceCore<Ep>;
  peer: Peer<Ep>; // the other side, as seen from here
  ep: Ep; // our own endpoint
}

export function makeProtocol(seed: number, privateKey?: Uint8Array): DeviceCore<Ep> {
  const rng = seededRng(seed);
  return new DeviceCore<Ep>({
    privateKey: privateKey ?? generatePrivateKey(rng),
    rng,
    aead: referenceAead(),
    handshakeCrypto: referenceHandshakeCrypto,
    epochOffsetMs: EPOCH,
    endpointBytes: (e) => new TextEncoder().encode(e),
  });
}

/** A and B know each other; A knows B's endpoint. Allowed IPs: A = 10.9.0.1/32, B = 10.9.0.2/32. */
export function makePair(opts: { pskA?: Uint8Array; pskB?: Uint8Array; seedA?: number; seedB?: number } = {}): { a: Side; b: Side } {
  const pa = makeProtocol(opts.seedA ?? 1);
  const pb = makeProtocol(opts.seedB ?? 2);
  const peerB = pa.addPeer(pb.local.publicKey, opts.pskA);
  const peerA = pb.addPeer(pa.local.publicKey, opts.pskB);
  peerB.endpoint = EP_B;
  pa.allowedIps.insert(4, Uint8Array.of(10, 9, 0, 2), 32, peerB);
  pb.allowedIps.insert(4, Uint8Array.of(10, 9, 0, 1), 32, peerA);
  return { a: { proto: pa, peer: peerB, ep: EP_A }, b: { proto: pb, peer: peerA, ep: EP_B } };
}

/** A minimal IPv4 packet from src to dst with `payloadLen` bytes of payload. */
export function ipv4(src: number[], dst: number[], payloadLen: number, fill = 0xab): Uint8Array {
  const p = new Uint8Array(20 + payloadLen).fill(fill);
  p[0] = 0x45;
  p[1] = 0;
  p[2] = (p.length >> 8) & 0xff;
  p[3] = p.length & 0xff;
  p.set(src, 12);
  p.set(dst, 16);
  return p;
}

export interface Delivery {
  from: Side;
  to: Side;
  out: Outbound<Ep>;
  result: Result<Ep>;
  plaintext: Uint8Array | null;
}

/** Delivers one datagram `data` to `to` as if it came from `from`, decrypting into a fresh buffer. */
export function deliver(from: Side, to: Side, data: Uint8Array, now: number): { result: Result<Ep>; plaintext: Uint8Array | null } {
  const dst = new Uint8Array(data.length);
  const r = to.proto.decapsulate(data, 0, data.length, from.ep, now, dst, 0);
  const result = r.kind === 'tunnel' ? { ...r } : r;
  return { result, plaintext: r.kind === 'tunnel' ? dst.slice(r.offset, r.offset + r.length) : null };
}

/** Moves every queued datagram between the sides until both queues are empty. Returns what was delivered. */
export function pump(a: Side, b: Side, now: number, drop?: (d: Outbound<Ep>, from: Side) => boolean): Delivery[] {
  const log: Delivery[] = [];
  for (let round = 0; round < 50; round++) {
    const qa = a.proto.takeOutbound();
    const qb = b.proto.takeOutbound();
    if (qa.length === 0 && qb.length === 0) return log;
    for (const [q, from, to] of [[qa, a, b], [qb, b, a]] as const) {
      for (const out of q) {
        if (drop?.(out, from)) continue;
        const { result, plaintext } = deliver(from, to, out.data, now);
        log.push({ from, to, out, result, plaintext });
      }
    }
  }
  throw new Error('pump did not settle');
}

/** Encapsulates `packet` from `from` towards its peer; returns the datagram or null if it was staged. */
export function encap(from: Side, packet: Uint8Array, now: number): Uint8Array | null {
  const dst = new Uint8Array(transportMessageLength(packet.length));
  const n = from.proto.encapsulate(from.peer, packet, 0, packet.length, dst, 0, now);
  return n === 0 ? null : dst.subarray(0, n);
}

/** Runs a complete handshake (A initiates by sending a packet) and returns the deliveries. */
export function handshake(a: Side, b: Side, now: number): Delivery[] {
  const staged = encap(a, ipv4([10, 9, 0, 1], [10, 9, 0, 2], 8), now);
  if (staged !== null) throw new Error('expected the first packet to be staged');
  return pump(a, b, now);
}

/** The transport cipher tests use: the pure-JavaScript reference backend, so the protocol runs without the addon. */
export function referenceAead(): TransportAead {
  return new TransportAead(referenceAeadBackend);
}
