/**
 * Bind: the UDP side of the device, batched in both directions (wireguard-go's conn.Bind is the model).
 *
 * Life cycle: open(port) → start(onReceive) → send(...)* → close(). open may be called again after close.
 *
 * Contracts:
 * - onReceive gets a PacketBatch whose `addrs` holds each datagram's source ADDR_SLOT, and whose `locals` (when the
 *   bind can tell) holds the local slot each arrived on: our address the peer sent it to and the interface index
 *   (family 0 where unknown). The batch (data and addresses) is valid until the callback returns; the bind reuses
 *   it for the next wake-up. The callback runs on the event loop and must not throw (a throw is logged and the
 *   bind keeps running).
 * - send(batch) sends datagrams 0..count-1, each to its own destination in `addrs` and, when the batch has
 *   `locals`, from the source address in its local slot (family 0: the kernel chooses). The bind does not keep
 *   the batch: datagrams that cannot go out now are copied to a bounded backlog (sources included) or dropped and
 *   counted in stats. Datagrams to an unsupported family (e.g. IPv6 when only IPv4 is open) are dropped and
 *   counted.
 * - A source the system refuses (the address is no longer on this host: EINVAL, or ENETUNREACH for IPv4) is
 *   dropped and the datagram sent again without it, once; send() then sets that datagram's local slot family
 *   byte to 0 in the caller's batch, counts it in stats.sourceRefused and returns how many such datagrams there
 *   were, so the caller can forget the source (the sticky source of kernel WireGuard and wireguard-go).
 * - Errors at open/setMark throw; per-datagram errors never throw from send.
 */
import type { PacketBatch } from '../packet/batch.js';

export type ReceiveCallback = (batch: PacketBatch) => void;

export interface BindStats {
  /** Datagrams handed to onReceive. */
  received: number;
  /** Datagrams the kernel (or fake network) accepted. */
  sent: number;
  /** Datagrams dropped on send: backlog full, unsupported family, not open, or a send error. */
  sendDropped: number;
  /** Datagrams dropped on receive: longer than a slot. */
  receiveDropped: number;
  /** Datagrams sent without the source address their local slot named, which the system refused. */
  sourceRefused: number;
}

export interface Bind {
  /**
   * Datagrams per send call that the bind handles in one system call, and per receive callback — except that a
   * bind with UDP GRO may deliver more (the kernel's coalesced messages split back into datagrams).
   */
  readonly batchSize: number;
  readonly stats: BindStats;
  /** Opens the sockets on `port` (0 = any free port) and resolves with the port actually bound. */
  open(port: number): Promise<number>;
  /** Starts delivering received datagrams. Call once per open. */
  start(onReceive: ReceiveCallback): void;
  /**
   * Sends the batch; see the contract above. Returns how many datagrams were sent without the source their local
   * slot named (their slot's family byte now 0); 0 when every source was taken or none was given.
   */
  send(batch: PacketBatch): number;
  /** SO_MARK on every socket (0 clears). May be called before open; applied at open. */
  setMark(mark: number): void;
  /** Closes every socket; idempotent. No callback runs after the promise resolves. */
  close(): Promise<void>;
}

export function emptyBindStats(): BindStats {
  return { received: 0, sent: 0, sendDropped: 0, receiveDropped: 0, sourceRefused: 0 };
}

/** Default datagrams per batch: matches the device's batches (wireguard-go uses 128 for its batched Bind). */
export const DEFAULT_BIND_BATCH_SIZE = 128;

/**
 * Default receive slot. The size of what arrives depends on the peer's MTU, not ours: a 1420-byte MTU gives
 * 1452-byte datagrams, a 9000-byte jumbo MTU 9032. 9 KiB covers both; longer datagrams are dropped and counted.
 */
export const DEFAULT_DATAGRAM_SLOT_BYTES = 9216;
