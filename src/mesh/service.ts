/**
 * The mesh's lifecycle in a running interface: one MeshAgent (agent.ts) over the interface's Device, its routes and
 * the vxlan devices that follow it, with what `up`, tunvpnd, a reload and the UAPI need around it (daemon/runtime.ts
 * wires it for both).
 *
 *   start       build our record (mesh/self.ts), open the registry (EtcdRegistry: TLS, auth), start the agent. A
 *               registry that cannot be reached is no failure: the agent retries with backoff and `up` goes on.
 *               A record that cannot be built yet (no route towards etcd to choose the default Endpoint, an
 *               Endpoint host that does not resolve) is retried the same way; an invalid Name is a failure.
 *   status      the agent's snapshot with handshake times, for `mesh=1` (`tunvpn mesh show`)
 *   vtep        a vxlan follows the mesh, or stops (`vtep=1`, from `tunvpn site up|down`; vteps.ts)
 *   prepare →   a reload: everything that can fail (our new record, the registry's files) is done first, and a
 *   apply       failure refuses the reload before anything changes; apply then changes in place what it can (our
 *               record: Name, Endpoint, AllowedIPs; keepalive; static peers; interface addresses) and restarts
 *               the agent for the rest (etcd URLs, TLS, auth, Prefix, TTL, the private key, Table). A restarted
 *               agent takes over what the old one applied, so members that stay keep their sessions; it revokes
 *               the old lease only when it leaves the old key or prefix behind.
 *   stop        revoke the lease (the others drop this node at once) and close the registry; with `clear`, also
 *               remove every mesh peer, route and FDB entry (a reload that removes [Mesh]).
 */
import { encodeKey } from '../crypto/keys.js';
import type { MeshSettings } from '../config/mesh.js';
import type { Device } from '../device/device.js';
import type { Logger } from '../log.js';
import { formatIp, formatPrefix, prefixMatches } from '../net/ip.js';
import type { MeshStatus, VtepRequest } from '../uapi/mesh-format.js';
import { VtepRefused, type MeshHandler } from '../uapi/server.js';
import { EOPNOTSUPP, UapiError } from '../uapi/errors.js';
import { MeshAgent, type MeshAgentOptions } from './agent.js';
import { Retry, systemClock, type Backoff, type MeshClock } from './backoff.js';
import { deviceMeshTarget, type MeshRouteOps } from './device-target.js';
import { EtcdRegistry, etcdOptionsFromSettings } from './etcd-registry.js';
import type { MeshInputs } from './inputs.js';
import { connectionChanged, recordInputsChanged, routesMovedBetween, sameRecord, type PreparedMesh } from './reload-plan.js';
import type { MemberRecord } from './member.js';
import { emptyMeshState, type MeshPeer, type MeshState, type StaticPeer } from './reconcile.js';
import type { Registry } from './registry.js';
import { buildSelfRecord, meshAllowedIPs, MeshSelfError, type SelfContext } from './self.js';
import { VtepFollowers, type VtepFdb } from './vteps.js';

/** What a MeshService runs over: the interface, its Device, its routes and FDB, and the seams tests replace. */
export interface MeshServiceOptions {
  ifname: string;
  device: Device;
  log: Logger;
  /** Route operations on the interface (up's InterfaceOps fit) and its index. */
  routeOps: MeshRouteOps;
  ifindex: number;
  /** FDB operations for vxlan devices that follow the mesh; without it, `vtep=1` is refused. */
  fdb?: VtepFdb;
  /** Opens the registry for `settings` (default: EtcdRegistry, reading the files the settings name). */
  openRegistry?: (settings: MeshSettings, log: Logger) => Promise<Registry>;
  /** Resolver and source-address lookup for our record (tests). */
  selfContext?: Pick<SelfContext, 'hostname' | 'lookup' | 'sourceAddress'>;
  clock?: MeshClock;
  /** The agent's retries (default DEFAULT_BACKOFF, backoff.ts); our record's are SELF_RETRY's. */
  backoff?: Backoff;
  /** How long start/apply wait for the agent's first attempt, ms (it carries on in the background after). */
  firstAttemptMs?: number;
}

/** How long `up` waits for the first registration and read before it goes on without them, ms. */
export const FIRST_ATTEMPT_MS = 10_000;
/** Retry delays for building our record: 1 s doubling to 30 s. */
const SELF_RETRY: Backoff = { initialMs: 1000, maxMs: 30_000 };

