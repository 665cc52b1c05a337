/**
 * Endpoint: the one UDP endpoint type of tunvpn (peers' endpoints, datagram sources, configuration, the UAPI), an
 * IPv4 or IPv6 address, port and IPv6 scope id stored as one 24-byte address slot (addr-slot.ts).
 *
 * An endpoint learned from a datagram also carries our own end of it, the "sticky source": the local address the
 * datagram arrived on and the interface it came through, as a local slot (addr-slot.ts). Replies to the endpoint go
 * out from that address, as kernel WireGuard and wireguard-go send from the address a peer last reached them on;
 * an endpoint from the configuration or `wg set` has none (the kernel chooses). The local end is not part of the
 * endpoint's text, key or `equals`: `wg show` prints the remote end only.
 *
 * The hot path never builds Endpoint objects per datagram: it compares and copies slots in place with the
 * functions of addr-slot.ts, and only materialises an Endpoint when a peer's address changes (roaming).
 */
import {
  ADDR_SLOT, localSlotEquals, readScope, slotAddress, slotEquals, slotFamily, slotIsValid, slotKey, slotPort, writeSlot,
  type EndpointKey,
} from './addr-slot.js';
import { ifnameProblem } from './ifname.js';
import { formatIp, parseIPv4, parseIPv6, type Family, type IpAddress } from './ip.js';

/** The largest UDP port (a 16-bit field, RFC 768). */
export const MAX_PORT = 65_535;
const MAX_SCOPE_ID = 0xffff_ffff;
/** A numeric zone: a scope id, 1 to 10 decimal digits (at most 2^32-1, checked apart). */
const NUMERIC_ZONE = /^[0-9]{1,10}$/;

/**
 * Interface names and indexes, for IPv6 zones ("fe80::1%eth0"): the system's (if_nametoindex/if_indextoname in the
 * caller's network namespace) is conn/zones.ts; tests pass a table.
 */
export interface Zones {
  /** The index of the interface named `name`, or undefined when there is none. */
  indexOf(name: string): number | undefined;
  /** The name of the interface with index `index`, or undefined when there is none. */
  nameOf(index: number): string | undefined;
}

/** Whether 16 IPv6 address bytes are link-local unicast (fe80::/10), the addresses a zone name may qualify. */
export function isLinkLocalIPv6(bytes: Uint8Array): boolean {
  return bytes.length === 16 && bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80;
}

export class Endpoint {
  /** The 24-byte slot; treat as read-only unless you own this Endpoint. */
  readonly slot: Uint8Array;
  /**
   * The sticky source: a 24-byte local slot (our address and interface index) to send from, or undefined when the
   * kernel chooses. Treat as read-only.
   */
  readonly local: Uint8Array | undefined;

  private constructor(slot: Uint8Array, local?: Uint8Array) {
    this.slot = slot;
    this.local = local;
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
    writeSlot(slot, 0, ip.family, ip.bytes, port, scopeId);
    return new Endpoint(slot);
  }

  /**
   * Copies a slot out of an arena, with the local slot at locals[localOffset] as its sticky source when `locals` is
   * given and that slot has family 4 or 6. Throws when the slot does not hold a valid address.
   */
  static fromSlot(arena: Uint8Array, offset = 0, locals?: Uint8Array, localOffset = 0): Endpoint {
    if (!slotIsValid(arena, offset)) throw new Error('address slot holds no IPv4/IPv6 address');
    const local = locals !== undefined && slotIsValid(locals, localOffset) ? locals.slice(localOffset, localOffset + ADDR_SLOT) : undefined;
    return new Endpoint(arena.slice(offset, offset + ADDR_SLOT), local);
  }

  /** This endpoint without a sticky source (the same slot, shared). */
  withoutLocal(): Endpoint {
    return this.local === undefined ? this : new Endpoint(this.slot);
  }

  /** The sticky source's address, or undefined when there is none. */
  get localIp(): IpAddress | undefined {
    const local = this.local;
    return local === undefined ? undefined : { family: slotFamily(local, 0) as Family, bytes: slotAddress(local, 0).slice() };
  }

  /** The index of the interface the sticky source was learned on; 0 when there is none or it is unknown. */
  get localIfIndex(): number {
    return this.local === undefined ? 0 : readScope(this.local, 0);
  }

