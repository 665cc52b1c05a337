/**
 * MAC1/MAC2 and cookies (whitepaper §5.4.4, §5.4.7).
 *
 *   mac1 = MAC(HASH(LABEL_MAC1 || Spub_receiver), msg[0 .. mac1))           on every handshake message
 *   mac2 = MAC(cookie, msg[0 .. mac2))  if a cookie younger than COOKIE_REFRESH_TIME is held, else 16 zeros
 *   cookie τ = MAC(Rm, source)  where Rm is a random secret rotated every COOKIE_REFRESH_TIME and `source` is the
 *              sender's address bytes || port (any stable encoding the device chooses)
 *   reply.encryptedCookie = XAEAD(HASH(LABEL_COOKIE || Spub_responder), nonce24, τ, mac1 of the message replied to)
 *
 * CookieChecker lives on the side that receives handshake messages (keyed by our own public key);
 * CookieGenerator lives per peer on the side that sends them (keyed by the peer's public key).
 */
import type { HandshakeCrypto } from '../crypto/handshake-crypto.js';
import { xaeadOpen, xaeadSeal } from '../crypto/aead.js';
import type { Rng } from '../crypto/random.js';
import { constantTimeEqual, constantTimeEqualAt, isZeroKey } from '../crypto/keys.js';
import { wipe } from '../crypto/wipe.js';
import {
  COOKIE_BYTES, COOKIE_NONCE_BYTES, COOKIE_REFRESH_TIME_MS, LABEL_COOKIE, LABEL_MAC1, MAC_BYTES,
} from './constants.js';
import { formatCookieReply, type CookieReply } from './messages.js';

const encoder = new TextEncoder();
const LABEL_MAC1_BYTES = encoder.encode(LABEL_MAC1);
const LABEL_COOKIE_BYTES = encoder.encode(LABEL_COOKIE);
const SECRET_BYTES = 32;

/** The mac1 key of messages to the holder of `publicKey`: HASH(LABEL_MAC1 || publicKey). */
export function mac1Key(crypto: HandshakeCrypto, publicKey: Uint8Array): Uint8Array {
  return crypto.hash(LABEL_MAC1_BYTES, publicKey);
}
/** The key of cookie replies from the holder of `publicKey`: HASH(LABEL_COOKIE || publicKey). */
export function cookieKey(crypto: HandshakeCrypto, publicKey: Uint8Array): Uint8Array {
  return crypto.hash(LABEL_COOKIE_BYTES, publicKey);
}

/** Receiving side: verifies mac1/mac2 of incoming handshake messages and makes cookie replies. */
export class CookieChecker {
  private readonly mac1Key: Uint8Array;
  private readonly cookieKey: Uint8Array;
  private readonly secret = new Uint8Array(SECRET_BYTES);
  private secretSetAt = -Infinity;
  /** Scratch for a computed MAC. */
  private readonly expected = new Uint8Array(MAC_BYTES);

  /** `crypto` computes the MACs (crypto/handshake-crypto.ts). */
  constructor(localPublicKey: Uint8Array, private readonly rng: Rng, private readonly crypto: HandshakeCrypto) {
    this.mac1Key = mac1Key(crypto, localPublicKey);
    this.cookieKey = cookieKey(crypto, localPublicKey);
  }

  /** Checks mac1 of msg, where msg[mac1Off, mac1Off+16) is the mac1 field. Allocates nothing. */
  checkMac1(msg: Uint8Array, mac1Off: number): boolean {
    this.crypto.macInto(this.mac1Key, msg, 0, mac1Off, this.expected);
    return constantTimeEqualAt(this.expected, msg, mac1Off);
  }

