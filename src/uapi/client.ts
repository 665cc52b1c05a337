/**
 * A UAPI client: one connection to DIR/IFACE.sock, any number of sequential requests. Used by `tunvpn show`,
 * `tunvpn down` and tests. Every method rejects with a UapiError for a non-zero errno, and with an ordinary Error
 * for connection problems (ENOENT when no daemon serves the interface, ECONNREFUSED for a stale socket).
 */
import { lstat, readdir, unlink } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import type { DeviceSnapshot, SetOperation } from './control.js';
import { EIO, EPROTO, UapiError } from './errors.js';
import { ifnameProblem } from '../net/ifname.js';
import { DEFAULT_SOCKET_DIR, SOCKET_SUFFIX, socketPath } from './paths.js';
import { formatSetRequest, parseGetReply, parseReloadReply, parseStatsReply } from './text-format.js';
import { isLive } from './server.js';
import { formatVtepRequest, parseMeshReply, parseVtepReply, type MeshStatus, type VtepRequest } from './mesh-format.js';

/** Largest reply we accept, in bytes (a get reply for tens of thousands of peers). */
const MAX_REPLY_BYTES = 64 * 1024 * 1024;
/** How long one request may take, in ms. */
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export interface UapiClientOptions {
  dir?: string;
  timeoutMs?: number;
}

export class UapiClient {
  readonly path: string;
  readonly #sock: Socket;
  readonly #timeoutMs: number;
  #buffer = '';
  #waiter: ((err: Error | undefined) => void) | undefined;
  #failure: Error | undefined;
  /** Requests run one at a time: each waits for the previous reply. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, sock: Socket, timeoutMs: number) {
    this.path = path;
    this.#sock = sock;
    this.#timeoutMs = timeoutMs;
    sock.setEncoding('latin1');
    sock.on('data', (text: string) => {
      this.#buffer += text;
      if (this.#buffer.length > MAX_REPLY_BYTES) this.#fail(new UapiError(EIO, 'reply too large'));
      else this.#wake(undefined);
    });
    sock.on('end', () => this.#fail(new UapiError(EPROTO, 'connection closed by the daemon')));
    sock.on('error', (err) => this.#fail(err));
    sock.on('close', () => this.#fail(new UapiError(EPROTO, 'connection closed')));
  }

  static connect(iface: string, opts: UapiClientOptions = {}): Promise<UapiClient> {
    const path = socketPath(iface, opts.dir ?? DEFAULT_SOCKET_DIR);
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(new UapiClient(path, sock, opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS));
      });
      sock.once('error', reject);
    });
  }

  /** The raw get reply text (key=value lines through `errno=0` and the empty line). */
  getRaw(): Promise<string> {
    return this.#request('get=1\n\n');
  }

  async get(): Promise<DeviceSnapshot> {
    const parsed = parseGetReply(await this.getRaw());
    if (!parsed.ok) throw parsed.error;
    return parsed.value;
  }

