/**
 * The Registry on a real etcd v3 cluster, through the `etcd3` client (gRPC). Mapping (etcd API reference):
 *
 *   register  LeaseGrant(TTL) → Put(key, value, lease) → LeaseKeepAlive stream (etcd3 renews every TTL/3 s)
 *   list      Range(prefix), linearizable (the default: served only with a quorum), header.revision = R
 *   watch     Watch(prefix, start_revision) — events in order; `lost` on any break (see below)
 *   revoke    LeaseRevoke (deletes the key at once)
 *
 * Unreachability: every unary call has a deadline (requestTimeoutMs), so a cluster without quorum fails a call
 * instead of hanging it. A failing keep-alive stream and a disconnected watch stream report 'down'; a successful
 * keep-alive reports 'up'. etcd3 declares a lease lost when etcd answers TTL = 0 (expired, revoked) or when no
 * keep-alive has succeeded for 2 × TTL; the registration's onLost listeners hear of it.
 *
 * Watches: etcd3 would resume a broken watch stream by itself, but the agent's single recovery path is a full
 * read, so a disconnect ends the watch with `lost` (and the etcd3 watcher is cancelled). A watch whose start
 * revision has been compacted is cancelled by etcd (WatchResponse with compact_revision and canceled set); etcd3
 * surfaces every server-side cancel as an 'error', which also ends the watch with `lost` — the caller re-reads
 * either way. etcd3's Watcher is taken with WatchBuilder.watcher() rather than create(), so the handlers are
 * attached before anything can happen and the watcher can be cancelled even if it never connects.
 */
import { readFile as fsReadFile } from 'node:fs/promises';
import { Etcd3, type IKeyValue, type IOptions, type Lease, type Watcher } from 'etcd3';
import { silentLogger, type Logger } from '../log.js';
import {
  RegistryUnavailableError,
  type Registration,
  type Registry,
  type RegistryKv,
  type RegistrySnapshot,
  type RegistryState,
  type RegistryWatch,
  type WatchHandlers,
} from './registry.js';
import type { MeshSettings } from '../config/mesh.js';

/** Deadline of each unary etcd call, ms: long enough for a leader election (etcd's default election timeout is 1 s). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/**
 * gRPC keep-alive pings, ms: a connection to a member that vanished without a reset (partition, powered off) is
 * declared dead after KEEPALIVE_TIME + KEEPALIVE_TIMEOUT. etcd's server accepts pings every 5 s
 * (--grpc-keepalive-min-time default), so 10 s stays clear of its "too many pings" GOAWAY.
 */
const GRPC_KEEPALIVE_TIME_MS = 10_000;
const GRPC_KEEPALIVE_TIMEOUT_MS = 5000;

export interface EtcdRegistryOptions {
  /** Client URLs, `http://host:port` or `https://host:port`, one scheme for all. */
  endpoints: string[];
  /** PEM contents. `ca` absent with https: the system's roots. `cert` and `key` together: client certificate. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  auth?: { username: string; password: string };
  requestTimeoutMs?: number;
  log?: Logger;
}

/** The files a [Mesh] section names, read (PEM, password); `readFile` is injectable for tests. */
export async function etcdOptionsFromSettings(
  settings: MeshSettings,
  readFile: (path: string) => Promise<Buffer> = (p) => fsReadFile(p),
): Promise<EtcdRegistryOptions> {
  const opts: EtcdRegistryOptions = { endpoints: settings.etcd.map((e) => e.url) };
  const read = async (what: string, path: string) => {
    try {
      return await readFile(path);
    } catch (e) {
      throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  };
  if (settings.tls) {
    const tls: NonNullable<EtcdRegistryOptions['tls']> = {};
    if (settings.tls.ca) tls.ca = await read('EtcdCA', settings.tls.ca);
    if (settings.tls.cert) tls.cert = await read('EtcdCert', settings.tls.cert);
    if (settings.tls.key) tls.key = await read('EtcdKey', settings.tls.key);
    opts.tls = tls;
  }
  if (settings.auth) {
    const raw = (await read('EtcdPasswordFile', settings.auth.passwordFile)).toString('utf8');
    const password = raw.replace(/\r?\n$/, '');
    if (password === '') throw new Error(`EtcdPasswordFile ${settings.auth.passwordFile} is empty`);
    opts.auth = { username: settings.auth.user, password };
  }
  return opts;
}

export class EtcdRegistry implements Registry {
  readonly client: Etcd3;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly listeners = new Set<(state: RegistryState, reason: string) => void>();
  private readonly watchers = new Set<Watcher>();
  private readonly registrations = new Set<EtcdRegistration>();
  private lastState: RegistryState = 'up';
  private closed = false;

  constructor(opts: EtcdRegistryOptions) {
    if (opts.endpoints.length === 0) throw new RangeError('etcd: no endpoints');
    this.log = opts.log ?? silentLogger;
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const options: IOptions = {
      hosts: opts.endpoints,
      dialTimeout: this.timeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.timeoutMs }),
      grpcOptions: {
        'grpc.keepalive_time_ms': GRPC_KEEPALIVE_TIME_MS,
        'grpc.keepalive_timeout_ms': GRPC_KEEPALIVE_TIMEOUT_MS,
        'grpc.keepalive_permit_without_calls': 1,
      },
    };
    if (opts.tls && (opts.tls.ca || opts.tls.cert)) {
      // grpc-js accepts a null root certificate (then the system's roots), though etcd3's type wants a Buffer.
      options.credentials = { rootCertificate: opts.tls.ca as Buffer, privateKey: opts.tls.key, certChain: opts.tls.cert };
    }
    if (opts.auth) options.auth = { username: opts.auth.username, password: opts.auth.password };
    this.client = new Etcd3(options);
  }

