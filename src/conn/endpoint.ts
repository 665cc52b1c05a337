/**
 * Endpoint: a UDP address (IPv4 or IPv6, port, IPv6 scope id) stored as one 24-byte ADDR_SLOT, the layout the
 * addon's recvmmsg/sendmmsg use (see src/native/addon.ts):
 *   [0] family 4|6   [1] 0   [2..3] port BE   [4..7] scope id LE   [8..23] address (IPv4 in [8..11])
 *
 * The hot path never builds Endpoint objects per datagram: it compares and copies slots in place with the
 * slot* functions below, and only materialises an Endpoint when a peer's address changes (roaming).
 */
import { ADDR_SLOT } from '../native/addon.js';
import { formatIp, parseIPv4, parseIPv6, type Family, type IpAddress } from '../util/ip.js';

export { ADDR_SLOT };

const FAMILY_AT = 0;
const PORT_AT = 2;
const SCOPE_AT = 4;
const ADDRESS_AT = 8;
const MAX_PORT = 65_535;
const MAX_SCOPE_ID = 0xffff_ffff;

/** A map key for an endpoint: a number for IPv4 (address·2^16 + port), a short string for IPv6. */
export type EndpointKey = number | string;

export class Endpoint {
  /** The 24-byte slot; treat as read-only unless you own this Endpoint. */
  readonly slot: Uint8Array;

  private constructor(slot: Uint8Array) {
    this.slot = slot;
  }

  /** Parses "1.2.3.4:51820", "[fd00::1]:51820" or "[fe80::1%2]:51820" (numeric scope id). Throws on bad input. */
  static fromString(text: string): Endpoint {
    const ep = parseEndpoint(text);
    if (!ep) throw new Error(`invalid endpoint "${text}": expected IPv4:port or [IPv6]:port with port 1..65535`);
    return ep;
  }

  /** From an address and a port (0..65535). */
  static fromIp(ip: IpAddress, port: number, scopeId = 0): Endpoint {
    if (!Number.isInteger(port) || port < 0 || port > MAX_PORT) throw new RangeError(`port out of range: ${port}`);
    if (!Number.isInteger(scopeId) || scopeId < 0 || scopeId > MAX_SCOPE_ID) {
      throw new RangeError(`scope id out of range: ${scopeId}`);
    }
    const expected = ip.family === 4 ? 4 : 16;
    if (ip.bytes.length !== expected) throw new RangeError(`IPv${ip.family} address needs ${expected} bytes`);
    const slot = new Uint8Array(ADDR_SLOT);
    slot[FAMILY_AT] = ip.family;
    writePort(slot, 0, port);
    if (ip.family === 6) writeScope(slot, 0, scopeId);
    slot.set(ip.bytes, ADDRESS_AT);
    return new Endpoint(slot);
  }

  /** Copies a slot out of an arena. Throws when the slot does not hold a valid address. */
  static fromSlot(arena: Uint8Array, offset = 0): Endpoint {
    if (!slotIsValid(arena, offset)) throw new Error('address slot holds no IPv4/IPv6 address');
    return new Endpoint(arena.slice(offset, offset + ADDR_SLOT));
  }

  get family(): Family {
    return this.slot[FAMILY_AT] as Family;
  }

  get port(): number {
    return slotPort(this.slot, 0);
  }

  /** IPv6 scope id (interface index); 0 for IPv4 and for global IPv6 addresses. */
  get scopeId(): number {
    return readScope(this.slot, 0);
  }

  /** The address bytes (4 or 16) as a view into the slot. */
  get addressBytes(): Uint8Array {
    return this.slot.subarray(ADDRESS_AT, ADDRESS_AT + (this.family === 4 ? 4 : 16));
  }

  /** The address as a fresh IpAddress. */
  get ip(): IpAddress {
    return { family: this.family, bytes: this.addressBytes.slice() };
  }

  /** The address without the port, as wg prints it inside the brackets ("fd00::1", "fe80::1%2"). */
  get host(): string {
    const text = formatIp(this.addressBytes);
    const scope = this.scopeId;
    return scope !== 0 ? `${text}%${scope}` : text;
  }

  /** "1.2.3.4:51820" or "[fd00::1]:51820", as `wg show` prints endpoints. */
  toString(): string {
    return this.family === 4 ? `${this.host}:${this.port}` : `[${this.host}]:${this.port}`;
  }

  equals(other: Endpoint): boolean {
    return slotEquals(this.slot, 0, other.slot, 0);
  }

  /** Whether this endpoint equals the slot at arena[offset] (no allocation). */
  equalsSlot(arena: Uint8Array, offset: number): boolean {
    return slotEquals(this.slot, 0, arena, offset);
  }

