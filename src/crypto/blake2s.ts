/**
 * BLAKE2s primitives exactly as WireGuard uses them (whitepaper §5.4):
 *   HASH(input)      = BLAKE2s(input, 32)
 *   MAC(key, input)  = Keyed-BLAKE2s(key, input, 16)
 *   HMAC(key, input) = HMAC-BLAKE2s(key, input, 32)   (RFC 2104 over BLAKE2s, 64-byte block)
 *   KDFn(key, input) = HKDF as in the whitepaper: τ0 = HMAC(key, input), τ1 = HMAC(τ0, 0x1),
 *                      τi = HMAC(τ0, τi-1 || i).
 * Not on the per-packet path: these run for handshakes and cookies only.
 */
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';

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

/** MAC(key, input): keyed BLAKE2s-128, used for mac1/mac2 and cookies. */
export function mac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return keyedBlake2s(key, data, MAC_LEN);
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
