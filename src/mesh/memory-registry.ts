/**
 * An in-memory registry with etcd's semantics (see registry.ts), for tests: one MemoryStore plays the cluster,
 * each MemoryRegistry is one node's client of it. Nothing happens by itself: leases live until the test expires
 * them, outages begin and end when the test says so, and every delivery is a microtask (no timers), so a test
 * drives time completely.
 *
 * - store.put/delete/compact write to the store directly (as another client or an operator would), e.g. to plant
 *   a hostile value.
 * - store.expireLease(id) / store.crash(client): a lease runs out (the holder died, `kill -9`); its keys go.
 * - store.setOutage(true) / client.setReachable(false): the whole cluster, or one client's path to it, is down:
 *   operations reject with RegistryUnavailableError, watches end with `lost`, state listeners hear 'down'.
 *   Leases do not expire meanwhile unless the test expires them; the holder learns of a loss when it can reach
 *   the store again (as an etcd client does from its next keep-alive).
 */
import {
  RegistryUnavailableError,
  type Registration,
  type Registry,
  type RegistryKv,
  type RegistrySnapshot,
  type RegistryState,
  type RegistryWatch,
  type WatchEvent,
  type WatchHandlers,
} from './registry.js';

interface StoredKv {
  value: Uint8Array;
  createRevision: bigint;
  modRevision: bigint;
  lease: string;
}

interface StoredLease {
  ttlSeconds: number;
  keys: Set<string>;
  holder: MemoryRegistry | undefined;
  registration: MemoryRegistration | undefined;
}

interface HistoryEntry {
  /** Position in the history: several events may share one revision (a lease's keys go together). */
  seq: number;
  revision: bigint;
  event: WatchEvent;
}

const encoder = new TextEncoder();
const toBytes = (v: string | Uint8Array) => (typeof v === 'string' ? encoder.encode(v) : Uint8Array.from(v));

export class MemoryStore {
  /** Current store revision; etcd's first revision is 1. */
  revision = 1n;
  /** Events at or below this revision are gone from history. */
  compactRevision = 0n;
  private readonly kvs = new Map<string, StoredKv>();
  private readonly history: HistoryEntry[] = [];
  private readonly leases = new Map<string, StoredLease>();
  private nextLeaseId = 0x694d_0000;
  private nextSeq = 0;
  private outage = false;
  readonly clients = new Set<MemoryRegistry>();

  get isOutage(): boolean {
    return this.outage;
  }

