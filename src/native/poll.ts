/** Readiness of raw fds on the Node event loop (native/src/watch.cc): a uv_poll watcher per fd, no threadpool. */
import { loadAddon } from './load.js';

/**
 * A uv_poll watcher on an fd, driven by the Node event loop (no threadpool). One watcher per fd; close the
 * watcher before closing the fd. A started watcher keeps itself (and the event loop) alive until stop()/close().
 * The callback runs in a normal Node callback scope: an exception it throws is an ordinary uncaught exception.
 */
export interface FdWatcher {
  /** Start (or change) watching; events is a mask of POLL_READABLE | POLL_WRITABLE. */
  start(events: number): void;
  /** Stop watching; may be started again. */
  stop(): void;
  /** Stop and release the watcher. Does not close the fd. Idempotent; may be called from inside the callback. */
  close(): void;
}

export interface NativePoll {
  readonly constants: {
    /** libuv's UV_READABLE. */
    POLL_READABLE: number;
    /** libuv's UV_WRITABLE. */
    POLL_WRITABLE: number;
  };
  /** A uv_poll watcher; callback(events) on readiness, or callback(-errno) on a poll error. */
  watch(fd: number, callback: (events: number) => void): FdWatcher;
}

/** The addon's fd watchers; loads the addon on first use (throws when it is not built). */
export function nativePoll(): NativePoll {
  return loadAddon() as NativePoll;
}
