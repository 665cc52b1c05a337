/**
 * Device counters. Every dropped packet or datagram is counted under the reason it was dropped, so hostile or
 * malformed input is visible (`tunvpn show --json`, debug logs) and never silent.
 */
import type { ErrorKind } from '../protocol/index.js';

export interface DeviceStats {
  /** IP packets read from the TUN device. */
  tunPackets: number;
  /** Datagrams received from the network. */
  datagrams: number;
  /** IP packets written to the TUN device. */
  delivered: number;
  /** Datagrams handed to the bind. */
  sent: number;
  /** Outgoing packets whose destination belongs to no peer. */
  noRoute: number;
  /** ICMP destination-unreachable replies written to the TUN for packets that route to no peer. */
  icmpUnreachable: number;
  /** Unreachable replies not sent because the device's ICMP rate limit was spent. */
  icmpRateLimited: number;
  /** Outgoing packets for a peer with no known endpoint (the packet waits for a handshake from the peer). */
  noEndpoint: number;
  /** Outgoing packets too large to encrypt into one datagram slot (larger than the device's largest packet). */
  tooBig: number;
  /** Handshake messages queued for the protocol core (see handshake-queue.ts). */
  handshakesQueued: number;
  /** Milliseconds during which handshakes were under load (cookies demanded), summed. */
  underLoadMs: number;
  /** Incoming datagrams dropped, by reason ('handshakeShed': the handshake queue had no room for it). */
  dropped: Partial<Record<DropReason, number>>;
}

/** Why an incoming datagram was dropped: the protocol core's reasons and the device's own. */
export type DropReason = ErrorKind | 'oversized' | 'handshakeShed';

export function emptyDeviceStats(): DeviceStats {
  return {
    tunPackets: 0, datagrams: 0, delivered: 0, sent: 0, noRoute: 0, icmpUnreachable: 0, icmpRateLimited: 0,
    noEndpoint: 0, tooBig: 0, handshakesQueued: 0, underLoadMs: 0, dropped: {},
  };
}

export function countDrop(stats: DeviceStats, reason: DropReason): void {
  stats.dropped[reason] = (stats.dropped[reason] ?? 0) + 1;
}

export function totalDropped(stats: DeviceStats): number {
  let n = 0;
  for (const v of Object.values(stats.dropped)) n += v ?? 0;
  return n;
}
