/**
 * The reference AeadBackend: @noble/ciphers' ChaCha20-Poly1305 in pure JavaScript, packet by packet. Slow (about
 * ten times the native one) but independent of it: tests use it to check the native cipher and to run the
 * protocol core without the addon.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { TRANSPORT_KEY_LEN, TRANSPORT_NONCE_LEN, TRANSPORT_TAG_LEN, type AeadBackend } from './transport-aead.js';

export const referenceAeadBackend: AeadBackend = {
  sealBatch(src, srcOffsets, lengths, padded, dst, dstOffsets, keys, nonces, count) {
    for (let i = 0; i < count; i++) {
      const plain = new Uint8Array(padded[i]!);
      plain.set(src.subarray(srcOffsets[i], srcOffsets[i]! + lengths[i]!));
      const sealed = cipher(keys, nonces, i).encrypt(plain);
      dst.set(sealed, dstOffsets[i]);
    }
  },
  openBatch(src, srcOffsets, lengths, dst, dstOffsets, keys, nonces, count, results) {
    let verified = 0;
    for (let i = 0; i < count; i++) {
      const len = lengths[i]!;
      results[i] = 0;
      if (len < TRANSPORT_TAG_LEN) continue;
      try {
        const plain = cipher(keys, nonces, i).decrypt(src.slice(srcOffsets[i], srcOffsets[i]! + len));
        dst.set(plain, dstOffsets[i]);
        results[i] = 1;
        verified++;
      } catch {
        // tag mismatch: results[i] stays 0
      }
    }
    return verified;
  },
};

function cipher(keys: Uint8Array, nonces: Uint8Array, i: number) {
  return chacha20poly1305(
    keys.subarray(i * TRANSPORT_KEY_LEN, (i + 1) * TRANSPORT_KEY_LEN),
    nonces.subarray(i * TRANSPORT_NONCE_LEN, (i + 1) * TRANSPORT_NONCE_LEN),
  );
}