/**
 * The mesh of one running interface, from start to stop (see the file comment); answers `mesh=1` and `vtep=1` as the
 * UAPI server's MeshHandler. Calls are expected one at a time (the UAPI server's queue, a reload, tunvpnd's queue).
 */
export class MeshService implements MeshHandler {
  private readonly log: Logger;
  private readonly clock: MeshClock;
  private readonly followers: VtepFollowers;
  private inputs: MeshInputs | undefined;
  private agent: MeshAgent | undefined;
  private registry: Registry | undefined;
  private publicKey: Uint8Array | undefined;
  /** Attempts to build our record while the network cannot give what it needs. */
  private readonly selfRetry: Retry;
  private note: string | undefined;
  private stopped = false;
  /** The state a new agent takes over (kept while our record cannot be built yet). */
  private carried: MeshState = emptyMeshState();
  private readonly since: number;

  constructor(private readonly opts: MeshServiceOptions) {
    this.log = opts.log;
    this.clock = opts.clock ?? systemClock;
    this.followers = new VtepFollowers(opts.fdb, opts.log);
    this.selfRetry = new Retry({ clock: this.clock, backoff: SELF_RETRY });
    this.since = this.clock.now();
  }

  /** The running agent, once our record could be built. */
  get meshAgent(): MeshAgent | undefined {
    return this.agent;
  }

  /** The public keys of the peers the mesh configured (base64): the reload's peer diff leaves them alone. */
  ownedPeers(): ReadonlySet<string> {
    return new Set(this.agent ? this.agent.peers().keys() : this.carried.peers.keys());
  }

  /**
   * Starts the mesh with these inputs. Resolves once the first attempt is over (joined, or etcd unreachable and
   * retrying) or FIRST_ATTEMPT_MS have passed. Rejects for what retrying cannot fix: an invalid Name, the
   * registry's files (EtcdCA, EtcdPasswordFile, ...) unreadable.
   */
  async start(inputs: MeshInputs): Promise<void> {
    this.stopped = false;
    this.inputs = inputs;
    this.publicKey = Uint8Array.from(this.opts.device.publicKey);
    const self = await this.tryBuildSelf(inputs);
    const registry = await this.openRegistry(inputs.settings);
    await this.launch(inputs, self, registry, this.carried);
  }

  /** For `mesh=1`: null while the interface is in no mesh. */
  status(): MeshStatus | null {
    if (!this.inputs) return null;
    const vtepDevices = this.followers.followed;
    if (!this.agent) {
      return {
        state: this.stopped ? 'stopped' : 'idle',
        since: this.since,
        ...(this.note !== undefined && { note: this.note }),
        vtepDevices,
        members: [],
        invalid: [],
        refusals: [],
      };
    }
    const device = this.opts.device;
    const snap = this.agent.snapshot((publicKey) => {
      const at = device.peer(publicKey)?.timers.lastHandshakeAt;
      return at === null || at === undefined ? undefined : Math.floor(device.wallClock(at));
    });
    return { ...snap, ...(this.note !== undefined && { note: this.note }), vtepDevices };
  }

  /** For `vtep=1`: see vteps.ts. Rejects with VtepRefused when the request cannot be honoured. */
  async vtep(req: VtepRequest): Promise<string[]> {
    if (!this.inputs) throw new UapiError(EOPNOTSUPP, `${this.opts.ifname} is in no mesh (its configuration has no [Mesh] section)`);
    if (req.remove) {
      const was = await this.followers.unfollow(req.device);
      if (!was) return [`${req.device} was not following the mesh`];
      if (!this.followers.vtep) this.announce();
      return [`${req.device} no longer follows the mesh of ${this.opts.ifname}`];
    }
    const inputs = this.inputs;
    const own = this.currentSelf()?.allowedIPs ?? (inputs ? meshAllowedIPs(inputs.settings, inputs.addresses) : []);
    if (!own.some((p) => prefixMatches(p, req.address.bytes) && p.family === req.address.family)) {
      throw new VtepRefused(
        `VTEP ${formatIp(req.address)} is not inside this node's mesh AllowedIPs (${own.map(formatPrefix).join(', ') || 'none'}): the others could not route vxlan to it`,
      );
    }
    const problem = await this.followers.check(req.device, req.address);
    if (problem) throw new VtepRefused(problem);
    const before = this.followers.vtep;
    await this.followers.follow(req.device, req.address);
    if (!before || formatIp(before) !== formatIp(req.address)) this.announce();
    const members = this.followers.remoteVteps.length;
    return [`${req.device} follows the mesh of ${this.opts.ifname}: VTEP ${formatIp(req.address)}, ${members} member VTEP(s)`];
  }