  async register(key: string, value: string, ttlSeconds: number): Promise<Registration> {
    this.checkOpen('register');
    const lease = this.client.lease(ttlSeconds, { autoKeepAlive: true });
    const reg = new EtcdRegistration(this, lease, key);
    try {
      await lease.grant();
      await lease.put(key).value(value).exec();
    } catch (e) {
      reg.silence();
      lease.revoke().catch(() => undefined); // best effort; otherwise it expires after ttlSeconds
      throw unavailable('register', e);
    }
    await reg.ready();
    this.registrations.add(reg);
    return reg;
  }

  async list(prefix: string): Promise<RegistrySnapshot> {
    this.checkOpen('list');
    let res;
    try {
      res = await this.client.getAll().prefix(prefix).exec();
    } catch (e) {
      throw unavailable('list', e);
    }
    return { revision: BigInt(res.header.revision), kvs: res.kvs.map(toKv) };
  }

  watch(prefix: string, fromRevision: bigint, handlers: WatchHandlers): RegistryWatch {
    let active = true;
    /** The first revision not yet delivered (etcd3's own lastRevision() moves on with every response header). */
    let resumeAt = fromRevision;
    const watcher = this.client.watch().prefix(prefix).startRevision(fromRevision.toString()).watcher();
    this.watchers.add(watcher);
    const end = (reason: string, compacted: boolean) => {
      if (!active) return;
      active = false;
      this.watchers.delete(watcher);
      watcher.cancel().catch(() => undefined);
      handlers.lost(reason, compacted);
    };
    watcher
      .on('connected', () => this.setState('up', 'watch connected'))
      .on('put', (kv: IKeyValue) => {
        if (!active) return;
        const event = toKv(kv);
        resumeAt = event.modRevision + 1n;
        handlers.event({ type: 'put', kv: event });
      })
      .on('delete', (kv: IKeyValue) => {
        if (!active) return;
        const modRevision = BigInt(kv.mod_revision);
        resumeAt = modRevision + 1n;
        handlers.event({ type: 'delete', key: kv.key.toString('utf8'), modRevision });
      })
      .on('disconnected', (err: Error) => {
        this.setState('down', `watch stream: ${err.message}`);
        end(`stream disconnected: ${err.message}`, false);
      })
      .on('error', (err: Error) => {
        // A server-side cancel. etcd3 drops the response's compact_revision, so ask whether the start revision is
        // still readable: a range at a compacted revision fails with "mvcc: required revision has been compacted".
        if (!active) return;
        void this.isCompacted(prefix, resumeAt).then((compacted) =>
          end(compacted ? 'start revision compacted' : `cancelled by etcd: ${err.message}`, compacted),
        );
      });
    return {
      cancel: async () => {
        if (!active) return;
        active = false;
        this.watchers.delete(watcher);
        await watcher.cancel().catch(() => undefined);
      },
    };
  }

