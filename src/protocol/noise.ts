/**
 * The Noise_IKpsk2 handshake as WireGuard instantiates it (whitepaper §5.4.2–§5.4.3). Each step is tagged with its
 * Noise token (e, es, s, ss, t for the timestamp; e, ee, se, psk for the response) so it reads beside the spec.
 *
 * Pure: the primitives (DH, HASH, KDF, public keys) come from the HandshakeCrypto the LocalStatic holds
 * (crypto/handshake-crypto.ts), randomness from an injected Rng, times are passed in. Secrets held by the state are
 * wiped when the handshake completes or is cleared. Functions that consume wire messages compute into temporaries
 * and only commit to the state on success, so a forged message cannot corrupt an ongoing handshake.
 */
import { aeadOpen, aeadSeal } from '../crypto/aead.js';
import { hash } from '../crypto/blake2s.js';
import type { HandshakeCrypto } from '../crypto/handshake-crypto.js';
import type { Rng } from '../crypto/random.js';
import { constantTimeEqual, generatePrivateKey, isZeroKey } from '../crypto/keys.js';
import { wipe } from '../crypto/wipe.js';
import { CONSTRUCTION, HANDSHAKE_INITIATION_RATE_MS, IDENTIFIER, KEY_BYTES } from './constants.js';
import { formatInitiation, formatResponse, type Initiation, type Response } from './messages.js';
import { compareTai64n, tai64n } from './tai64n.js';

const encoder = new TextEncoder();
// The two constants of the construction are the same whatever suite runs the handshake: BLAKE2s-256 of fixed
// strings, computed once with the pure HASH (crypto/blake2s.ts).
/** Ci = HASH(CONSTRUCTION): the initial chaining key. */
export const INITIAL_CHAIN_KEY: Uint8Array = hash(encoder.encode(CONSTRUCTION));
/** Hi = HASH(Ci || IDENTIFIER): the initial hash, before mixing in the responder's static key. */
export const INITIAL_HASH: Uint8Array = hash(INITIAL_CHAIN_KEY, encoder.encode(IDENTIFIER));
const EMPTY = new Uint8Array(0);

export type NoiseError =
  | 'invalidState' // the message does not fit the handshake's current state
  | 'decryptFailed' // an AEAD did not authenticate
  | 'unknownPeer' // the initiator's static key is not one of our peers
  | 'badPublicKey' // a DH produced all zeros (low-order point)
  | 'replayedTimestamp' // initiation timestamp not newer than the last one accepted from that peer
  | 'initiationFlood' // more than one initiation per HANDSHAKE_INITIATION_RATE_MS from that peer
  | 'noPrivateKey'; // we have no private key yet (all zeros): no handshake can be made

/**
 * Our static identity, with the hash of our public key precomputed for the responder role, and the handshake
 * primitives every handshake of this identity runs on. Throws RangeError unless the private key is 32 bytes.
 */
export class LocalStatic {
  readonly publicKey: Uint8Array;
  /** HASH(INITIAL_HASH || our public key). */
  readonly responderHash: Uint8Array;
  constructor(readonly privateKey: Uint8Array, readonly crypto: HandshakeCrypto) {
    if (privateKey.length !== KEY_BYTES) throw new RangeError('private key must be 32 bytes');
    this.publicKey = crypto.publicKey(privateKey);
    this.responderHash = crypto.hash(INITIAL_HASH, this.publicKey);
  }
}

export type HandshakeState =
  | 'zeroed'
  | 'initiationCreated' // initiator: sent an initiation, awaiting the response
  | 'responseConsumed' // initiator: response authenticated, keys derivable
  | 'initiationConsumed' // responder: authenticated an initiation
  | 'responseCreated'; // responder: sent the response, keys derivable

/** Transport keys produced by a completed handshake. The receiver owns (and must wipe) the key buffers. */
export interface DerivedKeys {
  sendKey: Uint8Array;
  recvKey: Uint8Array;
  isInitiator: boolean;
  localIndex: number;
  remoteIndex: number;
}