  /**
   * A reload's first half: what the new inputs change, with everything that can fail done now (our record, the
   * registry's files). Rejects with an Error whose message says why; nothing has changed then.
   */
  async prepare(next: MeshInputs | undefined, publicKey: Uint8Array): Promise<PreparedMesh> {
    const prev = this.inputs;
    const plan: string[] = [];
    const base = { inputs: next, restart: false, handOver: false, routesMoved: false };
    if (!next) {
      if (prev) plan.push(`left the mesh: lease revoked, ${this.ownedPeers().size} mesh peer(s) and their routes removed`);
      return { ...base, plan };
    }
    /** Our new record; undefined when only the network is missing (a start or restart then retries it). */
    const build = async (retryLater: boolean): Promise<MemberRecord | undefined> => {
      try {
        return await this.buildSelf(next, publicKey);
      } catch (e) {
        if (retryLater && e instanceof MeshSelfError && e.retryable) return undefined;
        throw e;
      }
    };
    if (!prev) {
      const self = await build(true);
      await this.readRegistryFiles(next.settings);
      plan.push(`joined the mesh under ${next.settings.prefix} on ${next.settings.etcd.map((e) => e.url).join(', ')}`);
      return { ...base, self, plan };
    }
    const keyChanged = this.publicKey !== undefined && encodeKey(publicKey) !== encodeKey(this.publicKey);
    const connection = connectionChanged(prev.settings, next.settings);
    const routesMoved = routesMovedBetween(prev, next);
    if (connection || keyChanged || routesMoved || !this.agent) {
      const self = await build(true);
      if (connection) await this.readRegistryFiles(next.settings);
      const why = [connection && 'etcd settings', keyChanged && 'private key', routesMoved && 'Table'].filter(Boolean).join(', ');
      if (why) plan.push(`mesh agent restarted (${why} changed); members that stay keep their sessions`);
      const handOver = !keyChanged && prev.settings.prefix === next.settings.prefix;
      return { ...base, self, plan, restart: true, handOver, routesMoved };
    }
    let self: MemberRecord | undefined;
    if (recordInputsChanged(prev, next)) {
      self = await build(false);
      const current = this.agent.record;
      const withVtep = { ...self!, ...(current.vtep && { vtep: current.vtep }) };
      if (!sameRecord(current, withVtep)) plan.push("mesh: this node's record updated in place (Name, Endpoint or AllowedIPs)");
    }
    if ((prev.settings.persistentKeepalive ?? 0) !== (next.settings.persistentKeepalive ?? 0)) {
      plan.push(`mesh: PersistentKeepalive ${next.settings.persistentKeepalive ?? 'off'} for every mesh peer`);
    }
    return { ...base, ...(self && { self }), plan };
  }

  /**
   * A configuration request (`wg set`, `wg syncconf`) changed the device: mesh peers it removed, or whose AllowedIPs
   * it changed, are put back as the mesh has them (a member is only ever changed through etcd); `staticPeers`, when
   * given, are now the peers the mesh must not override (tunvpnd: every peer `wg` configured).
   */
  async deviceChanged(staticPeers?: readonly StaticPeer[]): Promise<void> {
    if (!this.inputs) return;
    if (staticPeers) this.inputs = { ...this.inputs, staticPeers };
    const device = this.opts.device;
    const entries = (p: MeshPeer) => {
      const peer = device.peer(p.publicKey);
      return peer ? device.core.allowedIps.entriesFor(peer).map((e) => formatPrefix({ family: e.family, bytes: e.address, bits: e.cidr })).sort() : undefined;
    };
    const drift = (state: MeshState) =>
      [...state.peers.values()].filter((p) => JSON.stringify(entries(p)) !== JSON.stringify(p.allowedIPs.map(formatPrefix).sort()));
    const agent = this.agent;
    if (!agent) {
      this.carried = { ...this.carried, peers: new Map([...this.carried.peers].filter(([, p]) => device.peer(p.publicKey))) };
      return;
    }
    if (staticPeers) await agent.configure({ staticPeers });
    if (drift(agent.appliedState).length === 0) return;
    await agent.correctApplied((applied) => {
      const wrong = drift(applied);
      if (wrong.length) this.log.warn(`mesh: a configuration request changed ${wrong.length} mesh peer(s); putting them back as the mesh has them`);
      const peers = new Map(applied.peers);
      for (const p of wrong) {
        const now = entries(p);
        if (now === undefined) peers.delete(encodeKey(p.publicKey));
        else peers.set(encodeKey(p.publicKey), { ...p, allowedIPs: [] });
      }
      return { ...applied, peers };
    });
  }

