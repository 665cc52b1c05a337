/**
 * A session (wireguard-go's "keypair"): the two transport keys from one handshake, the send counter (never
 * reused), the receive replay window, the creation time and who initiated.
 *
 * encrypt/decrypt work on caller buffers at offsets and allocate nothing beyond the views libsodium needs.
 * Counters are 64-bit, kept as (hi, lo) 32-bit halves.
 */
import { TransportCipher, TRANSPORT_TAG_LEN } from '../crypto/transport-aead.js';
import { wipe } from '../crypto/wipe.js';
import { PADDING_MULTIPLE_BYTES, REJECT_AFTER_TIME_MS, TRANSPORT_HEADER_BYTES, TRANSPORT_MIN_BYTES } from './constants.js';
import { transportCounterHi, transportCounterLo, writeTransportHeader } from './messages.js';
import { counterAtOrAboveReject, ReplayWindow } from './replay.js';
import type { DerivedKeys } from './noise.js';

/** decrypt() failure codes (negative so a length can be returned on success). */
export const DECRYPT_AUTH_FAILED = -1;
export const DECRYPT_REPLAYED = -2;
/** encrypt() failure: the send counter reached REJECT_AFTER_MESSAGES. */
export const ENCRYPT_COUNTER_EXHAUSTED = -1;

const TWO_POW_32 = 0x1_0000_0000;

/** Bytes a transport message needs for a plaintext of `len` bytes (header + padded plaintext + tag). */
export function transportMessageLength(len: number): number {
  return TRANSPORT_HEADER_BYTES + paddedLength(len) + TRANSPORT_TAG_LEN;
}

export function paddedLength(len: number): number {
  return Math.ceil(len / PADDING_MULTIPLE_BYTES) * PADDING_MULTIPLE_BYTES;
}

export class Session {
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly isInitiator: boolean;
  /** Monotonic ms when the handshake completed. */
  readonly createdAt: number;
  private readonly sender: TransportCipher;
  private readonly receiver: TransportCipher;
  private readonly replay = new ReplayWindow();
  private sendHi = 0;
  private sendLo = 0;

  /** Takes the derived keys and wipes the caller's copies. */
  constructor(keys: DerivedKeys, now: number) {
    this.localIndex = keys.localIndex;
    this.remoteIndex = keys.remoteIndex;
    this.isInitiator = keys.isInitiator;
    this.createdAt = now;
    this.sender = new TransportCipher(keys.sendKey);
    this.receiver = new TransportCipher(keys.recvKey);
    wipe(keys.sendKey, keys.recvKey);
  }

  /** The next counter to be used, as a Number (exact below 2^53; for timers and diagnostics). */
  get sendCounter(): number {
    return this.sendHi * TWO_POW_32 + this.sendLo;
  }

  /** For tests and diagnostics: move the send counter (e.g. near REJECT_AFTER_MESSAGES). */
  setSendCounter(counter: bigint): void {
    this.sendHi = Number((counter >> 32n) & 0xffff_ffffn);
    this.sendLo = Number(counter & 0xffff_ffffn);
  }

  /** True while this session may still send: younger than REJECT_AFTER_TIME and counter below the limit. */
  canSend(now: number): boolean {
    return now - this.createdAt < REJECT_AFTER_TIME_MS && !counterAtOrAboveReject(this.sendHi, this.sendLo);
  }

  canReceive(now: number): boolean {
    return now - this.createdAt < REJECT_AFTER_TIME_MS;
  }

  /**
   * Writes a complete type-4 message for plaintext src[srcOff, srcOff+len) at dst[dstOff]: header, the plaintext
   * zero-padded to a multiple of 16, tag. dst needs transportMessageLength(len) bytes from dstOff; the regions may
   * overlap only if src sits exactly at dstOff+16 (in place). Returns the message length or
   * ENCRYPT_COUNTER_EXHAUSTED. A keepalive is len = 0.
   */
  encrypt(src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number): number {
    if (counterAtOrAboveReject(this.sendHi, this.sendLo)) return ENCRYPT_COUNTER_EXHAUSTED;
    const hi = this.sendHi;
    const lo = this.sendLo;
    if (this.sendLo === 0xffff_ffff) {
      this.sendLo = 0;
      this.sendHi++;
    } else {
      this.sendLo++;
    }
    const bodyOff = dstOff + TRANSPORT_HEADER_BYTES;
    const padded = paddedLength(len);
    if (src !== dst || srcOff !== bodyOff) dst.set(src.subarray(srcOff, srcOff + len), bodyOff);
    dst.fill(0, bodyOff + len, bodyOff + padded);
    writeTransportHeader(dst, dstOff, this.remoteIndex, hi, lo);
    this.sender.seal(hi, lo, dst, bodyOff, padded, dst, bodyOff);
    return TRANSPORT_HEADER_BYTES + padded + TRANSPORT_TAG_LEN;
  }

  /**
   * Authenticates and decrypts the type-4 message buf[off, off+len) (already classified; receiver index already
   * matched to this session) into dst at dstOff, then checks the counter against the replay window. Returns the
   * (padded) plaintext length, DECRYPT_AUTH_FAILED or DECRYPT_REPLAYED. In place (dst === buf,
   * dstOff === off + 16) is allowed.
   */
  decrypt(buf: Uint8Array, off: number, len: number, dst: Uint8Array, dstOff: number): number {
    if (len < TRANSPORT_MIN_BYTES) return DECRYPT_AUTH_FAILED;
    const hi = transportCounterHi(buf, off);
    const lo = transportCounterLo(buf, off);
    if (counterAtOrAboveReject(hi, lo)) return DECRYPT_REPLAYED;
    const n = this.receiver.open(hi, lo, buf, off + TRANSPORT_HEADER_BYTES, len - TRANSPORT_HEADER_BYTES, dst, dstOff);
    if (n < 0) return DECRYPT_AUTH_FAILED;
    if (!this.replay.validate(hi, lo)) return DECRYPT_REPLAYED;
    return n;
  }

  /** Wipe both keys; the session is unusable afterwards. */
  destroy(): void {
    this.sender.wipe();
    this.receiver.wipe();
  }
}
