/**
 * The native AeadBackend: one addon call per batch (native/src/aead.cc), ChaCha20-Poly1305 from the OpenSSL that
 * Node.js itself links. This is the per-packet cipher of the device.
 */
import { native } from '../native/addon.js';
import type { AeadBackend } from './transport-aead.js';

/** The addon's batched cipher as an AeadBackend. Throws when the addon cannot be loaded. */
export function nativeAeadBackend(): AeadBackend {
  const addon = native();
  return {
    sealBatch: (src, srcOffsets, lengths, padded, dst, dstOffsets, keys, nonces, count) => {
      addon.aeadSealBatch(src, srcOffsets, lengths, padded, dst, dstOffsets, keys, nonces, count);
    },
    openBatch: (src, srcOffsets, lengths, dst, dstOffsets, keys, nonces, count, results) =>
      addon.aeadOpenBatch(src, srcOffsets, lengths, dst, dstOffsets, keys, nonces, count, results),
  };
}
