/**
 * Netlink framing: struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid } (host order, 16 bytes),
 * then the payload, padded to 4 bytes. A datagram may carry several messages (dumps).
 */
import { align4, Attrs, concat } from './attr.js';
import {
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLMSGERR_LEN,
} from './constants.js';
import { HOST_LE } from './endian.js';
import { NetlinkDecodeError } from './errors.js';

/** A request before framing: what the socket sends (seq and pid are filled in at send time). */
export interface NlRequest {
  type: number;
  flags: number;
  /** Fixed header (ifinfomsg, rtmsg, ...) followed by attributes. */
  body: Uint8Array;
  /** Names the operation in errors: "create link vx0 (vxlan)". */
  what: string;
  /**
   * A dump (NLM_F_DUMP, no NLM_F_ACK): replies are NLM_F_MULTI messages ended by NLMSG_DONE. Otherwise the
   * request carries NLM_F_ACK and ends at the kernel's NLMSG_ERROR (0 = ACK), after any reply message.
   */
  dump?: boolean;
}

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** View of the payload (after the 16-byte header, up to nlmsg_len). */
  payload: Uint8Array;
}

/** Frames a request as one netlink message. */
export function frame(req: Pick<NlRequest, 'type' | 'flags' | 'body'>, seq: number, pid = 0): Uint8Array {
  const out = concat([new Uint8Array(NLMSG_HDRLEN), req.body, new Uint8Array(align4(req.body.length) - req.body.length)]);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length, HOST_LE);
  view.setUint16(4, req.type, HOST_LE);
  view.setUint16(6, req.flags, HOST_LE);
  view.setUint32(8, seq >>> 0, HOST_LE);
  view.setUint32(12, pid >>> 0, HOST_LE);
  return out;
}

/** Rewrites seq in an already framed message (for retries). */
export function setSeq(framed: Uint8Array, seq: number): void {
  new DataView(framed.buffer, framed.byteOffset, framed.byteLength).setUint32(8, seq >>> 0, HOST_LE);
}

/** Splits buf[0, length) into messages; every nlmsg_len is checked against what remains. */
export function parseMessages(buf: Uint8Array, length = buf.length): NlMessage[] {
  if (length > buf.length) throw new NetlinkDecodeError(`length ${length} past the buffer (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: NlMessage[] = [];
  let off = 0;
  while (off < length) {
    if (length - off < NLMSG_HDRLEN) throw new NetlinkDecodeError(`truncated nlmsghdr: ${length - off} bytes at offset ${off}`);
    const len = view.getUint32(off, HOST_LE);
    if (len < NLMSG_HDRLEN) throw new NetlinkDecodeError(`nlmsg_len ${len} below header size at offset ${off}`);
    if (len > length - off) throw new NetlinkDecodeError(`nlmsg_len ${len} past the end (${length - off} bytes left) at offset ${off}`);
    out.push({
      type: view.getUint16(off + 4, HOST_LE),
      flags: view.getUint16(off + 6, HOST_LE),
      seq: view.getUint32(off + 8, HOST_LE),
      pid: view.getUint32(off + 12, HOST_LE),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off = Math.min(length, off + align4(len));
  }
  return out;
}

export interface NlError {
  /** 0 for an ACK, otherwise a positive errno. */
  errno: number;
  /** NLMSGERR_ATTR_MSG, when the kernel sent one. */
  extack?: string;
  /** NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in the request. */
  extackOffset?: number;
  /** Type and seq of the echoed request header. */
  requestType: number;
  requestSeq: number;
}

/**
 * Parses the payload of an NLMSG_ERROR message: int error, the echoed request (only its header when
 * NLM_F_CAPPED, else the whole request), then extended-ack attributes when NLM_F_ACK_TLVS.
 */
export function parseError(msg: NlMessage): NlError {
  if (msg.type !== NLMSG_ERROR) throw new NetlinkDecodeError(`message type ${msg.type} is not NLMSG_ERROR`);
  const p = msg.payload;
  if (p.length < NLMSGERR_LEN) throw new NetlinkDecodeError(`nlmsgerr of ${p.length} bytes, want at least ${NLMSGERR_LEN}`);
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const error = view.getInt32(0, HOST_LE);
  if (error > 0) throw new NetlinkDecodeError(`nlmsgerr error ${error} is positive`);
  const echoedLen = view.getUint32(4, HOST_LE);
  const result: NlError = { errno: -error, requestType: view.getUint16(8, HOST_LE), requestSeq: view.getUint32(12, HOST_LE) };
  if (!(msg.flags & NLM_F_ACK_TLVS)) return result;
  let tlvStart = NLMSGERR_LEN;
  if (!(msg.flags & NLM_F_CAPPED)) {
    if (echoedLen < NLMSG_HDRLEN) throw new NetlinkDecodeError(`echoed request length ${echoedLen} below header size`);
    tlvStart = 4 + align4(echoedLen);
  }
  if (tlvStart > p.length) throw new NetlinkDecodeError(`echoed request (${echoedLen} bytes) past the end of nlmsgerr`);
  const tlvs = new Attrs(p, tlvStart, p.length);
  const text = tlvs.string(NLMSGERR_ATTR_MSG);
  if (text !== undefined) result.extack = text;
  const offs = tlvs.u32(NLMSGERR_ATTR_OFFS);
  if (offs !== undefined) result.extackOffset = offs;
  return result;
}