/** Per-peer handshake state. */
export class Handshake {
  state: HandshakeState = 'zeroed';
  readonly remoteStatic: Uint8Array;
  /** HASH(INITIAL_HASH || remote public key), for the initiator role. */
  private readonly initiatorHash: Uint8Array;
  /** DH(our static, their static), computed on first use (a configured peer costs no DH until it handshakes). */
  private staticStatic: Uint8Array | null | undefined;
  presharedKey: Uint8Array = new Uint8Array(KEY_BYTES);
  /** Our static private key (the device's, shared by every peer; never wiped here). */
  private readonly localPrivate: Uint8Array;
  /** The primitives (the LocalStatic's). */
  private readonly crypto: HandshakeCrypto;

  chainKey: Uint8Array = new Uint8Array(KEY_BYTES);
  hash: Uint8Array = new Uint8Array(KEY_BYTES);
  localEphemeral: Uint8Array = new Uint8Array(KEY_BYTES);
  remoteEphemeral: Uint8Array = new Uint8Array(KEY_BYTES);
  localIndex = 0;
  remoteIndex = 0;
  /** Greatest TAI64N accepted from this peer (replay protection survives clear()). */
  lastTimestamp: Uint8Array = new Uint8Array(12);
  /** Monotonic ms of the last consumed initiation (flood protection). */
  lastInitiationConsumedAt = -Infinity;

  constructor(local: LocalStatic, remoteStatic: Uint8Array, presharedKey?: Uint8Array) {
    if (remoteStatic.length !== KEY_BYTES) throw new RangeError('public key must be 32 bytes');
    this.remoteStatic = Uint8Array.from(remoteStatic);
    this.crypto = local.crypto;
    this.initiatorHash = this.crypto.hash(INITIAL_HASH, this.remoteStatic);
    this.localPrivate = local.privateKey;
    if (presharedKey) this.setPresharedKey(presharedKey);
  }

  /** Wipes the static-static secret (the peer is going away). */
  forgetStatic(): void {
    if (this.staticStatic) wipe(this.staticStatic);
    this.staticStatic = undefined;
  }

  /** DH(our static, their static); null if their key is low order (the peer can never handshake). */
  get precomputedStaticStatic(): Uint8Array | null {
    if (this.staticStatic === undefined) this.staticStatic = this.crypto.dh(this.localPrivate, this.remoteStatic);
    return this.staticStatic;
  }

  setPresharedKey(psk: Uint8Array): void {
    if (psk.length !== KEY_BYTES) throw new RangeError('preshared key must be 32 bytes');
    this.presharedKey.set(psk);
  }

  /** Wipe the in-progress handshake (not the peer's identity, PSK or replay data). */
  clear(): void {
    wipe(this.chainKey, this.hash, this.localEphemeral, this.remoteEphemeral);
    this.state = 'zeroed';
    this.localIndex = 0;
    this.remoteIndex = 0;
  }

  /* ---------------- initiator ---------------- */

  /**
   * Builds a 148-byte initiation (mac fields zero; cookie.ts fills them). `localIndex` must be a fresh index the
   * caller registered; `wallClockMs` is Unix time for the TAI64N timestamp.
   */
  createInitiation(local: LocalStatic, localIndex: number, wallClockMs: number, rng: Rng): Uint8Array | NoiseError {
    if (isZeroKey(local.privateKey)) return 'noPrivateKey';
    if (this.precomputedStaticStatic === null) return 'badPublicKey';
    const c = this.crypto;
    const ephemeralPrivate = generatePrivateKey(rng);
    const ephemeralPublic = c.publicKey(ephemeralPrivate);
    let ck: Uint8Array = Uint8Array.from(INITIAL_CHAIN_KEY);
    let h: Uint8Array = this.initiatorHash;
    // e
    [ck] = c.kdf(1, ck, ephemeralPublic);
    h = c.hash(h, ephemeralPublic);
    // es
    const es = c.dh(ephemeralPrivate, this.remoteStatic);
    if (es === null) return 'badPublicKey';
    let k: Uint8Array;
    [ck, k] = c.kdf(2, ck, es);
    wipe(es);
    // s
    const encryptedStatic = aeadSeal(k, 0, local.publicKey, h);
    h = c.hash(h, encryptedStatic);
    // ss
    wipe(k);
    [ck, k] = c.kdf(2, ck, this.precomputedStaticStatic);
    // t (the TAI64N timestamp)
    const encryptedTimestamp = aeadSeal(k, 0, tai64n(wallClockMs), h);
    h = c.hash(h, encryptedTimestamp);
    wipe(k);

    this.clear();
    this.chainKey = ck;
    this.hash = h;
    this.localEphemeral = ephemeralPrivate;
    this.localIndex = localIndex;
    this.state = 'initiationCreated';
    return formatInitiation({ senderIndex: localIndex, ephemeral: ephemeralPublic, encryptedStatic, encryptedTimestamp });
  }

