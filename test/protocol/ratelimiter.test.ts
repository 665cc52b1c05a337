/** The per-source handshake rate limiter: the bucket arithmetic with a fake clock, and its place in the protocol. */
import test from 'ava';
import { seededRng } from '../../src/crypto/random.js';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import {
  HANDSHAKE_BURST_PER_SOURCE, HANDSHAKES_PER_SOURCE_PER_S, RATELIMIT_IDLE_MS, REKEY_TIMEOUT_MS,
} from '../../src/protocol/constants.js';
import { INIT_OFF_MAC2 } from '../../src/protocol/messages.js';
import type { Peer } from '../../src/protocol/peer.js';
import { DeviceCore, type Result } from '../../src/protocol/device-core.js';
import { RateLimiter, TokenBucket } from '../../src/protocol/ratelimiter.js';
import { parseIp } from '../../src/net/ip.js';
import { referenceHandshakeCrypto } from '../../src/crypto/reference-handshake.js';
import { EPOCH, ipv4, referenceAead } from './helpers.js';

const T0 = 5_000_000;
const COST_MS = 1000 / HANDSHAKES_PER_SOURCE_PER_S;
const v4 = (s: string): Uint8Array => parseIp(s)!.bytes;
const v6 = (s: string): Uint8Array => parseIp(s)!.bytes;

/** How many of `n` messages at the same instant are allowed. */
function burst(rl: RateLimiter, addr: Uint8Array, n: number, now: number): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) if (rl.allow(addr, now)) allowed++;
  return allowed;
}

test('a new source gets the burst, then is limited until time refills its bucket', (t) => {
  const rl = new RateLimiter();
  const a = v4('192.0.2.1');
  t.is(burst(rl, a, 20, T0), HANDSHAKE_BURST_PER_SOURCE);
  t.false(rl.allow(a, T0 + COST_MS - 1), 'less than one message worth of time is not enough');
  t.true(rl.allow(a, T0 + COST_MS), 'one message per 1000/rate ms');
  t.false(rl.allow(a, T0 + COST_MS));
  // Steady sending at the rate is all allowed; twice the rate gets half through.
  let allowed = 0;
  for (let i = 1; i <= 100; i++) if (rl.allow(a, T0 + COST_MS + i * COST_MS)) allowed++;
  t.is(allowed, 100);
  let fast = 0;
  const start = T0 + 101 * COST_MS;
  for (let i = 1; i <= 100; i++) if (rl.allow(a, start + (i * COST_MS) / 2)) fast++;
  t.is(fast, 50);
  // After a long pause the bucket is full again, but never more than the burst.
  t.is(burst(rl, a, 20, start + 60_000), HANDSHAKE_BURST_PER_SOURCE);
});

test('sources are independent; IPv4 is keyed per address, IPv4-mapped IPv6 like IPv4', (t) => {
  const rl = new RateLimiter();
  t.is(burst(rl, v4('192.0.2.1'), 10, T0), HANDSHAKE_BURST_PER_SOURCE);
  t.is(burst(rl, v4('192.0.2.2'), 10, T0), HANDSHAKE_BURST_PER_SOURCE, 'a neighbour has its own bucket');
  t.false(rl.allow(v6('::ffff:192.0.2.1'), T0), 'the mapped form is the same IPv4 source');
  t.is(burst(rl, v6('::ffff:192.0.2.3'), 10, T0), HANDSHAKE_BURST_PER_SOURCE, 'mapped addresses are not lumped into one /64');
});

test('IPv6 sources in one /64 share a bucket; another /64 does not', (t) => {
  const rl = new RateLimiter();
  t.is(burst(rl, v6('2001:db8:1:2::1'), 3, T0), 3);
  t.is(burst(rl, v6('2001:db8:1:2:ffff:eeee:dddd:cccc'), 10, T0), HANDSHAKE_BURST_PER_SOURCE - 3);
  t.is(burst(rl, v6('2001:db8:1:3::1'), 10, T0), HANDSHAKE_BURST_PER_SOURCE);
  t.is(rl.size, 2);
});

