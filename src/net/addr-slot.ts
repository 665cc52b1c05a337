/**
 * The address slot: a UDP address (IPv4 or IPv6, port, IPv6 scope id) in 24 bytes, the layout the native addon's
 * recvmmsg/sendmmsg address arenas use (native/src/udp.h) and that Endpoint wraps:
 *
 *   [0]      family: 4 or 6 (0 = empty)
 *   [1]      reserved (0)
 *   [2..3]   port, big-endian
 *   [4..7]   IPv6 scope id (interface index), little-endian; 0 for IPv4
 *   [8..23]  address: IPv4 in [8..11], IPv6 in [8..23]
 *
 * Local slots use the same layout for our own end of a datagram: the local address a datagram arrived on (the
 * addon's recvmmsg, from IP_PKTINFO / IPV6_PKTINFO) or the source address to send one from (sendmmsg):
 *
 *   [0]      family: 4 or 6 (0 = none: the kernel chooses the source)
 *   [2..3]   unused (0)
 *   [4..7]   interface index, little-endian (for IPv4 too)
 *   [8..23]  address
 *
 * The functions here compare, copy and key slots in place, allocating nothing: the hot path uses them per datagram.
 */
import type { Family } from './ip.js';

/** Bytes per address slot. */
export const ADDR_SLOT = 24;

const FAMILY_AT = 0;
const PORT_AT = 2;
const SCOPE_AT = 4;
const ADDRESS_AT = 8;

/** A map key for an endpoint: a number for IPv4 (address·2^16 + port), a short string for IPv6. */
export type EndpointKey = number | string;

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

export function writePort(arena: Uint8Array, offset: number, port: number): void {
  arena[offset + PORT_AT] = port >> 8;
  arena[offset + PORT_AT + 1] = port & 0xff;
}

export function writeScope(arena: Uint8Array, offset: number, scope: number): void {
  for (let i = 0; i < 4; i++) arena[offset + SCOPE_AT + i] = (scope >>> (8 * i)) & 0xff;
}

export function readScope(arena: Uint8Array, offset: number): number {
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

/** The address bytes of a slot (4 or 16) as a view into the arena. */
export function slotAddress(arena: Uint8Array, offset: number): Uint8Array {
  const at = offset + ADDRESS_AT;
  return arena.subarray(at, at + (arena[offset + FAMILY_AT] === 4 ? 4 : 16));
}

/** Writes a local slot: our address `addr` (4 or 16 bytes) on interface `ifIndex` (0 = unknown). */
export function writeLocalSlot(arena: Uint8Array, offset: number, family: Family, addr: Uint8Array, ifIndex = 0): void {
  arena.fill(0, offset, offset + ADDR_SLOT);
  arena[offset + FAMILY_AT] = family;
  writeScope(arena, offset, ifIndex);
  arena.set(addr.subarray(0, family === 4 ? 4 : 16), offset + ADDRESS_AT);
}

/** Compares two local slots: family, interface index and address; two slots of family 0 are equal. */
export function localSlotEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  const family = a[aOff + FAMILY_AT];
  if (family !== b[bOff + FAMILY_AT]) return false;
  if (family === 0) return true;
  const to = family === 4 ? ADDRESS_AT + 4 : ADDR_SLOT;
  for (let i = SCOPE_AT; i < to; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}