  /** Keys currently stored under `prefix`, sorted. */
  keys(prefix = ''): string[] {
    return [...this.kvs.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  /** The stored value as text, or undefined. */
  get(key: string): string | undefined {
    const kv = this.kvs.get(key);
    return kv && new TextDecoder().decode(kv.value);
  }

  /** The lease of `key`, or undefined when absent. */
  leaseOf(key: string): string | undefined {
    return this.kvs.get(key)?.lease;
  }

  /** Live lease IDs. */
  liveLeases(): string[] {
    return [...this.leases.keys()];
  }

  /** Writes a pair, as any client could. `lease` must be live (or '0'). Returns the new revision. */
  put(key: string, value: string | Uint8Array, lease = '0'): bigint {
    if (lease !== '0' && !this.leases.has(lease)) throw new Error(`lease ${lease} not found`);
    const rev = ++this.revision;
    const before = this.kvs.get(key);
    if (before && before.lease !== '0') this.leases.get(before.lease)?.keys.delete(key);
    const kv: StoredKv = { value: toBytes(value), createRevision: before?.createRevision ?? rev, modRevision: rev, lease };
    this.kvs.set(key, kv);
    if (lease !== '0') this.leases.get(lease)!.keys.add(key);
    this.emit(rev, { type: 'put', kv: { key, ...kv, value: Uint8Array.from(kv.value) } });
    return rev;
  }

  /** Deletes a key; returns whether it existed. */
  delete(key: string): boolean {
    const kv = this.kvs.get(key);
    if (!kv) return false;
    const rev = ++this.revision;
    this.removeKey(key, kv, rev);
    return true;
  }

  /** Drops history at or below `revision`; watches starting there are then cancelled as compacted. */
  compact(revision: bigint = this.revision): void {
    if (revision > this.revision) throw new RangeError('cannot compact a future revision');
    this.compactRevision = revision;
    while (this.history.length && this.history[0]!.revision <= revision) this.history.shift();
  }

  /** The lease runs out: its keys are deleted (one revision for all, as etcd does) and its holder told. */
  expireLease(lease: string): void {
    const l = this.leases.get(lease);
    if (!l) return;
    this.leases.delete(lease);
    this.dropLeaseKeys(l);
    l.registration?.markLost('lease expired (TTL ran out without a keep-alive)');
  }

  /** The client dies: it can reach nothing any more and every lease it holds expires. */
  crash(client: MemoryRegistry): void {
    client.setReachable(false);
    for (const [id, l] of [...this.leases]) if (l.holder === client) this.expireLease(id);
  }

  /** The whole cluster becomes unreachable (true) or comes back (false). */
  setOutage(down: boolean): void {
    if (this.outage === down) return;
    this.outage = down;
    for (const c of this.clients) c.reachabilityChanged();
  }

  /* ---- used by MemoryRegistry ---- */

  /** @internal */
  grant(ttlSeconds: number, holder: MemoryRegistry): string {
    const id = String(this.nextLeaseId++);
    this.leases.set(id, { ttlSeconds, keys: new Set(), holder, registration: undefined });
    return id;
  }

  /** @internal */
  attach(lease: string, registration: MemoryRegistration): void {
    const l = this.leases.get(lease);
    if (l) l.registration = registration;
  }

  /** @internal */
  revoke(lease: string): void {
    const l = this.leases.get(lease);
    if (!l) return;
    this.leases.delete(lease);
    this.dropLeaseKeys(l);
  }

  /** @internal */
  hasLease(lease: string): boolean {
    return this.leases.has(lease);
  }

  /** @internal */
  snapshot(prefix: string): RegistrySnapshot {
    const kvs: RegistryKv[] = [];
    for (const key of this.keys(prefix)) {
      const kv = this.kvs.get(key)!;
      kvs.push({ key, ...kv, value: Uint8Array.from(kv.value) });
    }
    return { revision: this.revision, kvs };
  }

  /** @internal History entries under `prefix` from revision `from` on, or 'compacted'. */
  eventsSince(prefix: string, from: bigint): HistoryEntry[] | 'compacted' {
    if (from <= this.compactRevision) return 'compacted';
    return this.history.filter((h) => h.revision >= from && eventKey(h.event).startsWith(prefix));
  }

  private dropLeaseKeys(l: StoredLease): void {
    if (l.keys.size === 0) return;
    const rev = ++this.revision;
    for (const key of [...l.keys].sort()) {
      const kv = this.kvs.get(key);
      if (kv) this.removeKey(key, kv, rev);
    }
  }

  private removeKey(key: string, kv: StoredKv, rev: bigint): void {
    this.kvs.delete(key);
    if (kv.lease !== '0') this.leases.get(kv.lease)?.keys.delete(key);
    this.emit(rev, { type: 'delete', key, modRevision: rev });
  }

  private emit(revision: bigint, event: WatchEvent): void {
    const entry = { seq: this.nextSeq++, revision, event };
    this.history.push(entry);
    for (const c of this.clients) c.deliver(entry);
  }
}

function eventKey(e: WatchEvent): string {
  return e.type === 'put' ? e.kv.key : e.key;
}

interface ActiveWatch {
  prefix: string;
  handlers: WatchHandlers;
  /** History position of the next entry to deliver; entries before it were delivered (or predate the watch). */
  nextSeq: number;
  from: bigint;
  active: boolean;
}

export class MemoryRegistry implements Registry {
  private reachable = true;
  private closed = false;
  private lastState: RegistryState = 'up';
  private readonly watches = new Set<ActiveWatch>();
  private readonly stateListeners = new Set<(state: RegistryState, reason: string) => void>();
  private readonly registrations = new Set<MemoryRegistration>();
  /** Counts of calls, for tests: register, list, watch, revoke. */
  readonly calls = { register: 0, list: 0, watch: 0, revoke: 0 };

  constructor(readonly store: MemoryStore, readonly name = 'client') {
    store.clients.add(this);
  }

  /** Whether this client can reach the store (its own path and the cluster). */
  get canReach(): boolean {
    return this.reachable && !this.store.isOutage && !this.closed;
  }

  /** Cuts (false) or restores (true) this client's path to the store. */
  setReachable(reachable: boolean): void {
    if (this.reachable === reachable) return;
    this.reachable = reachable;
    this.reachabilityChanged();
  }

  /** Lease IDs of live registrations made through this client. */
  leases(): string[] {
    return [...this.registrations].filter((r) => !r.done).map((r) => r.lease);
  }

  async register(key: string, value: string, ttlSeconds: number): Promise<Registration> {
    this.calls.register++;
    await this.roundTrip('register');
    const lease = this.store.grant(ttlSeconds, this);
    const reg = new MemoryRegistration(this, key, lease);
    this.store.attach(lease, reg);
    this.store.put(key, value, lease);
    this.registrations.add(reg);
    return reg;
  }

  async list(prefix: string): Promise<RegistrySnapshot> {
    this.calls.list++;
    await this.roundTrip('list');
    return this.store.snapshot(prefix);
  }

  watch(prefix: string, fromRevision: bigint, handlers: WatchHandlers): RegistryWatch {
    this.calls.watch++;
    const w: ActiveWatch = { prefix, handlers, nextSeq: 0, from: fromRevision, active: true };
    this.watches.add(w);
    queueMicrotask(() => {
      if (!w.active) return;
      if (!this.canReach) return this.endWatch(w, 'registry unreachable', false);
      const backlog = this.store.eventsSince(prefix, fromRevision);
      if (backlog === 'compacted') return this.endWatch(w, `revision ${fromRevision} was compacted`, true);
      for (const entry of backlog) this.deliverTo(w, entry);
    });
    return {
      cancel: async () => {
        w.active = false;
        this.watches.delete(w);
      },
    };
  }

  onStateChange(listener: (state: RegistryState, reason: string) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watches) w.active = false;
    this.watches.clear();
    this.store.clients.delete(this);
  }

  /** @internal */
  async roundTrip(op: string): Promise<void> {
    await Promise.resolve();
    if (this.closed) throw new Error(`${op}: registry closed`);
    if (!this.canReach) throw new RegistryUnavailableError(`${op}: registry unreachable (${this.name})`);
  }

  /** @internal A store event: delivered to every active watch it concerns, in order, as a microtask. */
  deliver(entry: HistoryEntry): void {
    for (const w of this.watches) {
      if (!eventKey(entry.event).startsWith(w.prefix)) continue;
      queueMicrotask(() => this.deliverTo(w, entry));
    }
  }

  /** @internal */
  reachabilityChanged(): void {
    const state: RegistryState = this.canReach ? 'up' : 'down';
    if (state === 'down') for (const w of [...this.watches]) queueMicrotask(() => this.endWatch(w, 'registry unreachable', false));
    else for (const reg of this.registrations) reg.checkAlive();
    if (state !== this.lastState) {
      this.lastState = state;
      const reason = state === 'down' ? 'connection lost' : 'connection restored';
      for (const l of [...this.stateListeners]) l(state, reason);
    }
  }

  /** @internal */
  forget(reg: MemoryRegistration): void {
    this.registrations.delete(reg);
  }

  private deliverTo(w: ActiveWatch, entry: HistoryEntry): void {
    if (!w.active || entry.seq < w.nextSeq || entry.revision < w.from) return;
    if (!this.canReach) return this.endWatch(w, 'registry unreachable', false);
    w.nextSeq = entry.seq + 1;
    w.handlers.event(entry.event);
  }

  private endWatch(w: ActiveWatch, reason: string, compacted: boolean): void {
    if (!w.active) return;
    w.active = false;
    this.watches.delete(w);
    w.handlers.lost(reason, compacted);
  }
}

class MemoryRegistration implements Registration {
  done = false;
  private pendingLoss: string | undefined;
  private readonly listeners: ((reason: string) => void)[] = [];

