/**
 * Wire codecs for the four WireGuard messages (all integers little-endian):
 *
 *   Initiation (148): type=1 | reserved(3)=0 | sender u32 | ephemeral(32) | static(32+16) | timestamp(12+16)
 *                     | mac1(16) | mac2(16)
 *   Response    (92): type=2 | reserved(3)=0 | sender u32 | receiver u32 | ephemeral(32) | empty(0+16)
 *                     | mac1(16) | mac2(16)
 *   CookieReply (64): type=3 | reserved(3)=0 | receiver u32 | nonce(24) | cookie(16+16)
 *   Transport (≥32):  type=4 | reserved(3)=0 | receiver u32 | counter u64 | packet(n+16)
 *
 * classify() dispatches on (type, length) together and checks the reserved bytes; it never throws. Parsed
 * handshake fields are views into the caller's buffer (valid while the buffer is). The transport header is read
 * with plain functions that allocate nothing.
 */
import {
  COOKIE_REPLY_BYTES, INITIATION_BYTES, MESSAGE_COOKIE_REPLY, MESSAGE_INITIATION, MESSAGE_RESPONSE,
  MESSAGE_TRANSPORT, RESPONSE_BYTES, TRANSPORT_HEADER_BYTES, TRANSPORT_MIN_BYTES,
} from './constants.js';

export type MessageType = 1 | 2 | 3 | 4;
export type ParseError = 'tooShort' | 'unknownType' | 'badLength' | 'reservedNotZero';

/* Field offsets. */
export const OFF_TYPE = 0;
export const OFF_SENDER = 4;
export const INIT_OFF_EPHEMERAL = 8;
export const INIT_OFF_STATIC = 40;
export const INIT_OFF_TIMESTAMP = 88;
export const INIT_OFF_MAC1 = 116;
export const INIT_OFF_MAC2 = 132;
export const RESP_OFF_RECEIVER = 8;
export const RESP_OFF_EPHEMERAL = 12;
export const RESP_OFF_EMPTY = 44;
export const RESP_OFF_MAC1 = 60;
export const RESP_OFF_MAC2 = 76;
export const COOKIE_OFF_RECEIVER = 4;
export const COOKIE_OFF_NONCE = 8;
export const COOKIE_OFF_COOKIE = 32;
export const TRANSPORT_OFF_RECEIVER = 4;
export const TRANSPORT_OFF_COUNTER = 8;

/** The message type of buf[off, off+len), or why it is not a valid WireGuard message. Never throws. */
export function classify(buf: Uint8Array, off: number, len: number): MessageType | ParseError {
  if (len < 4 || off < 0 || off + len > buf.length) return 'tooShort';
  if ((buf[off + 1]! | buf[off + 2]! | buf[off + 3]!) !== 0) {
    return buf[off]! >= 1 && buf[off]! <= 4 ? 'reservedNotZero' : 'unknownType';
  }
  switch (buf[off]) {
    case MESSAGE_INITIATION: return len === INITIATION_BYTES ? 1 : 'badLength';
    case MESSAGE_RESPONSE: return len === RESPONSE_BYTES ? 2 : 'badLength';
    case MESSAGE_COOKIE_REPLY: return len === COOKIE_REPLY_BYTES ? 3 : 'badLength';
    case MESSAGE_TRANSPORT: return len >= TRANSPORT_MIN_BYTES ? 4 : 'badLength';
    default: return 'unknownType';
  }
}

