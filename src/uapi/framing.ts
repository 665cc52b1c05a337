/**
 * Splits a UAPI byte stream into requests. A connection carries any number of requests, one after another:
 *   get=1\n\n                      → { kind: 'get' }
 *   set=1\n key=value\n ... \n     → { kind: 'set', lines }  (lines without the terminating empty line)
 *   stats=1\n\n                    → { kind: 'stats' }  (tunvpn's extension: device counters; wg never sends it)
 *   reload=1\n\n                   → { kind: 'reload' } (tunvpn's extension: re-read the configuration file)
 *   mesh=1\n\n                     → { kind: 'mesh' }   (tunvpn's extension: the mesh's members, mesh-format.ts)
 *   vtep=1\n key=value\n ... \n    → { kind: 'vtep', lines } (tunvpn's extension: a vxlan follows the mesh)
 * Anything else is a framing error, after which the stream cannot be trusted: the server replies and closes.
 *
 * Bounds: a line longer than MAX_LINE_BYTES or a set request larger than MAX_REQUEST_BYTES is a framing error,
 * so a hostile client costs at most about MAX_REQUEST_BYTES of memory. Bytes are read as latin1, so any byte
 * sequence decodes; the value validators reject everything that is not plain ASCII.
 */
import { EINVAL, EIO, EPROTO } from './errors.js';

/** Longest accepted line, in bytes, without its '\n'. Real lines are under 100 bytes. */
export const MAX_LINE_BYTES = 4096;
/** Largest accepted set request, in bytes (about 50,000 peers with a few allowed IPs each). */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;
/** Most lines in a vtep=1 request (it has three keys). */
export const MAX_VTEP_LINES = 8;

export type Request =
  | { kind: 'get' }
  | { kind: 'stats' }
  | { kind: 'reload' }
  | { kind: 'mesh' }
  | { kind: 'vtep'; lines: string[] }
  | { kind: 'set'; lines: string[] }
  /** The stream is unusable from here on: reply with `errno` for `request` and close the connection. */
  | { kind: 'error'; request: 'get' | 'set'; errno: number; message: string };

type State = 'op' | 'get-end' | 'stats-end' | 'reload-end' | 'mesh-end' | 'set-body' | 'vtep-body' | 'broken';

export class RequestFramer {
  #pending = '';
  #state: State = 'op';
  #lines: string[] = [];
  #requestBytes = 0;

  /** Append received bytes. Call next() until it returns undefined to take the complete requests. */
  push(chunk: Uint8Array): void {
    if (this.#state === 'broken') return;
    this.#pending += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
  }

  /** Whether bytes of an unfinished request are buffered. */
  get midRequest(): boolean {
    return this.#state !== 'op' || this.#pending.length > 0;
  }

  /** The next complete request, a framing error (after which next() returns undefined), or undefined. */
  next(): Request | undefined {
    while (this.#state !== 'broken') {
      const nl = this.#pending.indexOf('\n');
      if (nl < 0) {
        if (this.#pending.length > MAX_LINE_BYTES) return this.#fail(EIO, `line longer than ${MAX_LINE_BYTES} bytes`);
        return undefined;
      }
      if (nl > MAX_LINE_BYTES) return this.#fail(EIO, `line longer than ${MAX_LINE_BYTES} bytes`);
      const line = this.#pending.slice(0, nl);
      this.#pending = this.#pending.slice(nl + 1);
      const req = this.#line(line);
      if (req) return req;
    }
    return undefined;
  }

  #line(line: string): Request | undefined {
    switch (this.#state) {
      case 'op':
        if (line === 'get=1') this.#state = 'get-end';
        else if (line === 'stats=1') this.#state = 'stats-end';
        else if (line === 'reload=1') this.#state = 'reload-end';
        else if (line === 'mesh=1') this.#state = 'mesh-end';
        else if (line === 'vtep=1') {
          this.#state = 'vtep-body';
          this.#lines = [];
        } else if (line === 'set=1') {
          this.#state = 'set-body';
          this.#lines = [];
          this.#requestBytes = 0;
        } else return this.#fail(EPROTO, 'unknown operation (want get=1 or set=1)');
        return undefined;
      case 'get-end':
        if (line !== '') return this.#fail(EINVAL, 'trailing data after get=1', 'get');
        this.#state = 'op';
        return { kind: 'get' };
      case 'stats-end':
        if (line !== '') return this.#fail(EINVAL, 'trailing data after stats=1', 'get');
        this.#state = 'op';
        return { kind: 'stats' };
      case 'reload-end':
        if (line !== '') return this.#fail(EINVAL, 'trailing data after reload=1', 'get');
        this.#state = 'op';
        return { kind: 'reload' };
      case 'mesh-end':
        if (line !== '') return this.#fail(EINVAL, 'trailing data after mesh=1', 'get');
        this.#state = 'op';
        return { kind: 'mesh' };
      case 'vtep-body':
        if (line === '') {
          const lines = this.#lines;
          this.#lines = [];
          this.#state = 'op';
          return { kind: 'vtep', lines };
        }
        if (this.#lines.length >= MAX_VTEP_LINES) return this.#fail(EINVAL, `vtep request longer than ${MAX_VTEP_LINES} lines`);
        this.#lines.push(line);
        return undefined;
      case 'set-body':
        if (line === '') {
          const lines = this.#lines;
          this.#lines = [];
          this.#state = 'op';
          return { kind: 'set', lines };
        }
        this.#requestBytes += line.length + 1;
        if (this.#requestBytes > MAX_REQUEST_BYTES) return this.#fail(EIO, `set request larger than ${MAX_REQUEST_BYTES} bytes`);
        this.#lines.push(line);
        return undefined;
      default:
        return undefined;
    }
  }

  #fail(errno: number, message: string, request: 'get' | 'set' = 'set'): Request {
    this.#state = 'broken';
    this.#pending = '';
    this.#lines = [];
    return { kind: 'error', request, errno, message };
  }
}