  /** Copies this endpoint into arena[offset, offset+ADDR_SLOT). */
  writeTo(arena: Uint8Array, offset = 0): void {
    arena.set(this.slot, offset);
  }

  key(): EndpointKey {
    return slotKey(this.slot, 0);
  }
}

/** parseEndpoint without throwing: undefined on any malformed input. */
export function parseEndpoint(text: string): Endpoint | undefined {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return undefined;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0 || text.indexOf(':') !== colon) return undefined; // bare IPv6 must be bracketed
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > MAX_PORT) return undefined;
  if (!text.startsWith('[')) {
    const v4 = parseIPv4(host);
    return v4 && Endpoint.fromIp({ family: 4, bytes: v4 }, port);
  }
  let scopeId = 0;
  const pct = host.indexOf('%');
  if (pct >= 0) {
    const scopeText = host.slice(pct + 1);
    if (!/^[0-9]{1,10}$/.test(scopeText)) return undefined;
    scopeId = Number(scopeText);
    if (scopeId > MAX_SCOPE_ID) return undefined;
    host = host.slice(0, pct);
  }
  const v6 = parseIPv6(host);
  return v6 && Endpoint.fromIp({ family: 6, bytes: v6 }, port, scopeId);
}

// ---- slot functions: allocation-free, for the hot path -----------------------------------------------------

export function slotFamily(arena: Uint8Array, offset: number): number {
  return arena[offset + FAMILY_AT]!;
}

export function slotPort(arena: Uint8Array, offset: number): number {
  return (arena[offset + PORT_AT]! << 8) | arena[offset + PORT_AT + 1]!;
}

/** Whether the slot holds family 4 or 6 (a port of 0 is allowed: it is a source slot of an unbound socket). */
export function slotIsValid(arena: Uint8Array, offset: number): boolean {
  if (offset < 0 || offset + ADDR_SLOT > arena.length) return false;
  const f = arena[offset + FAMILY_AT];
  return f === 4 || f === 6;
}

/** Compares the meaningful bytes of two slots (family, port, scope, address; IPv4 ignores [12..23]). */
export function slotEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  const family = a[aOff + FAMILY_AT];
  if (family !== b[bOff + FAMILY_AT]) return false;
  if (a[aOff + PORT_AT] !== b[bOff + PORT_AT] || a[aOff + PORT_AT + 1] !== b[bOff + PORT_AT + 1]) return false;
  // IPv4 compares its 4 address bytes only; IPv6 compares the scope id and all 16 address bytes.
  const from = family === 4 ? ADDRESS_AT : SCOPE_AT;
  const to = family === 4 ? ADDRESS_AT + 4 : ADDR_SLOT;
  for (let i = from; i < to; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** Copies one slot into another arena (no allocation). */
export function slotCopy(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
  dst.set(src.subarray(srcOff, srcOff + ADDR_SLOT), dstOff);
}

/**
 * A map key for the slot. IPv4: address·65536 + port, an exact integer below 2^48 (no allocation). IPv6: a 22-char
 * string of the port, scope and address bytes (one small string).
 */
export function slotKey(arena: Uint8Array, offset: number): EndpointKey {
  if (arena[offset + FAMILY_AT] === 4) {
    const a = offset + ADDRESS_AT;
    const ip = ((arena[a]! << 24) | (arena[a + 1]! << 16) | (arena[a + 2]! << 8) | arena[a + 3]!) >>> 0;
    return ip * 65_536 + slotPort(arena, offset);
  }
  let s = '';
  for (let i = PORT_AT; i < ADDR_SLOT; i++) s += String.fromCharCode(arena[offset + i]!);
  return s;
}

function writePort(arena: Uint8Array, offset: number, port: number): void {
  arena[offset + PORT_AT] = port >> 8;
  arena[offset + PORT_AT + 1] = port & 0xff;
}

function writeScope(arena: Uint8Array, offset: number, scope: number): void {
  for (let i = 0; i < 4; i++) arena[offset + SCOPE_AT + i] = (scope >>> (8 * i)) & 0xff;
}

function readScope(arena: Uint8Array, offset: number): number {
  const at = offset + SCOPE_AT;
  return (arena[at]! | (arena[at + 1]! << 8) | (arena[at + 2]! << 16) | (arena[at + 3]! << 24)) >>> 0;
}

/** Writes family/port/address into a slot from parts (no allocation besides what the caller passes). */
export function writeSlot(arena: Uint8Array, offset: number, family: Family, addr: Uint8Array, port: number, scopeId = 0): void {
  arena.fill(0, offset, offset + ADDR_SLOT);
  arena[offset + FAMILY_AT] = family;
  writePort(arena, offset, port);
  if (family === 6) writeScope(arena, offset, scopeId);
  arena.set(addr.subarray(0, family === 4 ? 4 : 16), offset + ADDRESS_AT);
}