  /** tunvpn's `stats=1` extension: device counters, or undefined when the daemon does not offer them. */
  async stats(): Promise<Record<string, number> | undefined> {
    return parseStatsReply(await this.#request('stats=1\n\n'));
  }

  /**
   * tunvpn's `reload=1` extension: the daemon re-reads its configuration file and applies the difference. Resolves
   * with errno 0 and what changed, or the errno and the daemon's messages (FILE:LINE problems for a refused file).
   */
  async reload(): Promise<{ errno: number; messages: string[] }> {
    const reply = parseReloadReply(await this.#requestUtf8('reload=1\n\n'));
    if (!reply) throw new UapiError(EPROTO, 'malformed reload reply');
    return reply;
  }

  /**
   * tunvpn's `mesh=1` extension: the members the daemon's mesh sees; null when its interface is in no mesh.
   * Rejects with UapiError(EPROTO) when the reply is not a mesh reply (a daemon that does not know the extension).
   */
  async mesh(): Promise<MeshStatus | null> {
    const reply = parseMeshReply(await this.#requestUtf8('mesh=1\n\n'));
    if (reply === undefined) throw new UapiError(EPROTO, 'malformed mesh reply');
    return reply;
  }

  /** tunvpn's `vtep=1` extension: a vxlan's FDB follows the daemon's mesh (or stops following it). */
  async vtep(request: VtepRequest): Promise<{ errno: number; messages: string[] }> {
    const reply = parseVtepReply(await this.#requestUtf8(formatVtepRequest(request)));
    if (!reply) throw new UapiError(EPROTO, 'malformed vtep reply');
    return reply;
  }

  /**
   * Send a set transaction: a SetOperation, or raw text (the key=value lines, with or without the leading
   * `set=1` and the trailing empty line). Rejects with UapiError(errno) when the daemon refuses it.
   */
  async set(body: SetOperation | string): Promise<void> {
    const text = typeof body === 'string' ? normalizeSetText(body) : formatSetRequest(body);
    const reply = await this.#request(text);
    const m = /^errno=(-?[0-9]{1,10})\n\n$/.exec(reply);
    if (!m) throw new UapiError(EPROTO, 'malformed set reply');
    const errno = Math.abs(Number(m[1]));
    if (errno !== 0) throw new UapiError(errno, `daemon refused the set request: errno ${errno}`);
  }

  close(): void {
    this.#sock.destroy();
  }

  #request(text: string): Promise<string> {
    const run = this.#queue.then(() => this.#exchange(text));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** #request for tunvpn's extensions, whose text values are UTF-8 (the socket is read as latin1, a char a byte). */
  async #requestUtf8(text: string): Promise<string> {
    return Buffer.from(await this.#request(text), 'latin1').toString('utf8');
  }

  /** Throws the connection's failure, if it has failed. (A method, so the check is fresh after every await.) */
  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure;
  }

  async #exchange(text: string): Promise<string> {
    this.#throwIfFailed();
    this.#sock.write(text);
    const timer = setTimeout(() => this.#fail(new UapiError(EIO, 'timed out waiting for the daemon')), this.#timeoutMs);
    try {
      for (;;) {
        const end = replyEnd(this.#buffer);
        if (end >= 0) {
          const reply = this.#buffer.slice(0, end);
          this.#buffer = this.#buffer.slice(end);
          return reply;
        }
        this.#throwIfFailed();
        await new Promise<void>((resolve, reject) => {
          this.#waiter = (err) => (err ? reject(err) : resolve());
        });
      }
    } finally {
      clearTimeout(timer);
      this.#waiter = undefined;
    }
  }

  #wake(err: Error | undefined): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.(err);
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    this.#sock.destroy();
    this.#wake(this.#failure);
  }
}

/** Index just past a complete reply (ends with an empty line) in `buf`, or -1. */
function replyEnd(buf: string): number {
  if (buf.startsWith('\n')) return 1;
  const i = buf.indexOf('\n\n');
  return i < 0 ? -1 : i + 2;
}

function normalizeSetText(text: string): string {
  let body = text.startsWith('set=1\n') ? text.slice('set=1\n'.length) : text;
  body = body.replace(/\n+$/, '');
  return body === '' ? 'set=1\n\n' : `set=1\n${body}\n\n`;
}

/** The interfaces with a live UAPI socket in `dir`, sorted by name (stale sockets are skipped). */
export async function listInterfaces(dir = DEFAULT_SOCKET_DIR): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const candidates = names
    .filter((n) => n.endsWith(SOCKET_SUFFIX))
    .map((n) => n.slice(0, -SOCKET_SUFFIX.length))
    .filter((n) => ifnameProblem(n) === undefined);
  const live = await Promise.all(candidates.map(async (n) => ((await isLive(join(dir, n + SOCKET_SUFFIX))) ? n : undefined)));
  return live.filter((n): n is string => n !== undefined).sort();
}

/** Connect, run `fn`, always close. */
export async function withClient<T>(iface: string, opts: UapiClientOptions, fn: (c: UapiClient) => Promise<T>): Promise<T> {
  const c = await UapiClient.connect(iface, opts);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/**
 * Ask the daemon serving `iface` to exit the way wg-quick does for userspace implementations: delete its socket
 * file (the server notices and emits 'removed'). Returns false when there was no socket.
 */
export async function removeSocket(iface: string, dir = DEFAULT_SOCKET_DIR): Promise<boolean> {
  const path = socketPath(iface, dir);
  const st = await lstat(path).catch(() => undefined);
  if (!st) return false;
  if (!st.isSocket()) throw new Error(`${path} is not a socket; not removing it`);
  await unlink(path);
  return true;
}