  /**
   * Consumes a response addressed to our initiation (the caller matched msg.receiverIndex to this handshake).
   * On success the handshake state is ready for deriveKeys().
   */
  consumeResponse(local: LocalStatic, msg: Response): NoiseError | null {
    if (this.state !== 'initiationCreated' || msg.receiverIndex !== this.localIndex) return 'invalidState';
    const c = this.crypto;
    let ck: Uint8Array = this.chainKey;
    let h: Uint8Array = this.hash;
    // e
    [ck] = c.kdf(1, ck, msg.ephemeral);
    h = c.hash(h, msg.ephemeral);
    // ee
    const ee = c.dh(this.localEphemeral, msg.ephemeral);
    if (ee === null) return 'badPublicKey';
    [ck] = c.kdf(1, ck, ee);
    wipe(ee);
    // se
    const se = c.dh(local.privateKey, msg.ephemeral);
    if (se === null) return 'badPublicKey';
    [ck] = c.kdf(1, ck, se);
    wipe(se);
    // psk
    const [ckPsk, tau, k] = c.kdf(3, ck, this.presharedKey);
    ck = ckPsk;
    h = c.hash(h, tau);
    wipe(tau);
    const empty = aeadOpen(k, 0, msg.encryptedNothing, h);
    wipe(k);
    if (empty === null || empty.length !== 0) {
      wipe(ck);
      return 'decryptFailed';
    }
    h = c.hash(h, msg.encryptedNothing);

    wipe(this.chainKey, this.hash, this.localEphemeral);
    this.chainKey = ck;
    this.hash = h;
    this.remoteIndex = msg.senderIndex;
    this.remoteEphemeral = Uint8Array.from(msg.ephemeral);
    this.state = 'responseConsumed';
    return null;
  }

  /* ---------------- responder ---------------- */

  /** Builds the 92-byte response (mac fields zero) to the initiation this handshake consumed. */
  createResponse(localIndex: number, rng: Rng): Uint8Array | NoiseError {
    if (this.state !== 'initiationConsumed') return 'invalidState';
    const c = this.crypto;
    const ephemeralPrivate = generatePrivateKey(rng);
    const ephemeralPublic = c.publicKey(ephemeralPrivate);
    let ck: Uint8Array = this.chainKey;
    let h: Uint8Array = this.hash;
    // e
    [ck] = c.kdf(1, ck, ephemeralPublic);
    h = c.hash(h, ephemeralPublic);
    // ee
    const ee = c.dh(ephemeralPrivate, this.remoteEphemeral);
    if (ee === null) return 'badPublicKey';
    [ck] = c.kdf(1, ck, ee);
    wipe(ee);
    // se
    const se = c.dh(ephemeralPrivate, this.remoteStatic);
    if (se === null) return 'badPublicKey';
    [ck] = c.kdf(1, ck, se);
    wipe(se);
    // psk
    const [ckPsk, tau, k] = c.kdf(3, ck, this.presharedKey);
    ck = ckPsk;
    h = c.hash(h, tau);
    wipe(tau);
    const encryptedNothing = aeadSeal(k, 0, EMPTY, h);
    wipe(k);
    h = c.hash(h, encryptedNothing);

    wipe(this.chainKey, this.hash);
    this.chainKey = ck;
    this.hash = h;
    this.localEphemeral = ephemeralPrivate;
    this.localIndex = localIndex;
    this.state = 'responseCreated';
    return formatResponse({ senderIndex: localIndex, receiverIndex: this.remoteIndex, ephemeral: ephemeralPublic, encryptedNothing });
  }