test('idle sources are collected, driven by the caller\'s clock', (t) => {
  const rl = new RateLimiter();
  for (let i = 0; i < 100; i++) rl.allow(Uint8Array.of(10, 0, 0, i), T0);
  t.is(rl.size, 100);
  rl.collect(T0 + RATELIMIT_IDLE_MS); // not yet idle for longer than the limit
  t.is(rl.size, 100);
  rl.allow(Uint8Array.of(10, 0, 1, 0), T0 + RATELIMIT_IDLE_MS + 1); // allow() sweeps too, when a sweep is due
  t.is(rl.size, 101, 'a sweep ran just before: the next one waits for the interval');
  rl.collect(T0 + 3 * RATELIMIT_IDLE_MS);
  t.is(rl.size, 0);
});

test('the table stays bounded under a flood of distinct sources', (t) => {
  const max = 1000;
  const rl = new RateLimiter({ maxEntries: max });
  const addr = new Uint8Array(16);
  addr[0] = 0x20;
  addr[1] = 0x01;
  let firstAllowed = 0;
  let largest = 0;
  for (let i = 0; i < 50_000; i++) {
    addr[4] = i >> 8;
    addr[5] = i & 0xff;
    if (rl.allow(addr, T0 + i / 1000)) firstAllowed++; // all within one idle period: nothing is collected
    largest = Math.max(largest, rl.size);
  }
  t.is(firstAllowed, 50_000, 'a first message from a new source is allowed');
  t.is(largest, max);
  // The newest sources are the ones remembered: the latest is still limited after its burst.
  t.is(burst(rl, addr, 10, T0 + 50), HANDSHAKE_BURST_PER_SOURCE - 1);
  // Default cap too.
  const big = new RateLimiter();
  for (let i = 0; i < 40_000; i++) big.allow(Uint8Array.of(10, i >> 16, (i >> 8) & 0xff, i & 0xff), T0);
  t.true(big.size <= 16_384, `size ${big.size}`);
});

test('a token bucket and the limiter reject nonsense parameters', (t) => {
  t.throws(() => new RateLimiter({ perSecond: 0 }), { instanceOf: RangeError });
  t.throws(() => new RateLimiter({ burst: 0.5 }), { instanceOf: RangeError });
  t.throws(() => new RateLimiter({ maxEntries: 0 }), { instanceOf: RangeError });
  t.throws(() => new TokenBucket(Number.NaN, 1), { instanceOf: RangeError });
  const b = new TokenBucket(10, 2);
  t.deepEqual([b.allow(0), b.allow(0), b.allow(0), b.allow(99), b.allow(100)], [true, true, false, false, true]);
});

/* ---------------- in the protocol ---------------- */

type Ep = string;
const encoder = new TextEncoder();

function makeProto(seed: number): DeviceCore<Ep> {
  const rng = seededRng(seed);
  return new DeviceCore<Ep>({
    privateKey: generatePrivateKey(rng),
    rng,
    aead: referenceAead(),
    handshakeCrypto: referenceHandshakeCrypto,
    epochOffsetMs: EPOCH,
    endpointBytes: (e) => encoder.encode(e),
    endpointAddress: (e) => parseIp(e.slice(0, e.lastIndexOf(':')))!.bytes,
  });
}

interface Initiator {
  proto: DeviceCore<Ep>;
  peer: Peer<Ep>; // the responder, as the initiator sees it
  ep: Ep;
}