  /**
   * While a reload changes static peers: the mesh gives up whatever clashes with any of `peers` (old and new
   * together), so the static side never meets a mesh peer or route for the same key or prefix.
   */
  async holdStatic(peers: readonly StaticPeer[]): Promise<void> {
    await this.agent?.configure({ staticPeers: peers });
  }

  /** A reload's second half (see the file comment). Logs and reports; never rejects for the registry's sake. */
  async apply(p: PreparedMesh): Promise<string[]> {
    const next = p.inputs;
    const prev = this.inputs;
    if (!next) {
      if (prev) await this.stop({ clear: true });
      return p.plan;
    }
    this.stopped = false;
    if (!prev) {
      await this.start(next);
      return p.plan;
    }
    this.inputs = next;
    if (p.restart || !this.agent) {
      const old = this.agent;
      const oldRegistry = this.registry;
      this.selfRetry.cancel();
      this.agent = undefined;
      this.registry = undefined;
      let state = this.carried;
      if (old) {
        await old.stop({ revoke: !p.handOver });
        state = old.appliedState;
      }
      await oldRegistry?.close().catch(() => undefined);
      if (p.routesMoved && old) {
        // The old routes go now (from the old table); the new agent adds them where they now belong.
        const target = this.target(prev);
        for (const prefix of state.routes.values()) {
          await Promise.resolve(target.removeRoute(prefix)).catch((e: unknown) => this.log.warn(`mesh: ${(e as Error).message}`));
        }
        state = { ...state, routes: new Map() };
      }
      this.carried = state;
      this.publicKey = Uint8Array.from(this.opts.device.publicKey);
      const registry = await this.openRegistry(next.settings);
      await this.launch(next, p.self, registry, state);
      return p.plan;
    }
    const agent = this.agent;
    await agent.configure({
      staticPeers: next.staticPeers,
      persistentKeepalive: next.settings.persistentKeepalive ?? 0,
      routes: next.routes ? { interfaceAddresses: next.addresses } : null,
    });
    if (p.self) {
      const record: MemberRecord = { ...p.self };
      const vtep = this.followers.vtep;
      if (vtep) record.vtep = vtep;
      if (!sameRecord(record, agent.record)) this.updateSelf(agent, record);
    }
    return p.plan;
  }

