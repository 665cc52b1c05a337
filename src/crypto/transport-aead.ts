/**
 * The fast transport AEAD: ChaCha20-Poly1305 (IETF, 12-byte nonce) through libsodium (sodium-native), with the
 * WireGuard nonce layout: 4 zero bytes, then the 64-bit counter little-endian in the last 8 bytes.
 *
 * One TransportCipher per direction of a session. It owns a preallocated nonce buffer, so sealing/opening does no
 * allocation other than the subarray views libsodium's binding needs. The counter is passed as two 32-bit halves
 * (hi, lo) so counters above 2^53 stay exact without BigInt.
 *
 * Not re-entrant across awaits (there are none): a cipher is used by one loop at a time.
 */
import { createRequire } from 'node:module';

export const TRANSPORT_KEY_LEN = 32;
export const TRANSPORT_TAG_LEN = 16;
const NONCE_LEN = 12;

interface SodiumAead {
  crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array,
  ): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array,
  ): number;
  sodium_malloc?(size: number): Uint8Array;
}

const sodium = createRequire(import.meta.url)('sodium-native') as SodiumAead;

export class TransportCipher {
  private readonly key: Uint8Array;
  private readonly nonce = new Uint8Array(NONCE_LEN);
  private readonly nonceView = new DataView(this.nonce.buffer);

  /** Copies `key` (32 bytes); the caller may wipe its copy. */
  constructor(key: Uint8Array) {
    if (key.length !== TRANSPORT_KEY_LEN) throw new RangeError(`transport key must be ${TRANSPORT_KEY_LEN} bytes`);
    this.key = new Uint8Array(TRANSPORT_KEY_LEN);
    this.key.set(key);
  }

  private setNonce(hi: number, lo: number): void {
    this.nonceView.setUint32(4, lo >>> 0, true);
    this.nonceView.setUint32(8, hi >>> 0, true);
  }

  /**
   * Encrypts src[srcOff, srcOff+len) into dst at dstOff, writing len + 16 bytes (ciphertext || tag).
   * src and dst may be the same buffer only when srcOff === dstOff (in-place). Returns bytes written.
   */
  seal(hi: number, lo: number, src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number): number {
    this.setNonce(hi, lo);
    const out = dst.subarray(dstOff, dstOff + len + TRANSPORT_TAG_LEN);
    if (out.length !== len + TRANSPORT_TAG_LEN) throw new RangeError('transport seal: destination too small');
    return sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
      out, src.subarray(srcOff, srcOff + len), null, null, this.nonce, this.key);
  }

  /**
   * Decrypts and authenticates src[srcOff, srcOff+len) (ciphertext || tag) into dst at dstOff.
   * Returns the plaintext length (len - 16), or -1 if authentication fails (dst contents then unspecified).
   * In place (src === dst, srcOff === dstOff) is allowed.
   */
  open(hi: number, lo: number, src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number): number {
    if (len < TRANSPORT_TAG_LEN) return -1;
    const plainLen = len - TRANSPORT_TAG_LEN;
    const out = dst.subarray(dstOff, dstOff + plainLen);
    if (out.length !== plainLen) throw new RangeError('transport open: destination too small');
    this.setNonce(hi, lo);
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
        out, null, src.subarray(srcOff, srcOff + len), null, this.nonce, this.key);
      return plainLen;
    } catch {
      return -1;
    }
  }

  /** Zero the key; the cipher must not be used afterwards. */
  wipe(): void {
    this.key.fill(0);
  }
}
