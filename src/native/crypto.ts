/**
 * WireGuard's primitives in native code: keyed BLAKE2s (native/src/blake2s.cc), X25519 (x25519.cc) and the batched
 * transport AEAD (aead.cc, ChaCha20-Poly1305 from the OpenSSL inside Node). src/crypto/ wraps them.
 */
import { loadAddon } from './load.js';

export interface NativeCrypto {
  /**
   * Keyed BLAKE2s (RFC 7693; WireGuard's MAC): out (16 or 32 bytes: the digest size) becomes
   * Keyed-BLAKE2s(key, data[dataOffset, +dataLength)); key is 1..32 bytes. RangeError otherwise, or when the range
   * lies outside data. Returns out.length.
   */
  blake2sMac(key: Uint8Array, data: Uint8Array, dataOffset: number, dataLength: number, out: Uint8Array): number;
  /**
   * X25519 (RFC 7748): out = X25519(privateKey, publicKey) (all 32 bytes, else RangeError). Returns false, with
   * out zeroed, when the result would be all zeros (a low-order public key).
   */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array, out: Uint8Array): boolean;
  /** out = the X25519 public key of privateKey (both 32 bytes, else RangeError). */
  x25519PublicKey(privateKey: Uint8Array, out: Uint8Array): void;
  /**
   * ChaCha20-Poly1305 (RFC 8439) sealing. For each job i < count: lengths[i] plaintext bytes at src[srcOffsets[i]]
   * followed by padded[i] - lengths[i] zero bytes (0..15) are encrypted into dst at dstOffsets[i] (padded[i] bytes,
   * then the 16-byte tag), with the 32-byte key keys[32i..] and the 12-byte nonce nonces[12i..]. Every job is
   * range-checked before any runs (RangeError). Returns count.
   */
  aeadSealBatch(
    src: Uint8Array, srcOffsets: Int32Array, lengths: Int32Array, padded: Int32Array,
    dst: Uint8Array, dstOffsets: Int32Array, keys: Uint8Array, nonces: Uint8Array, count: number,
  ): number;
  /**
   * For each job i < count: authenticates lengths[i] bytes at src[srcOffsets[i]] (ciphertext, then the tag) and
   * decrypts them into dst at dstOffsets[i] (lengths[i] - 16 bytes); results[i] = 1 if the tag verified, else 0.
   * Range-checked like aeadSealBatch. Returns how many verified.
   */
  aeadOpenBatch(
    src: Uint8Array, srcOffsets: Int32Array, lengths: Int32Array, dst: Uint8Array, dstOffsets: Int32Array,
    keys: Uint8Array, nonces: Uint8Array, count: number, results: Uint8Array,
  ): number;
  /**
   * Shares every later batch (of more than 16 jobs) among `threads` threads in all, 1..64 (1: the calling thread
   * alone; the helpers run only the cipher, on the batch's memory, while the caller waits). Process-wide.
   * Returns threads.
   */
  aeadSetThreads(threads: number): number;
}

/** The addon's cryptography; loads the addon on first use (throws when it is not built). */
export function nativeCrypto(): NativeCrypto {
  return loadAddon() as NativeCrypto;
}