  /**
   * Revokes the lease (the others drop this node at once) and closes the registry; with `clear`, removes every
   * mesh peer, route and FDB entry as well. Idempotent.
   */
  async stop(opts: { clear?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.selfRetry.cancel();
    const agent = this.agent;
    const registry = this.registry;
    this.agent = undefined;
    this.registry = undefined;
    let state = this.carried;
    if (agent) {
      await agent.stop();
      state = agent.appliedState;
    }
    await registry?.close().catch(() => undefined);
    if (opts.clear) {
      for (const device of this.followers.followed) await this.followers.unfollow(device);
      const prev = this.inputs;
      const target = this.target(prev);
      for (const address of state.vteps.values()) await Promise.resolve(target.removeVtep?.(address)).catch(() => undefined);
      for (const prefix of state.routes.values()) {
        this.log.info(`[#] mesh: remove route ${formatPrefix(prefix)}`);
        await Promise.resolve(target.removeRoute(prefix)).catch((e: unknown) => this.log.warn(`mesh: ${(e as Error).message}`));
      }
      for (const peer of state.peers.values()) {
        this.log.info(`[#] mesh: remove peer ${peer.name}`);
        await target.removePeer(peer);
      }
      this.carried = emptyMeshState();
      this.inputs = undefined;
    } else {
      this.carried = state;
    }
  }

  /* ---------------- internals ---------------- */

  private currentSelf(): MemberRecord | undefined {
    return this.agent?.record;
  }

  private target(inputs: MeshInputs | undefined) {
    const routes = inputs?.routes;
    return deviceMeshTarget({
      device: this.opts.device,
      ...(routes && { routes: { ops: this.opts.routeOps, ifindex: this.opts.ifindex, ...(routes.table !== undefined && { table: routes.table }) } }),
      vteps: this.followers.callbacks,
    });
  }

  private buildSelf(inputs: MeshInputs, publicKey: Uint8Array): Promise<MemberRecord> {
    const vtep = this.followers.vtep;
    return buildSelfRecord(inputs.settings, {
      ...this.opts.selfContext,
      publicKey,
      addresses: inputs.addresses,
      listenPort: inputs.listenPort ?? this.opts.device.listenPort,
      ...(vtep && { vtep }),
    });
  }

  /**
   * Our record, or undefined when the network cannot give what it needs yet (noted; launch schedules a retry).
   * Throws what retrying cannot fix (MeshSelfError not retryable: an invalid host name as Name).
   */
  private async tryBuildSelf(inputs: MeshInputs): Promise<MemberRecord | undefined> {
    try {
      return await this.buildSelf(inputs, this.publicKey!);
    } catch (e) {
      if (!(e instanceof MeshSelfError) || !e.retryable) throw e;
      this.note = `cannot build this node's record yet: ${e.message}`;
      return undefined;
    }
  }

  private async readRegistryFiles(settings: MeshSettings): Promise<void> {
    if (this.opts.openRegistry) return;
    await etcdOptionsFromSettings(settings);
  }

  private async openRegistry(settings: MeshSettings): Promise<Registry> {
    if (this.opts.openRegistry) return this.opts.openRegistry(settings, this.log);
    return new EtcdRegistry({ ...(await etcdOptionsFromSettings(settings)), log: this.log });
  }

  /** Creates and starts the agent (or schedules building our record again); waits for the first attempt. */
  private async launch(inputs: MeshInputs, self: MemberRecord | undefined, registry: Registry, state: MeshState): Promise<void> {
    this.registry = registry;
    if (!self) {
      this.log.warn(`mesh: ${this.note}; retrying`);
      this.scheduleRetry(inputs, registry, state);
      return;
    }
    this.note = undefined;
    this.selfRetry.reset();
    const options: MeshAgentOptions = {
      registry,
      target: this.target(inputs),
      self,
      prefix: inputs.settings.prefix,
      ttlSeconds: inputs.settings.ttl,
      staticPeers: inputs.staticPeers,
      ...(inputs.settings.persistentKeepalive !== undefined && { persistentKeepalive: inputs.settings.persistentKeepalive }),
      ...(inputs.routes && { routes: { interfaceAddresses: inputs.addresses } }),
      log: this.log,
      clock: this.clock,
      ...(this.opts.backoff && { backoff: this.opts.backoff }),
      initialState: state,
    };
    const agent = new MeshAgent(options);
    this.agent = agent;
    this.log.info(
      `[#] mesh: join as ${self.name} under ${inputs.settings.prefix} on ${inputs.settings.etcd.map((e) => e.url).join(', ')} (lease TTL ${inputs.settings.ttl} s)`,
    );
    const wait = this.opts.firstAttemptMs ?? FIRST_ATTEMPT_MS;
    let timer: unknown;
    const timeout = new Promise<void>((resolve) => {
      timer = this.clock.setTimeout(resolve, wait);
    });
    await Promise.race([agent.start().then(() => undefined), timeout]);
    this.clock.clearTimeout(timer);
  }

  private scheduleRetry(inputs: MeshInputs, registry: Registry, state: MeshState): void {
    this.selfRetry.schedule(() => {
      if (this.stopped || this.inputs !== inputs) return;
      void (async () => {
        const self = await this.tryBuildSelf(inputs).catch((e: unknown) => {
          this.note = (e as Error).message;
          return undefined;
        });
        if (this.stopped || this.inputs !== inputs) return;
        if (self) this.log.info('mesh: this node\'s record could be built now');
        await this.launch(inputs, self, registry, state);
      })();
    });
  }

  /** Our VTEP changed: announce the record with (or without) it. */
  private announce(): void {
    const agent = this.agent;
    if (!agent) return;
    const record: MemberRecord = { ...agent.record };
    const vtep = this.followers.vtep;
    if (vtep) record.vtep = vtep;
    else delete record.vtep;
    this.updateSelf(agent, record);
  }

  /**
   * Takes our new record at once (reconciling against it) and announces it in the background: a reload or a
   * `site up` never waits for etcd (the agent re-syncs if the write fails).
   */
  private updateSelf(agent: MeshAgent, record: MemberRecord): void {
    agent.updateSelf(record).catch((e: unknown) => this.log.warn(`mesh: ${(e as Error).message}`));
  }
}
