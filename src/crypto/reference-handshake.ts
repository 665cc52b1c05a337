/**
 * The reference HandshakeCrypto (handshake-crypto.ts): @noble/curves' X25519 and @noble/hashes' BLAKE2s, pure
 * JavaScript. Slower than the native suite (X25519 about 25 times, MAC about 14 times) but independent of it: tests
 * use it to check the native one and to run the protocol core without the addon.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { hash, kdf, mac, macInto } from './blake2s.js';
import type { HandshakeCrypto } from './handshake-crypto.js';
import { isZeroKey, KEY_BYTES, KeyFormatError } from './keys.js';

export const referenceHandshakeCrypto: HandshakeCrypto = {
  dh(privateKey, publicKey) {
    if (privateKey.length !== KEY_BYTES || publicKey.length !== KEY_BYTES) return null;
    let shared: Uint8Array;
    try {
      shared = x25519.getSharedSecret(privateKey, publicKey);
    } catch {
      return null; // @noble refuses an all-zero result itself
    }
    return isZeroKey(shared) ? null : shared;
  },
  publicKey(privateKey) {
    if (privateKey.length !== KEY_BYTES) throw new KeyFormatError(`a key is ${KEY_BYTES} bytes, got ${privateKey.length}`);
    return x25519.getPublicKey(privateKey);
  },
  hash,
  kdf,
  mac,
  macInto,
};
