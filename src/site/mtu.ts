/**
 * Encapsulation overheads for MTU derivation. A VXLAN or Geneve frame carries the inner Ethernet header (14) plus
 * the tunnel header (8) in UDP (8) over IP (20 for IPv4, 40 for IPv6): 50 or 70 bytes over the underlay's MTU.
 * (Geneve options would add more; sites declare none.)
 */
import type { Family } from '../net/ip.js';

export const ETHERNET_DEFAULT_MTU = 1500;
const INNER_ETHERNET_HEADER_BYTES = 14;
const TUNNEL_HEADER_BYTES = 8;
const UDP_HEADER_BYTES = 8;
const IPV4_HEADER_BYTES = 20;
const IPV6_HEADER_BYTES = 40;

/** Bytes a VXLAN/Geneve encapsulation adds over an underlay of this family: 50 (IPv4) or 70 (IPv6). */
export function encapOverhead(underlay: Family): number {
  const ip = underlay === 4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES;
  return INNER_ETHERNET_HEADER_BYTES + TUNNEL_HEADER_BYTES + UDP_HEADER_BYTES + ip;
}

/** MTU of a VXLAN/Geneve device over an underlay path of MTU `underlayMtu`, e.g. 1420 → 1370 over IPv4. */
export function encapMtu(underlayMtu: number, underlay: Family): number {
  return underlayMtu - encapOverhead(underlay);
}

/** Smallest MTU the kernel accepts for IPv4 (68) and the largest an ethernet-like device takes (ETH_MAX_MTU). */
export const MTU_MIN = 68;
export const MTU_MAX = 65535;