/** An initiator known to `responder`, with its own endpoint and inner address 10.9.0.<n>. */
function initiator(responder: DeviceCore<Ep>, seed: number, ep: Ep, n: number): Initiator {
  const proto = makeProto(seed);
  const peer = proto.addPeer(responder.local.publicKey);
  peer.endpoint = 'responder:51820';
  proto.allowedIps.insert(4, Uint8Array.of(10, 9, 0, 100), 32, peer);
  const theirs = responder.addPeer(proto.local.publicKey);
  responder.allowedIps.insert(4, Uint8Array.of(10, 9, 0, n), 32, theirs);
  return { proto, peer, ep };
}

function deliver(from: Initiator, to: DeviceCore<Ep>, data: Uint8Array, now: number): Result<Ep> {
  return to.decapsulate(data, 0, data.length, from.ep, now, new Uint8Array(data.length), 0);
}

/** Under load: the first initiation earns a cookie reply; returns the next initiation, which carries a valid mac2. */
function initiationWithMac2(t: import('ava').ExecutionContext, i: Initiator, responder: DeviceCore<Ep>, now: number): Uint8Array {
  const dst = new Uint8Array(200);
  i.proto.encapsulate(i.peer, ipv4([10, 9, 0, 1], [10, 9, 0, 100], 8), 0, 28, dst, 0, now);
  const [first] = i.proto.takeOutbound();
  t.is(deliver(i, responder, first!.data, now).kind, 'error');
  const [reply] = responder.takeOutbound();
  t.is(reply!.data[0], 3, 'a cookie reply');
  t.deepEqual(i.proto.decapsulate(reply!.data, 0, reply!.data.length, 'responder:51820', now, new Uint8Array(64), 0).kind, 'done');
  i.peer.sendHandshakeInitiation(now + REKEY_TIMEOUT_MS, true);
  const [second] = i.proto.takeOutbound();
  t.false(second!.data.subarray(INIT_OFF_MAC2).every((b) => b === 0), 'the retry carries a mac2');
  return second!.data;
}

test('under load, a source sending valid-mac2 initiations too fast is rate limited; another source is not', (t) => {
  const responder = makeProto(1);
  const a = initiator(responder, 2, '198.51.100.1:1000', 1);
  const c = initiator(responder, 3, '203.0.113.5:2000', 2);
  responder.underLoad = true;
  const initA = initiationWithMac2(t, a, responder, T0);
  const initC = initiationWithMac2(t, c, responder, T0);
  const start = T0 + REKEY_TIMEOUT_MS;

  // A burst at one instant: the first is processed, the next four reach the handshake (as replays), the rest
  // are refused before any Diffie-Hellman is spent on them.
  const kinds = Array.from({ length: 20 }, () => {
    const r = deliver(a, responder, initA, start);
    return r.kind === 'error' ? r.error : r.kind;
  });
  t.is(kinds[0], 'done');
  t.is(kinds.filter((k) => k === 'rateLimited').length, 20 - HANDSHAKE_BURST_PER_SOURCE);
  t.true(kinds.slice(HANDSHAKE_BURST_PER_SOURCE).every((k) => k === 'rateLimited'));
  responder.takeOutbound();

  // Another source at the same instant is unaffected.
  t.is(deliver(c, responder, initC, start).kind, 'done');

  // Over the next second A sends 100/s, C 10/s: A gets about the rate through, C everything.
  let limitedA = 0;
  let limitedC = 0;
  for (let ms = 10; ms <= 1000; ms += 10) {
    const ra = deliver(a, responder, initA, start + ms);
    if (ra.kind === 'error' && ra.error === 'rateLimited') limitedA++;
    if (ms % 100 === 0) {
      const rc = deliver(c, responder, initC, start + ms);
      if (rc.kind === 'error' && rc.error === 'rateLimited') limitedC++;
    }
  }
  t.is(limitedA, 100 - HANDSHAKES_PER_SOURCE_PER_S);
  t.is(limitedC, 0);

  // Not under load, nothing is limited.
  responder.underLoad = false;
  const r = deliver(a, responder, initA, start + 1000);
  t.not(r.kind === 'error' ? r.error : r.kind, 'rateLimited');
});
