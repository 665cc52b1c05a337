/**
 * The contract between the UAPI server and the device. The server parses and validates a whole `set=1`
 * transaction into a SetOperation BEFORE calling apply(), so a malformed request never reaches the device and
 * nothing of it is applied. apply() should likewise check what only the device can check (e.g. that the listen
 * port can be bound) before changing state, and throw a UapiError with the errno to report; anything else thrown
 * is reported as ENOANO.
 *
 * Semantics of a SetOperation, applied in this order (they mirror wireguard-go's device/uapi.go):
 *  1. privateKey: set it; an all-zero key removes the private key. Non-zero keys arrive clamped.
 *  2. listenPort: rebind to it (0 = pick a random port). Failure → UapiError(EADDRINUSE), and the device keeps
 *     listening on the port it had (wireguard-go's order: the key before the port, peers after).
 *  3. fwmark: set SO_MARK on the sockets (0 = none). Failure → UapiError(EADDRINUSE).
 *  4. replacePeers: remove every existing peer first.
 *  5. peers, in order (the same public key may appear more than once; apply each in turn):
 *     - a peer whose publicKey equals the device's own public key is ignored entirely;
 *     - remove: delete the peer if it exists; no other field is set;
 *     - updateOnly: if the peer does not exist, do nothing (do not create it);
 *     - otherwise create the peer if missing, then: presharedKey (all-zero = none), endpoint,
 *       persistentKeepaliveInterval (seconds, 0 = off; turning it on sends a keepalive at once if the device is up),
 *       replaceAllowedIps (drop the peer's allowed IPs), then allowedIps in order (add, or remove when `remove`).
 *       Adding a prefix that another peer holds moves it to this peer.
 */
import type { Endpoint } from '../net/endpoint.js';
import type { Prefix } from '../net/ip.js';

export const PROTOCOL_VERSION = 1;

export interface PeerSnapshot {
  publicKey: Uint8Array;
  /** Absent when the peer has no preshared key (shown as all zeros on the wire). */
  presharedKey?: Uint8Array;
  /** "1.2.3.4:51820", "[fd00::1]:51820" or, scoped, "[fe80::1%eth0]:51820" (a zone name or number). */
  endpoint?: string;
  /** Seconds; 0 = off. */
  persistentKeepaliveInterval: number;
  /** Wall-clock time of the last completed handshake (Unix epoch); both 0 when there has been none. */
  lastHandshakeTimeSec: number;
  lastHandshakeTimeNsec: number;
  rxBytes: number;
  txBytes: number;
  /** Masked network prefixes, in the order the device lists them. */
  allowedIps: Prefix[];
  protocolVersion: 1;
}

/** A peer as it is right after creation: no handshake, no traffic, no allowed IPs. */
export function newPeerSnapshot(publicKey: Uint8Array): PeerSnapshot {
  return {
    publicKey,
    persistentKeepaliveInterval: 0,
    lastHandshakeTimeSec: 0,
    lastHandshakeTimeNsec: 0,
    rxBytes: 0,
    txBytes: 0,
    allowedIps: [],
    protocolVersion: PROTOCOL_VERSION,
  };
}

export interface DeviceSnapshot {
  /** Absent (or all zeros) when the device has no private key. */
  privateKey?: Uint8Array;
  /** The bound UDP port; 0 when not listening. */
  listenPort: number;
  /** 0 = none. */
  fwmark: number;
  peers: PeerSnapshot[];
}

export interface AllowedIpChange {
  /** Masked to its network (host bits cleared). */
  prefix: Prefix;
  /** true for `allowed_ip=-PREFIX`: remove this prefix from the peer. */
  remove: boolean;
}

export interface PeerOperation {
  publicKey: Uint8Array;
  remove: boolean;
  updateOnly: boolean;
  presharedKey?: Uint8Array;
  endpoint?: Endpoint;
  persistentKeepaliveInterval?: number;
  replaceAllowedIps: boolean;
  allowedIps: AllowedIpChange[];
}

export interface SetOperation {
  privateKey?: Uint8Array;
  listenPort?: number;
  fwmark?: number;
  replacePeers: boolean;
  peers: PeerOperation[];
}

export interface DeviceControl {
  /** A consistent snapshot of the device's configuration and counters. */
  get(): DeviceSnapshot;
  /**
   * tunvpn's extension (`stats=1`): device-wide counters as flat numeric key=value pairs, e.g. dropped datagrams
   * by reason (`dropped.invalidMac1=12`). Optional; devices without it answer `stats=1` with no keys.
   */
  stats?(): Record<string, number>;
  /**
   * Apply a validated transaction; throws (or rejects with) UapiError(errno) on failure (see the semantics above).
   * May be asynchronous (rebinding a port is): the server answers only once it has settled, and runs one request
   * at a time, so a `get` never sees a half-applied `set`.
   */
  apply(op: SetOperation): void | Promise<void>;
}