  /** Whether `revision` lies at or below etcd's compaction point (false when that cannot be told). */
  private async isCompacted(prefix: string, revision: bigint): Promise<boolean> {
    try {
      await this.client.getAll().prefix(prefix).revision(revision.toString()).limit(1).exec();
      return false;
    } catch (e) {
      return /compacted/i.test(errorText(e));
    }
  }

  onStateChange(listener: (state: RegistryState, reason: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers) w.removeAllListeners().on('error', () => undefined);
    for (const r of this.registrations) r.release(); // stop keep-alives: the leases expire after their TTL
    await Promise.all([...this.watchers].map((w) => w.cancel().catch(() => undefined)));
    this.watchers.clear();
    this.client.close();
  }

  /** @internal */
  setState(state: RegistryState, reason: string): void {
    if (state === this.lastState || this.closed) return;
    this.lastState = state;
    this.log.debug(`etcd: ${state} (${reason})`);
    for (const l of [...this.listeners]) l(state, reason);
  }

  /** @internal */
  forget(reg: EtcdRegistration): void {
    this.registrations.delete(reg);
  }

  private checkOpen(op: string): void {
    if (this.closed) throw new Error(`etcd ${op}: registry closed`);
  }
}

class EtcdRegistration implements Registration {
  private readonly lostListeners: ((reason: string) => void)[] = [];
  private done = false;
  private leaseId = '0';

  constructor(private readonly registry: EtcdRegistry, private readonly leaseObj: Lease, readonly key: string) {
    leaseObj.on('lost', (err: Error) => {
      if (this.done) return;
      this.done = true;
      this.registry.forget(this);
      for (const l of this.lostListeners) l(errorText(err));
    });
    leaseObj.on('keepaliveFailed', (err: unknown) => this.registry.setState('down', `lease keep-alive: ${errorText(err)}`));
    leaseObj.on('keepaliveSucceeded', () => this.registry.setState('up', 'lease keep-alive'));
  }

  get lease(): string {
    return this.leaseId;
  }

  /** @internal After a successful grant and put. */
  async ready(): Promise<void> {
    this.leaseId = await this.leaseObj.grant();
  }

  /** @internal No more loss reports (a failed registration, or the registry closing). */
  silence(): void {
    this.done = true;
  }

  /** @internal Stops keep-alives without revoking (the registry is closing); no loss report follows. */
  release(): void {
    this.done = true;
    this.leaseObj.release();
  }

  async put(value: string): Promise<void> {
    try {
      await this.leaseObj.put(this.key).value(value).exec();
    } catch (e) {
      throw unavailable('put', e);
    }
  }

  async revoke(): Promise<void> {
    this.done = true;
    this.registry.forget(this);
    try {
      await this.leaseObj.revoke();
    } catch (e) {
      throw unavailable('revoke', e);
    }
  }

  onLost(listener: (reason: string) => void): void {
    this.lostListeners.push(listener);
  }
}

function toKv(kv: IKeyValue): RegistryKv {
  return {
    key: kv.key.toString('utf8'),
    value: new Uint8Array(kv.value),
    createRevision: BigInt(kv.create_revision),
    modRevision: BigInt(kv.mod_revision),
    lease: kv.lease ?? '0',
  };
}

/**
 * An etcd client or gRPC error as one readable phrase. gRPC messages come as "14 UNAVAILABLE: No connection
 * established. Last error: null. Resolution note: ": the numeric status code and the empty trailers are dropped
 * (status names: gRPC's status codes, doc/statuscodes.md). The client's lease-lost error fills its "Lease %s is
 * expired or revoked" template with an explanation instead of the lease ID; the explanation alone is kept.
 */
export function errorText(e: unknown): string {
  let text = (e instanceof Error ? e.message : String(e)).trim();
  const lease = /^Lease (.+) is expired or revoked$/s.exec(text);
  if (lease && !/^\d+$/.test(lease[1]!)) text = lease[1]!.replace(/\.$/, '');
  text = text
    .replace(/^\d+ ([A-Z_]+):/, '$1:')
    .replace(/\s*Last error: null\.?/g, '')
    .replace(/\s*Resolution note:\s*$/, '')
    .trim();
  if (/^UNIMPLEMENTED:/.test(text)) text += ' (is this an etcd v3 client URL?)';
  return text;
}

function unavailable(op: string, e: unknown): Error {
  return new RegistryUnavailableError(`etcd ${op}: ${errorText(e)}`, { cause: e });
}
