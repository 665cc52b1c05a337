/**
 * X25519 Diffie-Hellman (RFC 7748) for the handshake, through the addon (OpenSSL's X25519 inside Node: about 25
 * times @noble/curves' speed here, which is what a handshake flood, a thousand handshaking peers or ten thousand
 * configured ones cost). @noble/curves stays the reference the tests check it against. Keys are 32-byte arrays.
 */
import { nativeCrypto as native } from '../native/crypto.js';

/**
 * DH(private, public): a new 32-byte shared secret. Returns null when the result is all zeros (a low-order public
 * key) or the input is malformed: WireGuard must reject such handshakes (whitepaper §5.4.2).
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  if (privateKey.length !== 32 || publicKey.length !== 32) return null;
  const out = new Uint8Array(32);
  return native().x25519(privateKey, publicKey, out) ? out : null;
}
