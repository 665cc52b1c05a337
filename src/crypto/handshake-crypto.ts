/**
 * The handshake's primitives as one injectable suite (whitepaper §5.4): X25519 DH and public keys, and the BLAKE2s
 * family (HASH, MAC, KDF). The protocol core takes a HandshakeCrypto, as it takes the transport cipher (an
 * AeadBackend inside a TransportAead), so it never loads the addon itself:
 *
 *   native-handshake.ts     X25519 and MAC through the addon (OpenSSL inside Node): what the device uses;
 *   reference-handshake.ts  @noble/curves and @noble/hashes, pure JavaScript: tests, and the check of the native.
 *
 * HASH and KDF are @noble's in both (crypto/blake2s.ts): they run a few times per handshake and have no native form.
 * Keys are 32-byte arrays; every function returns a new array unless it says `into`.
 */

/** The primitives of the Noise_IKpsk2 handshake and the cookie MACs. Implementations are stateless. */
export interface HandshakeCrypto {
  /**
   * DH(private, public) = X25519 (RFC 7748): a new 32-byte shared secret, or null when the result is all zeros (a
   * low-order public key, which WireGuard must reject, whitepaper §5.4.2) or a key is not 32 bytes.
   */
  dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null;
  /**
   * The X25519 public key of a private key (scalar times the base point, RFC 7748 §6.1; the scalar is clamped).
   * Throws (a KeyFormatError from crypto/keys.ts) unless the key is 32 bytes.
   */
  publicKey(privateKey: Uint8Array): Uint8Array;
  /** HASH(a || b || ...) = BLAKE2s-256. */
  hash(...parts: Uint8Array[]): Uint8Array;
  /** MAC(key, data) = keyed BLAKE2s-128 (mac1, mac2, cookies): a new 16-byte array. Key 1..32 bytes. */
  mac(key: Uint8Array, data: Uint8Array): Uint8Array;
  /**
   * MAC(key, data[off, off+len)) written into `out` (16 bytes), allocating nothing: the mac1 check every handshake
   * message gets first. Throws RangeError for a key of 0 or more than 32 bytes, an `out` of another size, or a
   * range outside data.
   */
  macInto(key: Uint8Array, data: Uint8Array, off: number, len: number, out: Uint8Array): void;
  /** KDF1/KDF2/KDF3 (the whitepaper's HKDF over HMAC-BLAKE2s): `n` 32-byte outputs from a chaining key and input. */
  kdf(n: 1, key: Uint8Array, input: Uint8Array): [Uint8Array];
  kdf(n: 2, key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array];
  kdf(n: 3, key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array, Uint8Array];
}
