/**
 * The native AeadBackend: one addon call per batch (native/src/aead.cc), ChaCha20-Poly1305 from the OpenSSL that
 * Node.js itself links. This is the per-packet cipher of the device.
 */
import { nativeCrypto as native } from '../native/crypto.js';
import type { AeadBackend } from './transport-aead.js';

/** Threads a batch may use when nothing else is said: what measured best on a 2-core machine (docs/bench.md). */
export const DEFAULT_AEAD_THREADS = 1;
/** The most threads a batch may be shared by (native/src/aead.cc's kMaxThreads). */
export const MAX_AEAD_THREADS = 64;

/**
 * Parses a thread count given on a command line ("1".."64"). Throws Error with a message naming the option when
 * it is not a whole number in range.
 */
export function parseThreads(text: string, option = '--threads'): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < 1 || n > MAX_AEAD_THREADS) throw new Error(`${option} must be a whole number 1..${MAX_AEAD_THREADS}, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * The addon's batched cipher as an AeadBackend. `threads` (1..64) sets how many threads share each batch,
 * process-wide. Throws when the addon cannot be loaded, RangeError for a bad thread count.
 */
export function nativeAeadBackend(threads = DEFAULT_AEAD_THREADS): AeadBackend {
  const addon = native();
  addon.aeadSetThreads(threads);
  return {
    sealBatch: (src, srcOffsets, lengths, padded, dst, dstOffsets, keys, nonces, count) => {
      addon.aeadSealBatch(src, srcOffsets, lengths, padded, dst, dstOffsets, keys, nonces, count);
    },
    openBatch: (src, srcOffsets, lengths, dst, dstOffsets, keys, nonces, count, results) =>
      addon.aeadOpenBatch(src, srcOffsets, lengths, dst, dstOffsets, keys, nonces, count, results),
  };
}
