/** X25519 (RFC 7748) through @noble/curves. Keys are 32-byte Uint8Arrays. */
import { x25519 } from '@noble/curves/ed25519.js';
import type { Rng } from './random.js';

export const KEY_LEN = 32;

/** A new private key from `rng` (clamping happens inside scalar multiplication, as RFC 7748 requires). */
export function generatePrivateKey(rng: Rng): Uint8Array {
  const k = new Uint8Array(KEY_LEN);
  rng(k);
  // Clamp as wg genkey does so the stored key is canonical.
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
  return k;
}

export function publicKey(privateKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(privateKey);
}

/**
 * DH(private, public). Returns null when the result is all zeros (a low-order public key) or the input is
 * malformed: WireGuard must reject such handshakes.
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  try {
    return x25519.getSharedSecret(privateKey, publicKey);
  } catch {
    return null;
  }
}
