/**
 * Helpers for integration tests that build network namespaces. Every namespace a test makes gets a name unique to
 * this run and is deleted in teardown, also when the test fails. Shelling out to `ip` is fine here (tests only).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { ExecutionContext } from 'ava';

/** How long a process gets to exit on SIGTERM at teardown before SIGKILL. */
const TEARDOWN_GRACE_MS = 5000;

export const RUN_TAG = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;

/** A namespace name unique to this test run, e.g. "tv-up-1a2b3c4d". */
export function uniqueNs(purpose: string): string {
  return `tv-${purpose}-${RUN_TAG}-${randomBytes(2).toString('hex')}`;
}

export function sh(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    if (opts.allowFail) return '';
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr?.trim() || err.message}`, { cause: e });
  }
}

/** Like sh, without blocking the event loop (use it while other processes of the test must keep running). */
export function shAsync(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

export function ip(ns: string | undefined, ...args: string[]): string {
  return sh('ip', ns ? ['-n', ns, ...args] : args);
}

export function ipJson<T = unknown>(ns: string | undefined, ...args: string[]): T {
  const out = ip(ns, '-j', ...args).trim();
  return (out ? JSON.parse(out) : []) as T;
}

export function nsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

export function deleteNs(name: string): void {
  if (nsExists(name)) sh('ip', ['netns', 'del', name], { allowFail: true });
}

/** Creates a namespace with `ip netns add`, brings its loopback up, and deletes it when the test ends. */
export function makeNs(t: ExecutionContext, purpose: string): string {
  const name = uniqueNs(purpose);
  sh('ip', ['netns', 'add', name]);
  t.teardown(() => deleteNs(name));
  ip(name, 'link', 'set', 'lo', 'up');
  return name;
}

/** Runs a process inside a namespace; it is killed when the test ends. */
export function spawnInNs(t: ExecutionContext, ns: string, cmd: string, args: string[]): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  void closedOf(child);
  // Ask first (a tunvpn daemon then removes its socket and pid file), insist after a grace period.
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), TEARDOWN_GRACE_MS);
    await closedOf(child);
    clearTimeout(timer);
  });
  return child;
}

/** Collects a child's output; `wait(re)` resolves when stdout+stderr so far match. */
export function collect(child: ChildProcess): { text: () => string; wait: (re: RegExp, ms?: number) => Promise<void> } {
  let text = '';
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer) => {
    text += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const wait = (re: RegExp, ms = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output so far:\n${text}`)), ms);
      const check = () => {
        if (re.test(text)) {
          clearTimeout(timer);
          resolve();
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          reject(new Error(`process exited (${child.exitCode ?? child.signalCode}) before ${re}; output:\n${text}`));
        } else waiters.push(check);
      };
      child.once('exit', () => {
        for (const w of waiters.splice(0)) w();
      });
      check();
    });
  return { text: () => text, wait };
}

/**
 * Resolves with the exit code (or signal) once the process has exited AND its output streams are closed, so
 * whatever it printed has been collected ('exit' alone can come before the last output).
 */
export function waitExit(child: ChildProcess, ms = 30_000): Promise<number | string> {
  const closed = closedOf(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('process did not exit')), ms);
    void closed.then((code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

const closedPromises = new WeakMap<ChildProcess, Promise<number | string>>();

/** Registers the close watch at spawn time, so an early close is never missed. */
export function closedOf(child: ChildProcess): Promise<number | string> {
  let p = closedPromises.get(child);
  if (!p) {
    p = new Promise((resolve) => child.once('close', (code, signal) => resolve(code ?? signal!)));
    closedPromises.set(child, p);
  }
  return p;
}
