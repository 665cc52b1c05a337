/** X25519 Diffie-Hellman (RFC 7748) through @noble/curves. Keys are 32-byte Uint8Arrays (see keys.ts). */
import { x25519 } from '@noble/curves/ed25519.js';

/**
 * DH(private, public). Returns null when the result is all zeros (a low-order public key) or the input is
 * malformed: WireGuard must reject such handshakes (whitepaper §5.4.2).
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  try {
    return x25519.getSharedSecret(privateKey, publicKey);
  } catch {
    return null;
  }
}