  /** Checks mac2 (which follows mac1) against the cookie `source` would have been given. */
  checkMac2(msg: Uint8Array, mac1Off: number, source: Uint8Array, now: number): boolean {
    if (now - this.secretSetAt > COOKIE_REFRESH_TIME_MS) return false;
    const mac2Off = mac1Off + MAC_BYTES;
    // An all-zero mac2 is "no cookie" (whitepaper §5.4.4): refused without computing two MACs.
    if (isZeroKey(msg.subarray(mac2Off, mac2Off + MAC_BYTES))) return false;
    const cookie = this.crypto.mac(this.secret, source);
    const expected = this.crypto.mac(cookie, msg.subarray(0, mac2Off));
    wipe(cookie);
    return constantTimeEqual(expected, msg.subarray(mac2Off, mac2Off + MAC_BYTES));
  }

  /** A 64-byte cookie reply to `msg` (whose sender index is `receiverIndex`), for `source`. */
  createReply(msg: Uint8Array, mac1Off: number, receiverIndex: number, source: Uint8Array, now: number): Uint8Array {
    if (now - this.secretSetAt > COOKIE_REFRESH_TIME_MS) {
      this.rng(this.secret);
      this.secretSetAt = now;
    }
    const cookie = this.crypto.mac(this.secret, source);
    const nonce = new Uint8Array(COOKIE_NONCE_BYTES);
    this.rng(nonce);
    const encryptedCookie = xaeadSeal(this.cookieKey, nonce, cookie, msg.subarray(mac1Off, mac1Off + MAC_BYTES));
    wipe(cookie);
    const reply: CookieReply = { receiverIndex, nonce, encryptedCookie };
    return formatCookieReply(reply);
  }
}

/** Sending side, one per peer: adds mac1/mac2 to our handshake messages and consumes cookie replies. */
export class CookieGenerator {
  /** HASH(label || the peer's public key), made on first use: a configured peer costs no hashing until it talks. */
  private macKey: Uint8Array | undefined;
  private replyKey: Uint8Array | undefined;
  private readonly cookie = new Uint8Array(COOKIE_BYTES);
  private cookieSetAt = -Infinity;
  private readonly lastMac1 = new Uint8Array(MAC_BYTES);
  private hasLastMac1 = false;

  /** `crypto` computes the MACs (crypto/handshake-crypto.ts). */
  constructor(private readonly remotePublicKey: Uint8Array, private readonly crypto: HandshakeCrypto) {}

  private get mac1Key(): Uint8Array {
    return (this.macKey ??= mac1Key(this.crypto, this.remotePublicKey));
  }

  private get cookieKey(): Uint8Array {
    return (this.replyKey ??= cookieKey(this.crypto, this.remotePublicKey));
  }

  /** Fills msg's mac1 (at mac1Off) and mac2 (right after) in place. */
  addMacs(msg: Uint8Array, mac1Off: number, now: number): void {
    const m1 = this.crypto.mac(this.mac1Key, msg.subarray(0, mac1Off));
    msg.set(m1, mac1Off);
    this.lastMac1.set(m1);
    this.hasLastMac1 = true;
    const mac2Off = mac1Off + MAC_BYTES;
    if (now - this.cookieSetAt > COOKIE_REFRESH_TIME_MS) {
      msg.fill(0, mac2Off, mac2Off + MAC_BYTES);
    } else {
      msg.set(this.crypto.mac(this.cookie, msg.subarray(0, mac2Off)), mac2Off);
    }
  }

  /**
   * Decrypts a cookie reply to the last message we sent; on success stores the cookie and returns true.
   * A reply is accepted once per sent message.
   */
  consumeReply(reply: CookieReply, now: number): boolean {
    if (!this.hasLastMac1) return false;
    const cookie = xaeadOpen(this.cookieKey, reply.nonce, reply.encryptedCookie, this.lastMac1);
    if (cookie === null || cookie.length !== COOKIE_BYTES || isZeroKey(cookie)) return false;
    this.cookie.set(cookie);
    wipe(cookie);
    this.cookieSetAt = now;
    this.hasLastMac1 = false;
    return true;
  }

  hasFreshCookie(now: number): boolean {
    return now - this.cookieSetAt <= COOKIE_REFRESH_TIME_MS;
  }
}
