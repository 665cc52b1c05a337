/**
 * The registry the mesh runs on: a small slice of the etcd v3 API (KV range, lease grant/keep-alive/revoke, watch),
 * behind an interface so the agent runs against etcd (etcd-registry.ts) or in memory (memory-registry.ts).
 *
 * Semantics are etcd's (etcd API guarantees, "KV API", "Lease API", "Watch API"):
 * - Every change to the store increments the store's revision (an int64, here a bigint). A key's createRevision
 *   is the revision of the put that created it (reset when the key is deleted and created again); modRevision
 *   that of its last change.
 * - A lease has a TTL in seconds; keys put under it are deleted when it expires or is revoked. Keep-alives renew
 *   it; while the cluster has no leader it cannot expire (a new leader renews every lease it takes over).
 * - A watch from revision R delivers every event of revision ≥ R in order, none missed, none twice — unless the
 *   history before R was compacted, in which case the watch is cancelled; the reader must then read the range
 *   again and watch from that read's revision + 1. Here both that and a broken watch stream end the watch with
 *   `lost`: the agent's one recovery is always a full read.
 */

/** One key-value pair, as a range read or a put event carries it. */
export interface RegistryKv {
  key: string;
  /** Raw bytes: the reader validates them (member.ts). */
  value: Uint8Array;
  createRevision: bigint;
  modRevision: bigint;
  /** The lease ID the key is attached to (etcd int64 as decimal text), '0' when none. */
  lease: string;
}

/** A range read: every pair under a prefix, and the store revision it was read at. */
export interface RegistrySnapshot {
  revision: bigint;
  kvs: RegistryKv[];
}

export type WatchEvent =
  | { type: 'put'; kv: RegistryKv }
  /** The key's deletion (revoked or expired lease, or a delete), at revision `modRevision`. */
  | { type: 'delete'; key: string; modRevision: bigint };

export interface WatchHandlers {
  /** Events in revision order. */
  event(event: WatchEvent): void;
  /**
   * The watch ended and will deliver nothing more: its start revision was compacted (`compacted`), the stream
   * broke, the store became unreachable, or it was cancelled by the server. Called at most once, never after
   * cancel(). The caller re-reads the range.
   */
  lost(reason: string, compacted: boolean): void;
}

export interface RegistryWatch {
  /** Stops delivery; handlers are not called afterwards. Idempotent; never rejects. */
  cancel(): Promise<void>;
}

/** Our key under a lease that the registry keeps alive. */
export interface Registration {
  readonly key: string;
  /** The lease ID (decimal int64 text). */
  readonly lease: string;
  /** Replaces the value, keeping the lease. Rejects with RegistryUnavailableError when the store is unreachable. */
  put(value: string): Promise<void>;
  /**
   * Revokes the lease (which deletes the key) and stops keep-alives. Rejects when the store cannot be reached
   * (keep-alives stop all the same, so the lease then expires after its TTL).
   */
  revoke(): Promise<void>;
  /**
   * `listener` is called once if the lease is lost: the store said it expired, or it could not be renewed for
   * so long that it must have. Not called after revoke().
   */
  onLost(listener: (reason: string) => void): void;
}

export type RegistryState = 'up' | 'down';

export interface Registry {
  /**
   * Grants a lease of `ttlSeconds`, puts `key` = `value` under it, and keeps it alive until revoke() or loss.
   * Rejects (RegistryUnavailableError or the store's error) when either step fails; no lease is left behind then
   * (a granted lease whose put failed is revoked, or expires).
   */
  register(key: string, value: string, ttlSeconds: number): Promise<Registration>;
  /** Every pair whose key starts with `prefix`, read linearizably (a quorum agrees), and the revision read at. */
  list(prefix: string): Promise<RegistrySnapshot>;
  /** Watches every key starting with `prefix`, from `fromRevision` (inclusive). Never throws: failure is `lost`. */
  watch(prefix: string, fromRevision: bigint, handlers: WatchHandlers): RegistryWatch;
  /**
   * Connection health as the client sees it (keep-alives and watch streams failing or working). A hint: the
   * agent reacts to 'down' by re-reading, and judges reachability by whether that read succeeds. Returns an
   * unsubscribe function.
   */
  onStateChange(listener: (state: RegistryState, reason: string) => void): () => void;
  /** Closes connections. Registrations are not revoked (their leases expire). */
  close(): Promise<void>;
}

/** The store cannot be reached (or has no quorum) right now; worth retrying. */
export class RegistryUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryUnavailableError';
  }
}
