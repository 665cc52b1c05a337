/**
 * The native HandshakeCrypto (handshake-crypto.ts): X25519 and MAC through the addon (x25519.ts; OpenSSL's keyed
 * BLAKE2s, native/src/blake2s.cc), HASH and KDF from @noble/hashes (blake2s.ts). What the device uses.
 */
import { nativeCrypto as native } from '../native/crypto.js';
import { hash, kdf, MAC_LEN } from './blake2s.js';
import type { HandshakeCrypto } from './handshake-crypto.js';
import { dh, publicKeyOf } from './x25519.js';

export const nativeHandshakeCrypto: HandshakeCrypto = {
  dh,
  publicKey: publicKeyOf,
  hash,
  kdf,
  mac(key, data) {
    const out = new Uint8Array(MAC_LEN);
    native().blake2sMac(key, data, 0, data.length, out);
    return out;
  },
  macInto(key, data, off, len, out) {
    native().blake2sMac(key, data, off, len, out);
  },
};
