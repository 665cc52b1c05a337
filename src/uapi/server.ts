/**
 * The UAPI server: a unix stream socket at DIR/IFACE.sock (mode 0600, DIR created 0755) that answers get/set
 * requests from wg(8) and `tunvpn` against a DeviceControl. Each connection carries any number of requests, one
 * reply per request, in order; requests from all connections reach the device one at a time (so a
 * transaction never interleaves with another).
 *
 * Like wireguard-go, the server watches its socket file: when it is deleted (or replaced by another file) the
 * server emits 'removed' once, and the daemon is expected to shut down.
 *
 * Lifecycle: `await listen()` → serve → `await close()` (closes every connection and removes the socket file if it
 * is still ours). A stale socket left by a dead daemon is replaced; a live one makes listen() fail with EADDRINUSE.
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, rename, rm, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import { explainFsError } from '../fs-errors.js';
import type { DeviceControl, SetOperation } from './control.js';
import { EINVAL, EOPNOTSUPP, EPROTO, toUapiError, UapiError } from './errors.js';
import { RequestFramer, type Request } from './framing.js';
import { DEFAULT_SOCKET_DIR, socketPath } from './paths.js';
import { formatErrnoReply, formatGetReply, formatReloadReply, formatStatsReply, parseSetBody } from './text-format.js';
import { formatMeshReply, formatNoMeshReply, formatVtepReply, parseVtepRequest, type MeshStatus, type VtepRequest } from './mesh-format.js';
import type { Zones } from '../net/endpoint.js';

const SOCKET_MODE = 0o600;
const DIR_MODE = 0o755;
/** How long to wait for a live daemon to accept our probe connection, in ms. */
const PROBE_TIMEOUT_MS = 1000;
/** Fallback poll of the socket file (fs.watch is the fast path), in ms. */
const DEFAULT_WATCH_INTERVAL_MS = 1000;
/** A connection idle this long is closed, in ms (wg(8) finishes in milliseconds). */
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** Concurrent connections accepted; further ones are refused by the kernel backlog/Node. */
const MAX_CONNECTIONS = 64;

export interface UapiServerOptions {
  iface: string;
  control: DeviceControl;
  /** Socket directory; default /var/run/wireguard. */
  dir?: string;
  logger?: Logger;
  watchIntervalMs?: number;
  idleTimeoutMs?: number;
  /** Turns endpoint zone names in `set` requests into interface indexes (conn/zones.ts); numeric zones only without. */
  zones?: Pick<Zones, 'indexOf'>;
}

/**
 * What answers tunvpn's `reload=1`: re-reads the configuration and applies it, resolving with lines that describe
 * what changed; rejects with a ReloadRefused (the file was refused: nothing changed) or any other error. It is
 * called outside the request queue, so that reading the file and resolving its names (resolver retries can take
 * a minute) does not hold up `wg`: it applies the changes through exclusive().
 */
export type ReloadHandler = () => Promise<string[]>;

/**
 * What answers tunvpn's `mesh=1` and `vtep=1` (mesh-format.ts): the mesh's status (null: the interface is in no
 * mesh at the moment), and registering a vxlan whose FDB follows the mesh. `vtep` resolves with lines describing
 * what it did; it rejects with a VtepRefused (nothing changed), a UapiError (its errno is the reply's: EOPNOTSUPP
 * for no mesh) or any other error.
 */
export interface MeshHandler {
  status(): MeshStatus | null;
  vtep(request: VtepRequest): Promise<string[]>;
}

/** A vtep=1 request refused before anything changed. */
export class VtepRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VtepRefused';
  }
}

/** A reload refused before anything changed: `problems` are the "FILE:LINE: message" lines. */
export class ReloadRefused extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ReloadRefused';
  }
}

export interface UapiServerEvents {
  /** The socket file was deleted or replaced: the daemon should exit. Emitted at most once. */
  removed: [];
  /** A `set` request was applied to the device (after the reply was formed; listeners must not throw). */
  applied: [op: SetOperation];
}