  get family(): Family {
    return slotFamily(this.slot, 0) as Family;
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
    return slotAddress(this.slot, 0);
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

  /** "1.2.3.4:51820" or "[fd00::1]:51820", as `wg show` prints endpoints; a scope id as a number ("[fe80::1%2]:…"). */
  toString(): string {
    return this.family === 4 ? `${this.host}:${this.port}` : `[${this.host}]:${this.port}`;
  }

  /**
   * As toString, with the scope id as the interface's name when `zones` knows it ("[fe80::1%eth0]:51820"), the way
   * wireguard-go writes a zone in its UAPI replies; as a number otherwise.
   */
  format(zones?: Pick<Zones, 'nameOf'>): string {
    const scope = this.scopeId;
    const name = scope !== 0 ? zones?.nameOf(scope) : undefined;
    return name === undefined ? this.toString() : `[${formatIp(this.addressBytes)}%${name}]:${this.port}`;
  }

  /** Whether both name the same remote address, port and scope (the sticky source is not compared: sameLocal). */
  equals(other: Endpoint): boolean {
    return slotEquals(this.slot, 0, other.slot, 0);
  }

  /** Whether this endpoint equals the slot at arena[offset] (no allocation; the sticky source is not compared). */
  equalsSlot(arena: Uint8Array, offset: number): boolean {
    return slotEquals(this.slot, 0, arena, offset);
  }

  /**
   * Whether this endpoint's sticky source equals the local slot at locals[offset], family 0 there standing for none
   * (no allocation); with `locals` undefined, whether it has none.
   */
  sameLocalSlot(locals: Uint8Array | undefined, offset: number): boolean {
    const local = this.local;
    if (local === undefined) return locals === undefined || slotFamily(locals, offset) === 0;
    return locals !== undefined && localSlotEquals(local, 0, locals, offset);
  }

  /** Copies this endpoint into arena[offset, offset+ADDR_SLOT). */
  writeTo(arena: Uint8Array, offset = 0): void {
    arena.set(this.slot, offset);
  }

  key(): EndpointKey {
    return slotKey(this.slot, 0);
  }
}

/**
 * The parts of "host:port" or "[host%zone]:port", the one endpoint syntax of wg, wg-quick and the UAPI. An
 * unbracketed host holds no ':' (an IPv4 literal or a host name); a bracketed one is an IPv6 literal with an
 * optional zone (an interface name or index after '%'). Nothing about the host or port is checked beyond that:
 * callers check the port's range (0..65535 at most) and phrase their own errors.
 */
export interface HostPort {
  host: string;
  /** 1 to 5 decimal digits as a number; NaN for anything else (see portText). */
  port: number;
  /** The port as written. */
  portText: string;
  /** The IPv6 zone after '%', as written (a name or a number); undefined without one. */
  zone?: string;
  bracketed: boolean;
}

/**
 * Splits endpoint text into its parts, or returns what is wrong with it: a phrase to put after the quoted text
 * (after a space, or directly when it starts with ':').
 */
export function splitHostPort(text: string): HostPort | string {
  let host: string;
  let portText: string;
  let zone: string | undefined;
  const bracketed = text.startsWith('[');
  if (bracketed) {
    const close = text.indexOf(']');
    if (close < 0) return "has '[' without ']'";
    if (text[close + 1] !== ':') return 'needs a port: [address]:port';
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    const pct = host.indexOf('%');
    if (pct >= 0) {
      zone = host.slice(pct + 1);
      host = host.slice(0, pct);
      if (zone === '') return 'has an empty zone after %';
    }
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return 'needs a port: host:port';
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return ': put an IPv6 address in brackets, as in [2001:db8::1]:51820';
  }
  if (host === '') return 'has no host';
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
  return { host, port, portText, zone, bracketed };
}

/** Options of parseEndpoint. */
export interface ParseEndpointOptions {
  /** Smallest port accepted: 1 (default) for configuration files, 0 for the UAPI (wireguard-go accepts 0). */
  minPort?: number;
  /** Resolves zone names; without it only numeric zones are accepted. */
  zones?: Pick<Zones, 'indexOf'>;
}

/**
 * The scope id a zone stands for on `address` (16 bytes), or undefined when it stands for none: a number as is
 * (0..2^32-1, on any address, as getaddrinfo takes it); an interface name on a link-local address only (getaddrinfo
 * refuses names elsewhere), resolved by `zones`.
 */
export function zoneScopeId(zone: string, address: Uint8Array, zones?: Pick<Zones, 'indexOf'>): number | undefined {
  if (NUMERIC_ZONE.test(zone)) return Number(zone) <= MAX_SCOPE_ID ? Number(zone) : undefined;
  if (!isLinkLocalIPv6(address)) return undefined;
  return zones?.indexOf(zone);
}

/**
 * Why `zone` (the text after % in "[v6%zone]") cannot qualify the IPv6 address `address`, or undefined when it can:
 * a scope id 0..2^32-1 in decimal (scope_id of sockaddr_in6, RFC 3493 §3.3), or an interface name, which only
 * qualifies a link-local address (fe80::/10, RFC 4007 §6). The form only: a name is not looked up here.
 */
export function zoneProblem(zone: string, address: Uint8Array): string | undefined {
  if (/^[0-9]+$/.test(zone)) {
    return NUMERIC_ZONE.test(zone) && Number(zone) <= MAX_SCOPE_ID
      ? undefined
      : `the zone after % must be an interface name or a number 0..${MAX_SCOPE_ID}`;
  }
  const bad = ifnameProblem(zone);
  if (bad) return `after %, ${bad}`;
  if (!isLinkLocalIPv6(address)) return `a zone name (%${zone}) only qualifies a link-local address (fe80::/10)`;
  return undefined;
}

/**
 * An Endpoint from "a.b.c.d:port", "[v6]:port" or "[v6%ZONE]:port" (ZONE a numeric scope id, or an interface name on
 * a link-local address when `opts.zones` resolves it), or undefined on any other input. Never throws.
 */
export function parseEndpoint(text: string, opts: ParseEndpointOptions = {}): Endpoint | undefined {
  const hp = splitHostPort(text);
  if (typeof hp === 'string' || !(hp.port >= (opts.minPort ?? 1) && hp.port <= MAX_PORT)) return undefined;
  if (!hp.bracketed) {
    const v4 = parseIPv4(hp.host);
    return v4 && Endpoint.fromIp({ family: 4, bytes: v4 }, hp.port);
  }
  const v6 = parseIPv6(hp.host);
  if (!v6) return undefined;
  const scopeId = hp.zone === undefined ? 0 : zoneScopeId(hp.zone, v6, opts.zones);
  return scopeId === undefined ? undefined : Endpoint.fromIp({ family: 6, bytes: v6 }, hp.port, scopeId);
}