export function readU32LE(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

export function writeU32LE(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

function header(buf: Uint8Array, type: MessageType): void {
  buf[0] = type;
  buf[1] = 0;
  buf[2] = 0;
  buf[3] = 0;
}

/* ---------- Initiation ---------- */

export interface Initiation {
  senderIndex: number;
  ephemeral: Uint8Array; // 32
  encryptedStatic: Uint8Array; // 48
  encryptedTimestamp: Uint8Array; // 28
  mac1: Uint8Array; // 16
  mac2: Uint8Array; // 16
}

/** Views over a buffer already classified as an initiation (148 bytes at off). */
export function parseInitiation(buf: Uint8Array, off: number): Initiation {
  return {
    senderIndex: readU32LE(buf, off + OFF_SENDER),
    ephemeral: buf.subarray(off + INIT_OFF_EPHEMERAL, off + INIT_OFF_STATIC),
    encryptedStatic: buf.subarray(off + INIT_OFF_STATIC, off + INIT_OFF_TIMESTAMP),
    encryptedTimestamp: buf.subarray(off + INIT_OFF_TIMESTAMP, off + INIT_OFF_MAC1),
    mac1: buf.subarray(off + INIT_OFF_MAC1, off + INIT_OFF_MAC2),
    mac2: buf.subarray(off + INIT_OFF_MAC2, off + INITIATION_BYTES),
  };
}

/** A new 148-byte initiation; mac1/mac2 are left zero for cookie.ts to fill. */
export function formatInitiation(m: Omit<Initiation, 'mac1' | 'mac2'>): Uint8Array {
  const out = new Uint8Array(INITIATION_BYTES);
  header(out, MESSAGE_INITIATION);
  writeU32LE(out, OFF_SENDER, m.senderIndex);
  out.set(m.ephemeral, INIT_OFF_EPHEMERAL);
  out.set(m.encryptedStatic, INIT_OFF_STATIC);
  out.set(m.encryptedTimestamp, INIT_OFF_TIMESTAMP);
  return out;
}

/* ---------- Response ---------- */

export interface Response {
  senderIndex: number;
  receiverIndex: number;
  ephemeral: Uint8Array; // 32
  encryptedNothing: Uint8Array; // 16
  mac1: Uint8Array;
  mac2: Uint8Array;
}

export function parseResponse(buf: Uint8Array, off: number): Response {
  return {
    senderIndex: readU32LE(buf, off + OFF_SENDER),
    receiverIndex: readU32LE(buf, off + RESP_OFF_RECEIVER),
    ephemeral: buf.subarray(off + RESP_OFF_EPHEMERAL, off + RESP_OFF_EMPTY),
    encryptedNothing: buf.subarray(off + RESP_OFF_EMPTY, off + RESP_OFF_MAC1),
    mac1: buf.subarray(off + RESP_OFF_MAC1, off + RESP_OFF_MAC2),
    mac2: buf.subarray(off + RESP_OFF_MAC2, off + RESPONSE_BYTES),
  };
}

export function formatResponse(m: Omit<Response, 'mac1' | 'mac2'>): Uint8Array {
  const out = new Uint8Array(RESPONSE_BYTES);
  header(out, MESSAGE_RESPONSE);
  writeU32LE(out, OFF_SENDER, m.senderIndex);
  writeU32LE(out, RESP_OFF_RECEIVER, m.receiverIndex);
  out.set(m.ephemeral, RESP_OFF_EPHEMERAL);
  out.set(m.encryptedNothing, RESP_OFF_EMPTY);
  return out;
}

/* ---------- Cookie reply ---------- */

export interface CookieReply {
  receiverIndex: number;
  nonce: Uint8Array; // 24
  encryptedCookie: Uint8Array; // 32
}

export function parseCookieReply(buf: Uint8Array, off: number): CookieReply {
  return {
    receiverIndex: readU32LE(buf, off + COOKIE_OFF_RECEIVER),
    nonce: buf.subarray(off + COOKIE_OFF_NONCE, off + COOKIE_OFF_COOKIE),
    encryptedCookie: buf.subarray(off + COOKIE_OFF_COOKIE, off + COOKIE_REPLY_BYTES),
  };
}

export function formatCookieReply(m: CookieReply): Uint8Array {
  const out = new Uint8Array(COOKIE_REPLY_BYTES);
  header(out, MESSAGE_COOKIE_REPLY);
  writeU32LE(out, COOKIE_OFF_RECEIVER, m.receiverIndex);
  out.set(m.nonce, COOKIE_OFF_NONCE);
  out.set(m.encryptedCookie, COOKIE_OFF_COOKIE);
  return out;
}

/* ---------- Transport (hot path: no allocation) ---------- */

export function transportReceiver(buf: Uint8Array, off: number): number {
  return readU32LE(buf, off + TRANSPORT_OFF_RECEIVER);
}
export function transportCounterLo(buf: Uint8Array, off: number): number {
  return readU32LE(buf, off + TRANSPORT_OFF_COUNTER);
}
export function transportCounterHi(buf: Uint8Array, off: number): number {
  return readU32LE(buf, off + TRANSPORT_OFF_COUNTER + 4);
}

/** Writes the 16-byte transport header at buf[off]. */
export function writeTransportHeader(buf: Uint8Array, off: number, receiver: number, hi: number, lo: number): void {
  buf[off] = MESSAGE_TRANSPORT;
  buf[off + 1] = 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  writeU32LE(buf, off + TRANSPORT_OFF_RECEIVER, receiver);
  writeU32LE(buf, off + TRANSPORT_OFF_COUNTER, lo);
  writeU32LE(buf, off + TRANSPORT_OFF_COUNTER + 4, hi);
}

export { TRANSPORT_HEADER_BYTES };