export class UapiServer extends EventEmitter<UapiServerEvents> {
  readonly iface: string;
  readonly path: string;
  readonly #control: DeviceControl;
  readonly #log: Logger;
  readonly #watchIntervalMs: number;
  readonly #idleTimeoutMs: number;
  readonly #zones: Pick<Zones, 'indexOf'> | undefined;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #identity: Stats | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #removed = false;
  /** Tail of the request queue shared by every connection (see #serialized). */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #reload: ReloadHandler | undefined;
  #mesh: MeshHandler | undefined;

  constructor(opts: UapiServerOptions) {
    super();
    this.iface = opts.iface;
    this.path = socketPath(opts.iface, opts.dir ?? DEFAULT_SOCKET_DIR);
    this.#control = opts.control;
    this.#log = (opts.logger ?? silentLogger).child({ uapi: this.iface });
    this.#watchIntervalMs = opts.watchIntervalMs ?? DEFAULT_WATCH_INTERVAL_MS;
    this.#idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#zones = opts.zones;
  }

  /** Sets what answers `reload=1` (without one, the reply is EOPNOTSUPP: this daemon has no configuration file). */
  setReloadHandler(handler: ReloadHandler | undefined): void {
    this.#reload = handler;
  }

  /** Sets what answers `mesh=1` and `vtep=1` (without one: EOPNOTSUPP, this interface is in no mesh). */
  setMeshHandler(handler: MeshHandler | undefined): void {
    this.#mesh = handler;
  }

  /**
   * Runs `fn` in the request queue, as if it were one more request: no `get` or `set` runs while it does. For
   * changes made outside the socket (a reload on SIGHUP) that must not interleave with `wg set`.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async listen(): Promise<void> {
    if (this.#server || this.#closed) throw new Error('UapiServer.listen() may be called once');
    const dir = dirname(this.path);
    try {
      await makeDirectory(dir);
    } catch (e) {
      throw await explainFsError(e, 'create the socket directory', dir);
    }
    await this.#clearPath();
    // Bind inside a private 0700 directory, tighten the mode, then move the socket into place: the socket is never
    // reachable with a wider mode, no process-wide umask is touched, and libuv's unlink-on-close hits the private
    // name rather than a path a newer daemon may own by then.
    let privateDir: string;
    try {
      privateDir = await mkdtemp(join(dir, `.${this.iface}-`));
    } catch (e) {
      throw await explainFsError(e, 'create the socket in', dir);
    }
    const bindPath = join(privateDir, 'sock');
    let server: Server | undefined;
    try {
      server = await this.#bind(bindPath);
      await chmod(bindPath, SOCKET_MODE);
      await rename(bindPath, this.path);
      this.#identity = await lstat(this.path).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined; // removed the moment it appeared: see below
        throw e;
      });
    } catch (err) {
      server?.close();
      throw err;
    } finally {
      await rm(privateDir, { recursive: true, force: true });
    }
    this.#server = server;
    if (this.#identity === undefined) {
      // The socket was removed the moment it appeared (a daemon told to go away at once): that is the same request
      // as a removal later on, so the server counts as removed; `removed` says so to a caller that subscribes now.
      this.#removed = true;
      this.#log.warn({ path: this.path }, 'UAPI socket file removed');
      return;
    }
    this.#startWatching();
    this.#log.info({ path: this.path }, 'UAPI listening');
  }

  /**
   * True once the socket file was deleted or replaced (also when that happened while listen() was still running);
   * 'removed' has then been emitted, or never will be if it happened before listen() returned. Check this before
   * or instead of subscribing.
   */
  get removed(): boolean {
    return this.#removed;
  }

