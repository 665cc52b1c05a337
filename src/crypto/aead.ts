/**
 * The handshake and cookie AEADs (not the per-packet path; see transport-aead.ts for that):
 *   AEAD(key, counter, plain, aad)  = ChaCha20-Poly1305 (RFC 8439), nonce = 4 zero bytes || counter (u64 LE)
 *   XAEAD(key, nonce24, plain, aad) = XChaCha20-Poly1305
 * Open functions return null on authentication failure instead of throwing.
 */
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';

export const TAG_LEN = 16;
export const AEAD_KEY_LEN = 32;
export const AEAD_NONCE_LEN = 12;
export const XAEAD_NONCE_LEN = 24;

/** The 12-byte IETF nonce WireGuard uses: 32 zero bits, then the 64-bit counter little-endian. */
export function counterNonce(counter: number): Uint8Array {
  const n = new Uint8Array(AEAD_NONCE_LEN);
  const view = new DataView(n.buffer);
  view.setUint32(4, counter >>> 0, true);
  view.setUint32(8, Math.floor(counter / 0x1_0000_0000) >>> 0, true);
  return n;
}

export function aeadSeal(key: Uint8Array, counter: number, plain: Uint8Array, aad: Uint8Array): Uint8Array {
  return chacha20poly1305(key, counterNonce(counter), aad).encrypt(plain);
}

export function aeadOpen(key: Uint8Array, counter: number, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  if (sealed.length < TAG_LEN) return null;
  try {
    return chacha20poly1305(key, counterNonce(counter), aad).decrypt(sealed);
  } catch {
    return null;
  }
}

export function xaeadSeal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, aad: Uint8Array): Uint8Array {
  return xchacha20poly1305(key, nonce, aad).encrypt(plain);
}

export function xaeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  if (sealed.length < TAG_LEN || nonce.length !== XAEAD_NONCE_LEN) return null;
  try {
    return xchacha20poly1305(key, nonce, aad).decrypt(sealed);
  } catch {
    return null;
  }
}