  constructor(private readonly client: MemoryRegistry, readonly key: string, readonly lease: string) {}

  async put(value: string): Promise<void> {
    await this.client.roundTrip('put');
    if (!this.client.store.hasLease(this.lease)) {
      this.markLost('lease not found');
      throw new Error(`put ${this.key}: lease ${this.lease} not found`);
    }
    this.client.store.put(this.key, value, this.lease);
  }

  async revoke(): Promise<void> {
    this.client.calls.revoke++;
    this.done = true;
    this.client.forget(this);
    await this.client.roundTrip('revoke');
    this.client.store.revoke(this.lease);
  }

  onLost(listener: (reason: string) => void): void {
    this.listeners.push(listener);
  }

  /** @internal The store expired the lease: the holder hears of it now if it can reach the store, else later. */
  markLost(reason: string): void {
    if (this.done) return;
    if (!this.client.canReach) {
      this.pendingLoss = reason;
      return;
    }
    this.done = true;
    this.client.forget(this);
    queueMicrotask(() => {
      for (const l of this.listeners) l(reason);
    });
  }

  /** @internal Reachable again: a keep-alive now tells whether the lease survived. */
  checkAlive(): void {
    if (this.done) return;
    if (this.pendingLoss !== undefined || !this.client.store.hasLease(this.lease)) {
      this.markLost(this.pendingLoss ?? 'lease not found after reconnecting');
    }
  }
}
