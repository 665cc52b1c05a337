/**
 * MeshAgent: one node's part in the mesh. Registry in, device changes out:
 *
 *   1. register   our record under our key, with a lease of TTL seconds the registry keeps alive;
 *   2. read       every member (one linearizable range read, at revision R);
 *   3. reconcile  members + static peers + what is applied → actions (reconcile.ts), applied one by one through
 *                 the MeshTarget; the applied state advances only by the actions that succeeded;
 *   4. watch      the members from R + 1; each event updates the member set and triggers another reconcile.
 *
 * Trouble of any kind — the watch lost (stream broken, revision compacted), our lease lost, our key deleted, the
 * registry reporting 'down' — leads back to step 1 (re-register only if the lease is gone) and a full read, so
 * members that vanished meanwhile are removed. If that fails the registry is unreachable: the agent keeps every
 * peer it has (it never tears the mesh down for want of etcd), logs it once, and retries with exponential
 * backoff (bounded, jittered) until a read succeeds; a registry 'up' signal retries at once.
 *
 * stop() revokes the lease (the others drop us at once instead of after TTL) and stops watching; it leaves the
 * device alone (the interface is going away, or the caller decides).
 *
 * Everything runs on the event loop; actions are applied strictly one at a time. Time and randomness are
 * injected (MeshClock, random), so tests run without real sleeps. Beside this sync loop: the member set and its
 * views (member-view.ts), the device side (target.ts, device-target.ts), the retries (backoff.ts).
 */
import { encodeKey } from '../crypto/keys.js';
import { silentLogger, type Logger } from '../log.js';
import type { Prefix } from '../net/ip.js';
import { DEFAULT_BACKOFF, Retry, systemClock, withTimeout, type Backoff, type MeshClock } from './backoff.js';
import { encodeMember, memberKey, membersPrefix, type MemberRecord } from './member.js';
import { byNameThenKey, memberView, MemberSet, selfView, type MeshAgentState, type MeshSnapshot } from './member-view.js';
import {
  advance,
  describeAction,
  emptyMeshState,
  reconcile,
  type MemberOutcome,
  type MeshPeer,
  type MeshState,
  type StaticPeer,
} from './reconcile.js';
import type { Registration, Registry, RegistryState, RegistryWatch, WatchEvent } from './registry.js';
import { performAction, type MeshTarget } from './target.js';

/** How long stop() waits for the lease revocation, ms (after that the lease expires on its own in TTL s). */
export const REVOKE_TIMEOUT_MS = 3000;

export interface MeshAgentOptions {
  registry: Registry;
  target: MeshTarget;
  /** Our record (registeredAt is set by the agent at each registration). */
  self: MemberRecord;
  /** Key prefix from the settings, e.g. "/tunvpn/". */
  prefix: string;
  /** Lease TTL, seconds. */
  ttlSeconds: number;
  staticPeers?: readonly StaticPeer[];
  /** Keepalive for mesh peers, seconds; absent = off. */
  persistentKeepalive?: number;
  /** undefined: no routes (Table = off). Else the interface's addresses (their networks need no route). */
  routes?: { interfaceAddresses: readonly Prefix[] };
  log?: Logger;
  clock?: MeshClock;
  /** Uniform in [0, 1), for jitter. */
  random?: () => number;
  backoff?: Backoff;
  /**
   * What is already applied to the device on behalf of the mesh (an agent taking over from one stopped with
   * `revoke: false`, e.g. after a reload changed the etcd settings): its first reconcile starts from this state,
   * so peers that stay are left alone (their sessions survive) and the others are removed. Default: nothing.
   */
  initialState?: MeshState;
}

/** The options `configure` can change while the agent runs. */
export interface MeshAgentChanges {
  staticPeers?: readonly StaticPeer[];
  /** Seconds; 0 = off. */
  persistentKeepalive?: number;
  /** null: no routes from now on (Table = off). */
  routes?: { interfaceAddresses: readonly Prefix[] } | null;
}

export class MeshAgent {
  private readonly registry: Registry;
  private readonly target: MeshTarget;
  private readonly log: Logger;
  private readonly clock: MeshClock;
  private opts: MeshAgentOptions;
  private readonly ownKey: string;
  private readonly ownKeyB64: string;
  private readonly dir: string;
  private self: MemberRecord;

  private agentState: MeshAgentState = 'idle';
  private stateSince: number;
  private started = false;
  private stopped = false;
  /** Bumped at each sync and at stop: callbacks of older syncs and watches are ignored. */
  private generation = 0;
  private registration: Registration | undefined;
  private watch: RegistryWatch | undefined;
  private unsubscribe: (() => void) | undefined;
  private syncing = false;
  private syncAgain = false;
  /** Re-reads of an unreachable registry. */
  private readonly syncRetry: Retry;
  /** Re-applies after a device change failed. */
  private readonly reconcileRetry: Retry;

