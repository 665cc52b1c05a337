/**
 * X25519 (RFC 7748) through the addon: OpenSSL's X25519 inside Node, about 25 times @noble/curves' speed here, which
 * is what a handshake flood, a thousand handshaking peers or ten thousand configured ones cost. The native
 * handshake suite (native-handshake.ts) is built on it; publicKeyOf is also what `wg pubkey`, the configuration and
 * the UAPI use. @noble/curves stays the reference (reference-handshake.ts) the tests check it against. Keys are
 * 32-byte arrays.
 */
import { nativeCrypto as native } from '../native/crypto.js';
import { KEY_BYTES, KeyFormatError } from './keys.js';

/**
 * DH(private, public): a new 32-byte shared secret. Returns null when the result is all zeros (a low-order public
 * key) or the input is malformed: WireGuard must reject such handshakes (whitepaper §5.4.2).
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  if (privateKey.length !== KEY_BYTES || publicKey.length !== KEY_BYTES) return null;
  const out = new Uint8Array(KEY_BYTES);
  return native().x25519(privateKey, publicKey, out) ? out : null;
}

/**
 * The X25519 public key of `privateKey` (scalar times the base point, RFC 7748 §6.1; the scalar is clamped).
 * Throws KeyFormatError unless the key is 32 bytes.
 */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  if (privateKey.length !== KEY_BYTES) throw new KeyFormatError(`a key is ${KEY_BYTES} bytes, got ${privateKey.length}`);
  const out = new Uint8Array(KEY_BYTES);
  native().x25519PublicKey(privateKey, out);
  return out;
}
