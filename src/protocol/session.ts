/**
 * A session (wireguard-go's "keypair"): the two transport keys from one handshake, the send counter (never
 * reused), the receive replay window, the creation time and who initiated.
 *
 * encrypt/decrypt work on caller buffers at offsets and allocate nothing; the cipher itself is the device's
 * TransportAead, which may run a seal or an open later, with the rest of its batch (see transport-aead.ts).
 * Counters are 64-bit, kept as (hi, lo) 32-bit halves.
 */
import { TRANSPORT_KEY_LEN, TRANSPORT_TAG_LEN, type TransportAead } from '../crypto/transport-aead.js';
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
  private readonly sendKey = new Uint8Array(TRANSPORT_KEY_LEN);
  private readonly recvKey = new Uint8Array(TRANSPORT_KEY_LEN);
  private readonly replay = new ReplayWindow();
  private sendHi = 0;
  private sendLo = 0;

  /** Takes the derived keys and wipes the caller's copies; `aead` runs the cipher. */
  constructor(keys: DerivedKeys, now: number, private readonly aead: TransportAead) {
    this.localIndex = keys.localIndex;
    this.remoteIndex = keys.remoteIndex;
    this.isInitiator = keys.isInitiator;
    this.createdAt = now;
    this.sendKey.set(keys.sendKey);
    this.recvKey.set(keys.recvKey);
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
   * ENCRYPT_COUNTER_EXHAUSTED. A keepalive is len = 0. The header is written now; the ciphertext may be written at
   * the aead's next flushSeals() (when src and dst are the buffers of its current batch).
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
    const padded = paddedLength(len);
    writeTransportHeader(dst, dstOff, this.remoteIndex, hi, lo);
    this.aead.seal(this.sendKey, hi, lo, src, srcOff, len, padded, dst, dstOff + TRANSPORT_HEADER_BYTES);
    return TRANSPORT_HEADER_BYTES + padded + TRANSPORT_TAG_LEN;
  }

  /**
   * Authenticates and decrypts the type-4 message buf[off, off+len) (already classified; receiver index already
   * matched to this session) into dst at dstOff, now, then checks the counter against the replay window. Returns
   * the (padded) plaintext length, DECRYPT_AUTH_FAILED or DECRYPT_REPLAYED. In place (dst === buf, dstOff ===
   * off + 16) is allowed; any other overlap is not.
   */
  decrypt(buf: Uint8Array, off: number, len: number, dst: Uint8Array, dstOff: number): number {
    if (len < TRANSPORT_MIN_BYTES) return DECRYPT_AUTH_FAILED;
    const hi = transportCounterHi(buf, off);
    const lo = transportCounterLo(buf, off);
    if (counterAtOrAboveReject(hi, lo)) return DECRYPT_REPLAYED;
    const n = this.aead.openNow(this.recvKey, hi, lo, buf, off + TRANSPORT_HEADER_BYTES, len - TRANSPORT_HEADER_BYTES, dst, dstOff);
    if (n < 0) return DECRYPT_AUTH_FAILED;
    return this.acceptCounter(hi, lo) ? n : DECRYPT_REPLAYED;
  }

  /**
   * The batched form of decrypt(), first half: queues the opening of buf[off, off+len) (the aead's open batch
   * buffers) into the batch's dst at dstOff. Returns the open job's index, DECRYPT_AUTH_FAILED for a message too
   * short to hold a tag, or DECRYPT_REPLAYED for a counter at or above REJECT_AFTER_MESSAGES. After the aead's
   * runOpens(), finish with aead.opened(job) and acceptCounter(hi, lo), in queue order.
   */
  queueDecrypt(buf: Uint8Array, off: number, len: number, dstOff: number): number {
    if (len < TRANSPORT_MIN_BYTES) return DECRYPT_AUTH_FAILED;
    const hi = transportCounterHi(buf, off);
    const lo = transportCounterLo(buf, off);
    if (counterAtOrAboveReject(hi, lo)) return DECRYPT_REPLAYED;
    return this.aead.queueOpen(this.recvKey, hi, lo, off + TRANSPORT_HEADER_BYTES, len - TRANSPORT_HEADER_BYTES, dstOff);
  }

  /** Records an authenticated counter (hi, lo) in the replay window; false when it is a replay or too old. */
  acceptCounter(hi: number, lo: number): boolean {
    return this.replay.validate(hi, lo);
  }

  /** Wipe both keys; the session is unusable afterwards. */
  destroy(): void {
    wipe(this.sendKey, this.recvKey);
  }
}