  private readonly members: MemberSet;
  private applied: MeshState;
  private outcomes = new Map<string, MemberOutcome>();
  private refusals = new Map<string, string>();
  private applying: Promise<void> = Promise.resolve();
  private reconcilePending = false;
  /** Whether a sync has succeeded since start (the first success is "joined"). */
  private joined = false;
  /** Whether the member set has been read at least once: before that, reconciling would remove every peer. */
  private haveRead = false;

  constructor(opts: MeshAgentOptions) {
    this.opts = opts;
    this.registry = opts.registry;
    this.target = opts.target;
    this.log = opts.log ?? silentLogger;
    this.clock = opts.clock ?? systemClock;
    const retry = { clock: this.clock, backoff: opts.backoff ?? DEFAULT_BACKOFF, jitter: opts.random ?? Math.random };
    this.syncRetry = new Retry(retry);
    this.reconcileRetry = new Retry(retry);
    this.self = opts.self;
    this.dir = membersPrefix(opts.prefix);
    this.ownKey = memberKey(opts.prefix, opts.self.publicKey);
    this.members = new MemberSet(opts.prefix, this.ownKey, this.log);
    this.ownKeyB64 = encodeKey(opts.self.publicKey);
    this.applied = opts.initialState ?? emptyMeshState();
    this.stateSince = this.clock.now();
  }

  get state(): MeshAgentState {
    return this.agentState;
  }

  /**
   * Registers, reads and starts watching. Resolves after the first attempt: true when synced, false when the
   * registry was unreachable (the agent then keeps retrying in the background). Throws if called twice.
   */
  async start(): Promise<boolean> {
    if (this.started) throw new Error('mesh agent already started');
    this.started = true;
    this.unsubscribe = this.registry.onStateChange((state, reason) => this.onRegistryState(state, reason));
    return this.sync('start');
  }

