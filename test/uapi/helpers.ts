/** Shared helpers for the UAPI tests: temp socket dirs, a raw socket conversation, deterministic keys. */
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { encodeHexKey } from '../../src/crypto/keys.js';

export const key = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (seed * 53 + i * 3 + 1) & 0xff);
export const hex = (seed: number) => encodeHexKey(key(seed));

/** A fresh temp directory removed when the test ends (also on failure). */
export async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `tv-uapi-${process.pid}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Write `input` to the unix socket at `path` and collect what comes back until the server closes the connection
 * or `replies` replies (each ending in an empty line) have arrived. Never half-closes unless `end` is set.
 */
export function converse(path: string, input: Uint8Array | string, opts: { replies?: number; end?: boolean } = {}): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let text = '';
    let settled = false;
    const finish = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      s.destroy();
      resolve({ text, closedByServer });
    };
    s.setEncoding('latin1');
    s.on('connect', () => (opts.end ? s.end(input) : s.write(input)));
    s.on('data', (d: string) => {
      text += d;
      if (opts.replies !== undefined && text.split('\n\n').length - 1 >= opts.replies) finish(false);
    });
    s.on('end', () => finish(true));
    s.on('close', () => finish(true));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? finish(true) : reject(e)));
  });
}
