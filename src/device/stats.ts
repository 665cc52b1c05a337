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
  /** Outgoing packets whose destination belongs to no peer (the host's own link-scope traffic apart: noRouteHost). */
  noRoute: number;
  /**
   * Outgoing packets that route to no peer and are the host's own link-scope traffic, not the user's: an IPv6
   * link-local source (fe80::/10: router and neighbour solicitations, MLD reports the kernel sends from the TUN's
   * own address) or a multicast destination (224.0.0.0/4, ff00::/8). Not drops, so not in noRoute; never answered
   * with ICMP. Dropped as wireguard-go and the kernel drop them (no peer's allowed IPs hold them).
   */
  noRouteHost: number;
  /** ICMP destination-unreachable replies written to the TUN for packets that route to no peer. */
  icmpUnreachable: number;
  /** Unreachable replies not sent because the device's ICMP rate limit was spent. */
  icmpRateLimited: number;
  /** Outgoing packets for a peer with no known endpoint (the packet waits for a handshake from the peer). */
  noEndpoint: number;
  /** Outgoing packets too large to encrypt into one datagram slot (larger than the device's largest packet). */
  tooBig: number;
  /**
   * Peers' sticky sources forgotten: the local address a peer last reached us on, which the kernel refused as a
   * source (no longer an address of this host), so the peer's datagrams leave from the kernel's choice again.
   */
  sourcesCleared: number;
  /** Handshake messages queued for the protocol core (see handshake-queue.ts). */
  handshakesQueued: number;
  /** Milliseconds during which handshakes were under load (cookies demanded), summed. */
  underLoadMs: number;
  /** Incoming datagrams dropped, by reason ('handshakeShed': the handshake queue had no room for it). */
  dropped: Partial<Record<DropReason, number>>;
  /** Handshake messages and sessions, counted from the protocol core's events (device/handshake-log.ts). */
  handshakes: HandshakeStats;
}

/** Handshake counters; each is a count of events since the device started. */
export interface HandshakeStats {
  /** Initiations we sent (first attempts, retries and rekeys). */
  initiationsSent: number;
  /** Initiations that authenticated as one of our peers (each is answered with a response). */
  initiationsReceived: number;
  responsesSent: number;
  /** Responses that completed one of our initiations. */
  responsesReceived: number;
  /** Sessions established (as initiator on a response, as responder on the first data of the new session). */
  completed: number;
  /** Cookie replies sent to sources that must prove their address while we are under load. */
  cookiesSent: number;
  /** Valid cookie replies received from peers under load. */
  cookiesReceived: number;
  /** Empty transport messages sent (persistent and passive keepalives). */
  keepalivesSent: number;
  /** Handshakes given up after REKEY_ATTEMPT_TIME without a response. */
  gaveUp: number;
  /** Handshake messages rejected, by reason (also counted in `dropped`). */
  failed: Partial<Record<ErrorKind, number>>;
}

/** Why an incoming datagram was dropped: the protocol core's reasons and the device's own. */
export type DropReason = ErrorKind | 'oversized' | 'handshakeShed';

export function emptyDeviceStats(): DeviceStats {
  return {
    tunPackets: 0, datagrams: 0, delivered: 0, sent: 0, noRoute: 0, noRouteHost: 0, icmpUnreachable: 0, icmpRateLimited: 0,
    noEndpoint: 0, tooBig: 0, sourcesCleared: 0, handshakesQueued: 0, underLoadMs: 0, dropped: {},
    handshakes: {
      initiationsSent: 0, initiationsReceived: 0, responsesSent: 0, responsesReceived: 0, completed: 0, cookiesSent: 0,
      cookiesReceived: 0, keepalivesSent: 0, gaveUp: 0, failed: {},
    },
  };
}

/**
 * Every counter as one flat name → number map: `dropped.<reason>`, `handshakes.<name>`, `handshakes.failed.<reason>`;
 * underLoadMs rounded to whole milliseconds.
 */
export function flattenStats(stats: DeviceStats): Record<string, number> {
  const { dropped, handshakes, ...totals } = stats;
  const { failed, ...hs } = handshakes;
  const out: Record<string, number> = { ...totals, underLoadMs: Math.round(totals.underLoadMs) };
  for (const [reason, n] of Object.entries(dropped)) out[`dropped.${reason}`] = n ?? 0;
  for (const [name, n] of Object.entries(hs)) out[`handshakes.${name}`] = n;
  for (const [reason, n] of Object.entries(failed)) out[`handshakes.failed.${reason}`] = n ?? 0;
  return out;
}

export function countDrop(stats: DeviceStats, reason: DropReason): void {
  stats.dropped[reason] = (stats.dropped[reason] ?? 0) + 1;
}

export function totalDropped(stats: DeviceStats): number {
  let n = 0;
  for (const v of Object.values(stats.dropped)) n += v ?? 0;
  return n;
}
