/**
 * rtattr / nlattr: { len u16, type u16 } + payload, each attribute padded to 4 bytes. Lengths are host order;
 * "be" helpers write network order payloads (ports, VNIs) the way the kernel wants them.
 *
 * Encoders return complete, padded attributes as byte arrays, so nesting is concatenation. Decoders return
 * views into the input (no copies) and check every length: an attribute claiming more bytes than remain, a
 * length below the header size, or a payload of the wrong size for its type is a NetlinkDecodeError.
 */
import { NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_ALIGNTO } from './constants.js';
import { NetlinkDecodeError } from './errors.js';
import { HOST_LE } from './endian.js';

/** Maximum attribute length: rta_len is a u16. */
const ATTR_MAX_LEN = 0xffff;

export function align4(n: number): number {
  return (n + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// ---- encoders -------------------------------------------------------------------------------------------

/** One attribute with a raw payload (padded; rta_len excludes the padding). */
export function attr(type: number, payload: Uint8Array, flags = 0): Uint8Array {
  const len = NLA_HDRLEN + payload.length;
  if (len > ATTR_MAX_LEN) throw new RangeError(`attribute ${type}: ${payload.length} bytes do not fit rta_len`);
  const out = new Uint8Array(align4(len));
  const view = new DataView(out.buffer);
  view.setUint16(0, len, HOST_LE);
  view.setUint16(2, (type & NLA_TYPE_MASK) | flags, HOST_LE);
  out.set(payload, NLA_HDRLEN);
  return out;
}

function fixed(size: number, write: (v: DataView) => void): Uint8Array {
  const b = new Uint8Array(size);
  write(new DataView(b.buffer));
  return b;
}

export const attrU8 = (type: number, v: number) => attr(type, fixed(1, (d) => d.setUint8(0, v)));
export const attrU16 = (type: number, v: number) => attr(type, fixed(2, (d) => d.setUint16(0, v, HOST_LE)));
export const attrU32 = (type: number, v: number) => attr(type, fixed(4, (d) => d.setUint32(0, v >>> 0, HOST_LE)));
export const attrS32 = (type: number, v: number) => attr(type, fixed(4, (d) => d.setInt32(0, v, HOST_LE)));
/** Network byte order u16 (e.g. UDP ports). */
export const attrU16be = (type: number, v: number) => attr(type, fixed(2, (d) => d.setUint16(0, v, false)));
/** Network byte order u32 (e.g. flow labels). */
export const attrU32be = (type: number, v: number) => attr(type, fixed(4, (d) => d.setUint32(0, v >>> 0, false)));
/** A NUL-terminated string. */
export const attrString = (type: number, s: string) => attr(type, concat([new TextEncoder().encode(s), new Uint8Array(1)]));
/** A string without the NUL, as iproute2 sends IFLA_INFO_KIND (NLA_STRING accepts both). */
export const attrChars = (type: number, s: string) => attr(type, new TextEncoder().encode(s));
/** A flag attribute: no payload. */
export const attrFlag = (type: number) => attr(type, new Uint8Array(0));

/**
 * A nest of already-encoded attributes. rtnetlink's older nests (IFLA_LINKINFO, IFLA_INFO_DATA, VETH_INFO_PEER)
 * are accepted without NLA_F_NESTED and iproute2 sends them without it, so it is opt-in.
 */
export function attrNest(type: number, children: readonly Uint8Array[], opts: { nestedFlag?: boolean } = {}): Uint8Array {
  return attr(type, concat(children), opts.nestedFlag ? NLA_F_NESTED : 0);
}

// ---- decoders -------------------------------------------------------------------------------------------

export interface RawAttr {
  /** Type with NLA_F_NESTED / NLA_F_NET_BYTEORDER masked off. */
  type: number;
  nested: boolean;
  /** View of the payload (no padding). */
  data: Uint8Array;
}

/** Splits buf[start, end) into attributes. Throws NetlinkDecodeError on any length that does not fit. */
export function parseAttrs(buf: Uint8Array, start = 0, end = buf.length): RawAttr[] {
  if (start < 0 || end > buf.length || start > end) throw new NetlinkDecodeError(`attribute range ${start}..${end} outside ${buf.length} bytes`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: RawAttr[] = [];
  let off = start;
  while (off < end) {
    if (end - off < NLA_HDRLEN) throw new NetlinkDecodeError(`truncated attribute header: ${end - off} bytes at offset ${off}`);
    const len = view.getUint16(off, HOST_LE);
    const rawType = view.getUint16(off + 2, HOST_LE);
    if (len < NLA_HDRLEN) throw new NetlinkDecodeError(`attribute ${rawType & NLA_TYPE_MASK} at offset ${off}: length ${len} below header size`);
    if (len > end - off) throw new NetlinkDecodeError(`attribute ${rawType & NLA_TYPE_MASK} at offset ${off}: length ${len} past the end (${end - off} bytes left)`);
    out.push({ type: rawType & NLA_TYPE_MASK, nested: (rawType & NLA_F_NESTED) !== 0, data: buf.subarray(off + NLA_HDRLEN, off + len) });
    // The final attribute's padding may be cut by the end of the enclosing message.
    off = Math.min(end, off + align4(len));
  }
  return out;
}

/**
 * Typed, checked access to a parsed attribute list. Getters return undefined when the attribute is absent and
 * throw NetlinkDecodeError when it is present with the wrong size. The first occurrence of a type wins.
 */
export class Attrs {
  readonly list: readonly RawAttr[];
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.list = parseAttrs(buf, start, end);
  }

  has(type: number): boolean {
    return this.list.some((a) => a.type === type);
  }

  bytes(type: number): Uint8Array | undefined {
    return this.list.find((a) => a.type === type)?.data;
  }

  private sized(type: number, size: number, what: string): DataView | undefined {
    const b = this.bytes(type);
    if (b === undefined) return undefined;
    if (b.length !== size) throw new NetlinkDecodeError(`attribute ${type}: ${what} wants ${size} bytes, got ${b.length}`);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  u8(type: number): number | undefined {
    return this.sized(type, 1, 'u8')?.getUint8(0);
  }
  u16(type: number): number | undefined {
    return this.sized(type, 2, 'u16')?.getUint16(0, HOST_LE);
  }
  u32(type: number): number | undefined {
    return this.sized(type, 4, 'u32')?.getUint32(0, HOST_LE);
  }
  s32(type: number): number | undefined {
    return this.sized(type, 4, 's32')?.getInt32(0, HOST_LE);
  }
  u16be(type: number): number | undefined {
    return this.sized(type, 2, 'be16')?.getUint16(0, false);
  }
  u32be(type: number): number | undefined {
    return this.sized(type, 4, 'be32')?.getUint32(0, false);
  }

  /** A string up to its first NUL (or the payload's end). */
  string(type: number): string | undefined {
    const b = this.bytes(type);
    if (b === undefined) return undefined;
    const nul = b.indexOf(0);
    return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
  }

  /** An IP address payload: exactly 4 or 16 bytes (a copy). */
  address(type: number): Uint8Array | undefined {
    const b = this.bytes(type);
    if (b === undefined) return undefined;
    if (b.length !== 4 && b.length !== 16) throw new NetlinkDecodeError(`attribute ${type}: address of ${b.length} bytes`);
    return new Uint8Array(b);
  }

  /** The attributes inside a nest. */
  nested(type: number): Attrs | undefined {
    const b = this.bytes(type);
    return b === undefined ? undefined : new Attrs(b);
  }
}
