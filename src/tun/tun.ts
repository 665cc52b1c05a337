/**
 * Tun: the IP side of the device, batched (wireguard-go's tun.Device is the model). Packets are raw IPv4/IPv6
 * packets without any prefix (IFF_NO_PI).
 *
 * Contracts:
 * - onPackets gets a PacketBatch of up to batchSize packets read in one wake-up; it is valid until the callback
 *   returns (the Tun reuses it). The callback must not throw (a throw is logged; reading goes on).
 * - write(batch) writes packets 0..count-1 in order and does not keep the batch: what the kernel cannot take now
 *   is copied to a bounded backlog or dropped and counted in stats. A TUN with offloads may coalesce segments of
 *   one TCP flow (GRO) and so rewrite packets' IP/TCP headers in the batch in place.
 * - 'closed' is emitted once when the device goes away under us (the link was deleted: reads fail with
 *   EBADFD/EIO or the poll reports an error) or after close(); the daemon exits cleanly on it.
 *   'error' reports unexpected I/O errors that did not end the device; with no 'error' listener they are logged.
 */
import type { EventEmitter } from 'node:events';
import type { PacketBatch } from '../packet/batch.js';

export type PacketsCallback = (batch: PacketBatch) => void;

export interface TunEvents {
  closed: [reason: string];
  error: [err: Error];
}

export interface TunStats {
  /** Packets handed to onPackets. */
  read: number;
  /** Packets the kernel accepted. */
  written: number;
  /** Packets dropped on write: backlog full, too large, rejected by the kernel, or device closed. */
  writeDropped: number;
}

export interface Tun extends EventEmitter<TunEvents> {
  /** The interface name the kernel gave the device. */
  readonly name: string;
  /** Most packets per onPackets callback. */
  readonly batchSize: number;
  readonly stats: TunStats;
  /** The device MTU in bytes. */
  mtu(): number;
  /** Starts reading; call once. */
  start(onPackets: PacketsCallback): void;
  /** Writes the batch's packets to the kernel; see the contract above. */
  write(batch: PacketBatch): void;
  /** Stops reading, closes the fd (a non-persistent device disappears) and emits 'closed'. Idempotent. */
  close(): Promise<void>;
}

export function emptyTunStats(): TunStats {
  return { read: 0, written: 0, writeDropped: 0 };
}

/** WireGuard's default interface MTU (1500 minus the 80 bytes of IPv6 + UDP + WireGuard overhead). */
export const DEFAULT_TUN_MTU = 1420;

/** Packets per read wake-up: wireguard-go's batched TUN uses 128 too. */
export const DEFAULT_TUN_BATCH_SIZE = 128;
