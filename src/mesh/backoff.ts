/**
 * Time and retries for the mesh: the clock everything in mesh/ reads (injected, so tests run without real sleeps)
 * and the one retry mechanism, `Retry`, behind every retry the mesh makes: the agent's re-reads of an unreachable
 * registry, its re-applies of failed device changes, and the service's attempts to build this node's record while
 * the network cannot give what it needs.
 *
 * The n-th retry (n = 0, 1, ...) waits at most d = min(maxMs, initialMs·2^n); with jitter, d/2 + random·d/2.
 */

/** Time for the mesh. */
export interface MeshClock {
  /** Wall clock, ms since the Unix epoch (registeredAt, lease age, timestamps in snapshots). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process's clock: Date.now and the event loop's timers. */
export const systemClock: MeshClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Retry delays, ms: the first retry's ceiling and the largest. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/**
 * The agent's default backoff: 250 ms doubling to 10 s. The ceiling bounds how long after etcd's return a node
 * notices when no 'up' signal comes (its lease was lost meanwhile); 10 s is the default TTL, well inside "TTL + 2 s"
 * for everything that does not depend on etcd's return.
 */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 10_000 };

/** The n-th retry's ceiling, ms: min(maxMs, initialMs·2^n) (n = 0, 1, ...); callers may jitter below it. */
export function backoffCeiling(backoff: Backoff, attempt: number): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
}

export interface RetryOptions {
  clock: MeshClock;
  backoff: Backoff;
  /** Uniform in [0, 1): each delay is d/2 + jitter()·d/2. Absent: each delay is the ceiling d itself. */
  jitter?: () => number;
}

/**
 * One retried operation: `schedule(fn)` runs `fn` once after the next delay of the backoff, `reset()` starts the
 * delays over (after a success), `cancel()` drops the pending run. At most one run is pending: scheduling again
 * replaces it. Runs on the event loop; `fn` must not throw.
 */
export class Retry {
  private timer: unknown;
  private attempt = 0;

  constructor(private readonly opts: RetryOptions) {}

  /** Whether a run is waiting for its delay. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Runs `fn` after the next delay (the attempt count advances), instead of any run pending. Returns the delay, ms. */
  schedule(fn: () => void): number {
    this.cancel();
    const d = backoffCeiling(this.opts.backoff, this.attempt++);
    const delay = this.opts.jitter ? Math.round(d / 2 + this.opts.jitter() * (d / 2)) : d;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      fn();
    }, delay);
    return delay;
  }

  /** Drops the pending run, if any; the attempt count stays. */
  cancel(): void {
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The next delay is the first again (the operation succeeded, or the reason to wait is gone). */
  reset(): void {
    this.attempt = 0;
  }
}

/** `p`, or a rejection "`what` timed out after `ms` ms" if it has not settled by then (on `clock`). */
export function withTimeout<T>(clock: MeshClock, p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const h = clock.setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clock.clearTimeout(h);
        resolve(v);
      },
      (e: unknown) => {
        clock.clearTimeout(h);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
