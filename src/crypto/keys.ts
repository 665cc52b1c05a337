/**
 * WireGuard keys, in one place: generation, clamping, Curve25519 public keys, constant-time comparison, and the two
 * text encodings.
 *
 * - base64 is the form `wg` and wg-quick configs use: exactly 44 characters, standard alphabet, one '=' of
 *   padding, decoding to 32 bytes. Like `wg`, the encoding must be canonical: the character before '=' carries
 *   two unused bits that must be zero, so every key has exactly one accepted spelling.
 * - hex is the form of the `wg` configuration protocol (UAPI): 64 hex digits; we emit lowercase and, like `wg`,
 *   accept either case on input.
 *
 * Nothing here logs, and errors never echo the key text back (a mistyped private key is still mostly secret).
 * Randomness comes in as an Rng (crypto/random.ts), so this module does no I/O of its own.
 */
import { nativeCrypto as native } from '../native/crypto.js';
import type { Rng } from './random.js';

/** Bytes in every WireGuard key: private, public, preshared, ephemeral (whitepaper §5.4, Curve25519 and PSK). */
export const KEY_BYTES = 32;
/** Characters in a base64-encoded key: ceil(32 / 3) * 4. */
export const KEY_BASE64_LENGTH = 44;
/** Characters in a hex-encoded key. */
export const KEY_HEX_LENGTH = 64;

const BASE64_ALPHABET = /^[A-Za-z0-9+/]*$/;
/** 43 data characters encode 258 bits; the last one's two low bits are padding and must be zero. */
const CANONICAL_LAST = /[AEIMQUYcgkosw048]/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/** Raised by decodeKey/decodeHexKey; `reason` says what is wrong without repeating the input. */
export class KeyFormatError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'KeyFormatError';
  }
}

/**
 * Clamps a Curve25519 private key in place, as RFC 7748 §5 decodes scalars (clear bits 0-2 and 255, set bit 254),
 * and returns it. `wg genkey` stores keys clamped; X25519 clamps internally anyway. Throws KeyFormatError unless
 * the key is 32 bytes.
 */
export function clampPrivateKey(key: Uint8Array): Uint8Array {
  checkLength(key);
  key[0]! &= 248;
  key[31]! &= 127;
  key[31]! |= 64;
  return key;
}

/** A fresh, clamped private key (what `wg genkey` prints) from `rng`. */
export function generatePrivateKey(rng: Rng): Uint8Array {
  const key = new Uint8Array(KEY_BYTES);
  rng(key);
  return clampPrivateKey(key);
}

/** A fresh preshared key: 32 uniformly random bytes, no clamping (what `wg genpsk` prints). */
export function generatePresharedKey(rng: Rng): Uint8Array {
  const key = new Uint8Array(KEY_BYTES);
  rng(key);
  return key;
}

/**
 * The X25519 public key of `privateKey` (scalar times the base point, RFC 7748 §6.1; the scalar is clamped), through
 * the addon (crypto/x25519.ts says why). Throws KeyFormatError unless the key is 32 bytes.
 */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  checkLength(privateKey);
  const out = new Uint8Array(KEY_BYTES);
  native().x25519PublicKey(privateKey, out);
  return out;
}

/**
 * Whether two byte strings are equal, in time that depends only on their lengths (lengths are not secret for
 * keys, MACs and tags, which have fixed sizes). The one comparison for secrets and authenticators.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Whether a equals b[bOff, bOff + a.length), in time that depends only on a's length; false when b is too short.
 * For comparing a computed MAC with the one in a message without making a view.
 */
export function constantTimeEqualAt(a: Uint8Array, b: Uint8Array, bOff: number): boolean {
  if (bOff < 0 || bOff + a.length > b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[bOff + i]!;
  return diff === 0;
}

/**
 * Whether the key is absent or all zeros (`wg` and the UAPI treat an all-zero key as "no key"; an all-zero DH
 * result marks a low-order point, whitepaper §5.4.3). Constant time in the length.
 */
export function isZeroKey(key: Uint8Array | undefined | null): boolean {
  if (key === undefined || key === null) return true;
  let acc = 0;
  for (let i = 0; i < key.length; i++) acc |= key[i]!;
  return acc === 0;
}

/** The base64 form of a 32-byte key. Throws KeyFormatError for any other length. */
export function encodeKey(key: Uint8Array): string {
  checkLength(key);
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64');
}

/** The reason `text` is not a valid base64 key, or undefined if it is one. */
export function base64KeyProblem(text: string): string | undefined {
  if (text.length !== KEY_BASE64_LENGTH) {
    return `expected ${KEY_BASE64_LENGTH} base64 characters, got ${text.length}`;
  }
  if (text[KEY_BASE64_LENGTH - 1] !== '=') return "must end with '='";
  const body = text.slice(0, KEY_BASE64_LENGTH - 1);
  if (!BASE64_ALPHABET.test(body)) {
    const at = [...body].findIndex((c) => !BASE64_ALPHABET.test(c));
    return `character ${at + 1} is not in the base64 alphabet`;
  }
  if (!CANONICAL_LAST.test(body[body.length - 1]!)) return 'not canonical base64 (character 43 has padding bits set)';
  return undefined;
}

/** Decodes a base64 key exactly as `wg` accepts it; throws KeyFormatError otherwise. */
export function decodeKey(text: string): Uint8Array {
  const problem = base64KeyProblem(text);
  if (problem) throw new KeyFormatError(problem);
  return copyOut(Buffer.from(text, 'base64'));
}

/** The lowercase hex form of a 32-byte key (the UAPI's). Throws KeyFormatError for any other length. */
export function encodeHexKey(key: Uint8Array): string {
  checkLength(key);
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}

/** 32 bytes from exactly 64 hex digits (either case), or undefined: the UAPI parser phrases its own error. */
export function parseHexKey(text: string): Uint8Array | undefined {
  return HEX_KEY.test(text) ? copyOut(Buffer.from(text, 'hex')) : undefined;
}

/** Decodes 64 hex digits (either case); throws KeyFormatError otherwise. */
export function decodeHexKey(text: string): Uint8Array {
  if (text.length !== KEY_HEX_LENGTH) {
    throw new KeyFormatError(`expected ${KEY_HEX_LENGTH} hex digits, got ${text.length}`);
  }
  const key = parseHexKey(text);
  if (key === undefined) throw new KeyFormatError('contains a character that is not a hex digit');
  return key;
}

/** Copies a decoded key out of a (pooled) Buffer into its own array and wipes the Buffer. */
function copyOut(buf: Buffer): Uint8Array {
  const out = new Uint8Array(KEY_BYTES);
  out.set(buf);
  buf.fill(0);
  return out;
}

function checkLength(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new KeyFormatError(`a key is ${KEY_BYTES} bytes, got ${key.length}`);
}