  /** Stop serving: close every connection, stop watching, remove the socket file if it is still ours. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatching();
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    if (!server) return;
    const stillOurs = await this.#isOurFile();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (stillOurs) await unlink(this.path).catch(() => undefined);
  }

  #bind(path: string): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: true }, (s) => this.#onConnection(s));
      server.maxConnections = MAX_CONNECTIONS;
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(path, () => {
        server.off('error', onError);
        server.on('error', (e) => this.#log.error({ err: e }, 'UAPI server error'));
        resolve(server);
      });
    });
  }

  /** Make the path free: remove a socket nobody answers on; refuse a live one or a non-socket. */
  async #clearPath(): Promise<void> {
    const st = await lstat(this.path).catch(() => undefined);
    if (!st) return;
    if (!st.isSocket()) {
      throw Object.assign(new Error(`${this.path} exists and is not a socket; refusing to replace it`), { code: 'EEXIST' });
    }
    if (await isLive(this.path)) {
      throw Object.assign(new Error(`interface ${this.iface} is already served by a running daemon (${this.path})`), {
        code: 'EADDRINUSE',
      });
    }
    this.#log.warn({ path: this.path }, 'replacing stale UAPI socket');
    await unlink(this.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  #startWatching(): void {
    try {
      this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || file === basename(this.path)) void this.#check();
      });
      this.#watcher.on('error', () => this.#watcher?.close());
    } catch {
      this.#watcher = undefined; // the poll below still notices
    }
    this.#timer = setInterval(() => void this.#check(), this.#watchIntervalMs);
    this.#timer.unref();
  }

  #stopWatching(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #isOurFile(): Promise<boolean> {
    const st = await lstat(this.path).catch(() => undefined);
    return st !== undefined && this.#identity !== undefined && st.ino === this.#identity.ino && st.dev === this.#identity.dev;
  }

  async #check(): Promise<void> {
    if (this.#removed || this.#closed) return;
    if (await this.#isOurFile()) return;
    if (this.#removed || this.#closed) return;
    this.#removed = true;
    this.#stopWatching();
    this.#log.warn({ path: this.path }, 'UAPI socket file removed');
    this.emit('removed');
  }

  #onConnection(sock: Socket): void {
    if (this.#closed) {
      sock.destroy();
      return;
    }
    this.#sockets.add(sock);
    sock.on('close', () => this.#sockets.delete(sock));
    sock.on('error', (err) => this.#log.debug({ err }, 'UAPI connection error'));
    sock.setTimeout(this.#idleTimeoutMs, () => sock.destroy());
    const framer = new RequestFramer();
    let waitingDrain = false;
    let peerEnded = false;
    let finished = false;

    let handling = false;
    // One request at a time per connection, in order; the replies of a pipelining client wait for its reads.
    const pump = async (): Promise<void> => {
      if (handling) return;
      handling = true;
      try {
        while (!waitingDrain && !finished) {
          const req = framer.next();
          if (!req) break;
          // A request waiting in the queue or being handled is no idleness: the idle timeout waits meanwhile.
          sock.setTimeout(0);
          // A reload handler takes the queue itself, once the file is read (ReloadHandler).
          const reply = req.kind === 'reload' ? await this.#handle(req) : await this.#serialized(() => this.#handle(req));
          if (sock.destroyed) return;
          sock.setTimeout(this.#idleTimeoutMs);
          if (req.kind === 'error') {
            finished = true;
            sock.end(reply);
            return;
          }
          if (!sock.write(reply)) {
            waitingDrain = true;
            sock.pause();
            sock.once('drain', () => {
              waitingDrain = false;
              sock.resume();
              void pump();
            });
          }
        }
        if (peerEnded && !waitingDrain && !finished) {
          finished = true;
          if (framer.midRequest) this.#log.debug('UAPI client closed mid-request; nothing applied');
          sock.end();
        }
      } finally {
        handling = false;
      }
    };
    sock.on('data', (chunk: Buffer) => {
      framer.push(chunk);
      void pump();
    });
    sock.on('end', () => {
      peerEnded = true;
      void pump();
    });
  }

  /**
   * Runs `fn` after every request already queued on any connection has been answered: requests reach the device
   * one at a time, so a `get` never observes a half-applied `set` and two `set`s never interleave.
   */
  #serialized(fn: () => Promise<string>): Promise<string> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** The reply bytes for one request. Never rejects. */
  async #handle(req: Request): Promise<string> {
    switch (req.kind) {
      case 'get':
        try {
          return formatGetReply(this.#control.get());
        } catch (err) {
          const e = toUapiError(err);
          this.#log.error({ errno: e.errno }, `UAPI get failed: ${e.message}`);
          return formatErrnoReply('get', e.errno);
        }
      case 'stats':
        try {
          return formatStatsReply(this.#control.stats?.() ?? {});
        } catch (err) {
          return formatErrnoReply('get', toUapiError(err).errno);
        }
      case 'reload': {
        const reload = this.#reload;
        if (!reload) return formatReloadReply(EOPNOTSUPP, ['this daemon has no configuration file to reload; use wg syncconf']);
        try {
          return formatReloadReply(0, await reload());
        } catch (err) {
          if (err instanceof ReloadRefused) {
            this.#log.warn(`reload refused, nothing changed: ${err.problems.join('; ')}`);
            return formatReloadReply(EINVAL, err.problems);
          }
          const e = toUapiError(err);
          this.#log.warn({ errno: e.errno }, `reload failed: ${(err as Error).message}`);
          return formatReloadReply(e.errno, [(err as Error).message]);
        }
      }
      case 'mesh':
        try {
          const status = this.#mesh?.status();
          return status ? formatMeshReply(status) : formatNoMeshReply();
        } catch (err) {
          return formatErrnoReply('get', toUapiError(err).errno);
        }
      case 'vtep': {
        const mesh = this.#mesh;
        if (!mesh) return formatVtepReply(EOPNOTSUPP, [`${this.iface} is in no mesh (its configuration has no [Mesh] section)`]);
        const parsed = parseVtepRequest(req.lines);
        if (!parsed.ok) return formatVtepReply(EINVAL, [parsed.message]);
        try {
          return formatVtepReply(0, await mesh.vtep(parsed.value));
        } catch (err) {
          if (err instanceof VtepRefused) return formatVtepReply(EINVAL, [err.message]);
          if (err instanceof UapiError) return formatVtepReply(err.errno, [err.message]);
          const e = toUapiError(err);
          this.#log.warn({ errno: e.errno }, `vtep request failed: ${(err as Error).message}`);
          return formatVtepReply(e.errno, [(err as Error).message]);
        }
      }
      case 'set': {
        const parsed = parseSetBody(req.lines, { zones: this.#zones });
        if (!parsed.ok) {
          this.#log.warn({ errno: parsed.error.errno }, `UAPI set rejected: ${parsed.error.message}`);
          return formatErrnoReply('set', parsed.error.errno);
        }
        try {
          await this.#control.apply(parsed.value);
          this.emit('applied', parsed.value);
          return formatErrnoReply('set', 0);
        } catch (err) {
          const e = toUapiError(err);
          this.#log.warn({ errno: e.errno }, `UAPI set failed: ${e.message}`);
          return formatErrnoReply('set', e.errno);
        }
      }
      case 'error':
        this.#log.warn({ errno: req.errno }, `UAPI protocol error: ${req.message}`);
        return formatErrnoReply(req.request, req.errno || EPROTO);
    }
  }
}

/** mkdir -p with mode 0755 for the directories it creates (set explicitly: the umask must not narrow it). */
async function makeDirectory(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: DIR_MODE });
  if (first === undefined) return;
  for (let d = dir; ; d = dirname(d)) {
    await chmod(d, DIR_MODE);
    if (d === first || d === dirname(d)) break;
  }
}

/** Whether something accepts connections on the unix socket at `path`. */
export function isLive(path: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    const done = (live: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(live);
    };
    // A daemon too busy to accept within the timeout is still alive: do not steal its socket.
    const timer = setTimeout(() => done(true), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'));
  });
}