  /**
   * Transport keys from the finished handshake: (T1, T2) = KDF2(Ck, ε); the initiator sends with T1.
   * Valid after consumeResponse() succeeded (initiator) or createResponse() (responder). Wipes the handshake.
   */
  deriveKeys(): DerivedKeys | NoiseError {
    const isInitiator = this.state === 'responseConsumed';
    if (!isInitiator && this.state !== 'responseCreated') return 'invalidState';
    const [t1, t2] = this.crypto.kdf(2, this.chainKey, EMPTY);
    const keys: DerivedKeys = {
      sendKey: isInitiator ? t1 : t2,
      recvKey: isInitiator ? t2 : t1,
      isInitiator,
      localIndex: this.localIndex,
      remoteIndex: this.remoteIndex,
    };
    this.clear();
    return keys;
  }
}

/** Result of consuming an initiation: the handshake of the peer it came from, now in state initiationConsumed. */
export interface ConsumedInitiation<P> {
  peer: P;
  handshake: Handshake;
}

/**
 * Responder side: decrypts an initiation, identifies the peer through `lookup(staticPublicKey)`, applies timestamp
 * replay and flood protection, and on success stores the state in that peer's handshake. `now` is monotonic ms.
 */
export function consumeInitiation<P>(
  local: LocalStatic,
  msg: Initiation,
  lookup: (remoteStatic: Uint8Array) => { peer: P; handshake: Handshake } | undefined,
  now: number,
): ConsumedInitiation<P> | NoiseError {
  const c = local.crypto;
  let ck: Uint8Array = Uint8Array.from(INITIAL_CHAIN_KEY);
  let h: Uint8Array = local.responderHash;
  // e
  [ck] = c.kdf(1, ck, msg.ephemeral);
  h = c.hash(h, msg.ephemeral);
  // es
  const es = c.dh(local.privateKey, msg.ephemeral);
  if (es === null) return 'badPublicKey';
  let k: Uint8Array;
  [ck, k] = c.kdf(2, ck, es);
  wipe(es);
  // s
  const remoteStatic = aeadOpen(k, 0, msg.encryptedStatic, h);
  wipe(k);
  if (remoteStatic === null) return 'decryptFailed';
  h = c.hash(h, msg.encryptedStatic);
  const found = lookup(remoteStatic);
  if (found === undefined) return 'unknownPeer';
  const hs = found.handshake;
  if (!constantTimeEqual(hs.remoteStatic, remoteStatic)) return 'unknownPeer';
  // ss
  if (hs.precomputedStaticStatic === null || isZeroKey(hs.precomputedStaticStatic)) return 'badPublicKey';
  [ck, k] = c.kdf(2, ck, hs.precomputedStaticStatic);
  // t
  const timestamp = aeadOpen(k, 0, msg.encryptedTimestamp, h);
  wipe(k);
  if (timestamp === null) return 'decryptFailed';
  h = c.hash(h, msg.encryptedTimestamp);

  if (compareTai64n(timestamp, hs.lastTimestamp) <= 0) return 'replayedTimestamp';
  if (now - hs.lastInitiationConsumedAt <= HANDSHAKE_INITIATION_RATE_MS) return 'initiationFlood';

  const registeredIndex = hs.localIndex; // still in the index table: the peer releases it when it responds
  hs.clear();
  hs.localIndex = registeredIndex;
  hs.chainKey = ck;
  hs.hash = h;
  hs.remoteEphemeral = Uint8Array.from(msg.ephemeral);
  hs.remoteIndex = msg.senderIndex;
  hs.lastTimestamp = timestamp;
  hs.lastInitiationConsumedAt = now;
  hs.state = 'initiationConsumed';
  return { peer: found.peer, handshake: hs };
}