  /**
   * Stops watching and retrying, waits for the action in progress, and revokes our lease (so the others remove us
   * now rather than after TTL). Peers stay configured. Idempotent. With `revoke: false` the lease is left to its
   * keep-alives (which end when the registry is closed): an agent taking over with the same key and prefix then
   * re-registers it, and the others never see it go.
   */
  async stop(opts: { revoke?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    this.syncRetry.cancel();
    this.reconcileRetry.cancel();
    this.unsubscribe?.();
    const watch = this.watch;
    this.watch = undefined;
    await watch?.cancel();
    await this.applying;
    const reg = this.registration;
    this.registration = undefined;
    if (reg && opts.revoke !== false) {
      try {
        await withTimeout(this.clock, reg.revoke(), REVOKE_TIMEOUT_MS, 'revoking the lease');
        this.log.info('mesh: lease revoked; left the mesh');
      } catch (e) {
        this.log.warn(`mesh: could not revoke the lease (${errorText(e)}); the others drop this node within ${this.opts.ttlSeconds} s`);
      }
    }
    this.setState('stopped');
  }

  /** Announces a changed record of ours (e.g. a new endpoint): rewritten under the same lease. */
  async updateSelf(record: MemberRecord): Promise<void> {
    if (encodeKey(record.publicKey) !== this.ownKeyB64) throw new Error('updateSelf: the public key cannot change');
    this.self = { ...record, registeredAt: this.self.registeredAt };
    if (this.stopped) return;
    this.scheduleReconcile(); // our AllowedIPs or VTEP may have changed what others may claim
    const reg = this.registration;
    if (!reg) return;
    try {
      await reg.put(this.encodeSelf());
    } catch (e) {
      this.requestSync(`announcing our new record failed: ${errorText(e)}`);
    }
  }

  /**
   * Changes static peers, the keepalive or routing while the agent runs, and reconciles at once. Resolves once the
   * resulting actions are applied (or failed and scheduled for a retry).
   */
  async configure(changes: MeshAgentChanges): Promise<void> {
    const next: MeshAgentOptions = { ...this.opts };
    if (changes.staticPeers !== undefined) next.staticPeers = changes.staticPeers;
    if (changes.persistentKeepalive !== undefined) {
      if (changes.persistentKeepalive > 0) next.persistentKeepalive = changes.persistentKeepalive;
      else delete next.persistentKeepalive;
    }
    if (changes.routes !== undefined) {
      if (changes.routes === null) delete next.routes;
      else next.routes = changes.routes;
    }
    this.opts = next;
    if (this.stopped || !this.started) return;
    await this.enqueueReconcile();
  }

  /**
   * The device was changed behind the agent's back (e.g. `wg set` removed a mesh peer or replaced its AllowedIPs):
   * `correct` turns what the agent believes is applied into what is, and the agent reconciles from there, so what
   * is missing is put back. Runs in the apply queue; resolves once done.
   */
  async correctApplied(correct: (applied: MeshState) => MeshState): Promise<void> {
    const run = async () => {
      this.applied = correct(this.applied);
      if (!this.stopped) await this.reconcileAndApply();
    };
    this.applying = this.applying.then(run, run);
    await this.applying;
  }

  /** Our record as announced (registeredAt included once registered). */
  get record(): MemberRecord {
    return this.self;
  }

  /** What the mesh has applied to the device: peers, routes, VTEPs. */
  get appliedState(): MeshState {
    return this.applied;
  }

  /** The peers the mesh has configured, by base64 key. */
  peers(): ReadonlyMap<string, MeshPeer> {
    return this.applied.peers;
  }

  /** For `tunvpn mesh show`: members, what each got, lease ages; `handshakes` adds handshake times. */
  snapshot(handshakes?: (publicKey: Uint8Array) => number | undefined): MeshSnapshot {
    const ctx = { nowMs: this.clock.now(), ownKey: this.ownKeyB64, applied: this.applied, ...(handshakes && { handshakes }) };
    const members = [...this.members.members.values()]
      .map((m) => memberView(ctx, m.record, m.kv.createRevision, this.outcomes.get(encodeKey(m.record.publicKey))))
      .sort(byNameThenKey);
    return {
      state: this.agentState,
      since: this.stateSince,
      self: selfView(ctx, this.self),
      members,
      invalid: [...this.members.invalid].map(([key, reason]) => ({ key, reason })),
      refusals: [...this.refusals.values()],
    };
  }

  /** Resolves when every action queued so far has been applied (for tests and orderly shutdown). */
  async settled(): Promise<void> {
    let last: Promise<void>;
    do {
      last = this.applying;
      await last;
    } while (last !== this.applying);
  }

  /* ---------------- sync: register, read, reconcile, watch ---------------- */

  private requestSync(reason: string): void {
    if (this.stopped || !this.started) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    if (this.agentState === 'outage' && this.syncRetry.pending) return; // the scheduled retry will do
    this.log.debug(`mesh: re-reading the registry: ${reason}`);
    void this.sync(reason);
  }

  /** One attempt: resolves true when it registered, read and started watching; never rejects. */
  private async sync(reason: string): Promise<boolean> {
    this.syncing = true;
    this.syncAgain = false;
    this.syncRetry.cancel();
    const gen = ++this.generation;
    const stale = () => gen !== this.generation || this.stopped;
    if (this.agentState !== 'outage') this.setState('syncing');
    const watch = this.watch;
    this.watch = undefined;
    await watch?.cancel();
    let ok = false;
    try {
      if (!this.registration) await this.registerSelf();
      if (stale()) return false;
      let snap = await this.registry.list(this.dir);
      if (stale()) return false;
      const mine = snap.kvs.find((kv) => kv.key === this.ownKey);
      if (!mine) {
        // Our key is gone although the lease looked alive (expired during an outage, or deleted): start afresh.
        this.log.info('mesh: our registration is gone from the registry; registering again');
        this.dropRegistration();
        await this.registerSelf();
        if (stale()) return false;
        snap = await this.registry.list(this.dir);
        if (stale()) return false;
      }
      this.members.load(snap.kvs, this.registration?.lease);
      this.haveRead = true;
      await this.enqueueReconcile();
      if (stale()) return false;
      this.watch = this.registry.watch(this.dir, snap.revision + 1n, {
        event: (e) => {
          if (!stale()) this.onWatchEvent(e);
        },
        lost: (why, compacted) => {
          if (stale()) return;
          this.watch = undefined;
          this.requestSync(compacted ? `watch revision compacted (${why})` : `watch lost (${why})`);
        },
      });
      ok = true;
      const wasOutage = this.agentState === 'outage';
      this.syncRetry.reset();
      this.setState('synced');
      if (wasOutage) {
        this.log.info(`mesh: registry reachable again; re-read at revision ${snap.revision}, ${this.members.size} other member(s)`);
      } else if (!this.joined) {
        this.log.info(`mesh: joined; ${this.members.size} other member(s) at revision ${snap.revision}`);
      } else {
        this.log.debug(`mesh: re-read at revision ${snap.revision} (${reason}); ${this.members.size} other member(s)`);
      }
      this.joined = true;
    } catch (e) {
      if (stale()) return false;
      this.onSyncFailure(e);
    } finally {
      if (gen === this.generation) this.syncing = false;
      if (gen === this.generation && ok && this.syncAgain && !this.stopped) {
        this.syncAgain = false;
        void this.sync('changes while reading');
      }
    }
    return ok;
  }

  private onSyncFailure(e: unknown): void {
    if (this.agentState !== 'outage') {
      this.log.warn(
        `mesh: registry unreachable (${errorText(e)}); keeping ${this.applied.peers.size} mesh peer(s) as they are, retrying`,
      );
      this.setState('outage');
    } else {
      this.log.debug(`mesh: registry still unreachable (${errorText(e)})`);
    }
    this.syncRetry.schedule(() => {
      if (!this.stopped) void this.sync('retry');
    });
  }

  private async registerSelf(): Promise<void> {
    const value = this.encodeSelf(true);
    const reg = await this.registry.register(this.ownKey, value, this.opts.ttlSeconds);
    if (this.stopped) {
      await reg.revoke().catch(() => undefined);
      return;
    }
    this.registration = reg;
    reg.onLost((why) => {
      if (this.registration !== reg) return;
      this.registration = undefined;
      this.log.warn(`mesh: lease ${reg.lease} lost (${why}); registering again`);
      this.requestSync('lease lost');
    });
    this.log.debug(`mesh: registered ${this.ownKey} with lease ${reg.lease} (TTL ${this.opts.ttlSeconds} s)`);
  }

  private dropRegistration(): void {
    const reg = this.registration;
    this.registration = undefined;
    // Best effort: stop its keep-alives; it may well be gone already.
    reg?.revoke().catch(() => undefined);
  }

  private encodeSelf(fresh = false): string {
    if (fresh || this.self.registeredAt === undefined) this.self = { ...this.self, registeredAt: Math.floor(this.clock.now() / 1000) };
    return encodeMember(this.self);
  }

  private onRegistryState(state: RegistryState, reason: string): void {
    if (this.stopped) return;
    if (state === 'down') {
      this.log.debug(`mesh: registry connection: ${reason}`);
      this.requestSync(`registry down: ${reason}`);
    } else if (this.agentState === 'outage') {
      // Retry now rather than when the backoff timer fires.
      this.syncRetry.cancel();
      this.syncRetry.reset();
      this.requestSync(`registry up: ${reason}`);
    }
  }

  /* ---------------- member set ---------------- */

  private onWatchEvent(e: WatchEvent): void {
    if (e.type === 'put') {
      this.members.accept(e.kv, this.registration?.lease);
    } else if (e.key === this.ownKey) {
      this.log.warn('mesh: our registration was deleted from the registry; registering again');
      this.requestSync('own key deleted');
      return;
    } else {
      this.members.delete(e.key);
    }
    this.scheduleReconcile();
  }

  /* ---------------- reconcile and apply ---------------- */

  private scheduleReconcile(): void {
    if (this.reconcilePending) return;
    this.reconcilePending = true;
    void this.enqueueReconcile();
  }

  private enqueueReconcile(): Promise<void> {
    const run = async () => {
      this.reconcilePending = false;
      if (this.stopped) return;
      await this.reconcileAndApply();
    };
    this.applying = this.applying.then(run, run);
    return this.applying;
  }

  private async reconcileAndApply(): Promise<void> {
    if (!this.haveRead) return; // nothing known yet: keep what is applied (e.g. taken over from an earlier agent)
    const result = reconcile({
      ownPublicKey: this.self.publicKey,
      ownAllowedIPs: this.self.allowedIPs,
      ownVtep: this.self.vtep,
      staticPeers: this.opts.staticPeers ?? [],
      members: [...this.members.members.values()].map((m) => ({ record: m.record, createRevision: m.kv.createRevision })),
      previous: this.applied,
      persistentKeepalive: this.opts.persistentKeepalive,
      routes: this.opts.routes,
    });
    this.outcomes = result.outcomes;
    const current = new Map(result.refusals.map((r) => [r.id, r.message]));
    for (const [id, message] of current) if (!this.refusals.has(id)) this.log.warn(`mesh: ${message}`);
    this.refusals = current;

    let failed = 0;
    for (const action of result.actions) {
      if (this.stopped) return;
      try {
        await performAction(this.target, action);
        this.applied = advance(this.applied, action);
        this.log.info(`[#] mesh: ${describeAction(action)}`);
      } catch (e) {
        failed++;
        this.log.error(`mesh: ${describeAction(action)} failed: ${errorText(e)}`);
      }
    }
    if (failed > 0) {
      // Whatever failed is still wanted: try again after a while (the next event would retry it too).
      this.reconcileRetry.schedule(() => this.scheduleReconcile());
    } else {
      this.reconcileRetry.reset();
    }
  }

  /* ---------------- helpers ---------------- */

  private setState(state: MeshAgentState): void {
    if (state === this.agentState) return;
    this.agentState = state;
    this.stateSince = this.clock.now();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
