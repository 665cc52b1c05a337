/**
 * BLAKE2s primitives exactly as WireGuard uses them (whitepaper §5.4):
 *   HASH(input)      = BLAKE2s(input, 32)
 *   MAC(key, input)  = Keyed-BLAKE2s(key, input, 16)
 *   HMAC(key, input) = HMAC-BLAKE2s(key, input, 32)   (RFC 2104 over BLAKE2s, 64-byte block)
 *   KDFn(key, input) = HKDF as in the whitepaper: τ0 = HMAC(key, input), τ1 = HMAC(τ0, 0x1),
 *                      τi = HMAC(τ0, τi-1 || i).
 * Not on the per-packet path: these run for handshakes and cookies only. MAC is the exception that matters under a
 * handshake flood (mac1 is checked on every handshake message before anything else), so it runs in the addon
 * (OpenSSL's keyed BLAKE2s, about 14 times @noble's speed here); the rest use @noble/hashes, which tests also use as
 * the reference for MAC.
 */
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { nativeCrypto as native } from '../native/crypto.js';

export const HASH_LEN = 32;
export const MAC_LEN = 16;

/** HASH(a || b || ...) with BLAKE2s-256. */
export function hash(...parts: Uint8Array[]): Uint8Array {
  const h = blake2s.create({ dkLen: HASH_LEN });
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Keyed BLAKE2s with output length 16 (MAC) or 32. Key is 16 or 32 bytes in WireGuard; BLAKE2s allows 1..32. */
export function keyedBlake2s(key: Uint8Array, data: Uint8Array, outLen: 16 | 32): Uint8Array {
  return blake2s(data, { key, dkLen: outLen });
}

/** MAC(key, input): keyed BLAKE2s-128, used for mac1/mac2 and cookies. A new 16-byte array. */
export function mac(key: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(MAC_LEN);
  native().blake2sMac(key, data, 0, data.length, out);
  return out;
}

/**
 * MAC(key, data[off, off+len)) written into `out` (16 bytes), allocating nothing. Throws RangeError for a key of
 * 0 or more than 32 bytes, an `out` of another size, or a range outside data.
 */
export function macInto(key: Uint8Array, data: Uint8Array, off: number, len: number, out: Uint8Array): void {
  native().blake2sMac(key, data, off, len, out);
}

/** HMAC-BLAKE2s-256. */
export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = nobleHmac.create(blake2s, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);

/** KDF1/KDF2/KDF3 as WireGuard defines HKDF: returns `n` 32-byte outputs derived from chaining key and input. */
export function kdf(n: 1, key: Uint8Array, input: Uint8Array): [Uint8Array];
export function kdf(n: 2, key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array];
export function kdf(n: 3, key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array, Uint8Array];
export function kdf(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[] {
  const prk = hmac(key, input);
  const t1 = hmac(prk, ONE);
  const out = [t1];
  if (n >= 2) out.push(hmac(prk, t1, TWO));
  if (n >= 3) out.push(hmac(prk, out[1]!, THREE));
  prk.fill(0);
  return out;
}
