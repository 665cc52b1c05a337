/**
 * systemd's service notification protocol (sd_notify(3)), for `Type=notify` units: newline-separated
 * `VARIABLE=value` assignments in one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET ("@..." for an
 * abstract socket). Without $NOTIFY_SOCKET (not started by systemd) every call does nothing.
 *
 *   READY=1     once the interface is up and its sockets bound
 *   RELOADING=1 + MONOTONIC_USEC=…, then READY=1: around a reload
 *   STOPPING=1  when shutdown begins
 *   STATUS=…    a line `systemctl status` shows
 *
 * The datagram is sent by the native addon (Node has no unix datagram sockets): one sendto, nothing kept.
 * A failure to notify is logged, never fatal: the tunnel works the same.
 */
import type { Logger } from '../log.js';
import { nativeNotify as native } from '../native/notify.js';

/** Nanoseconds per microsecond (MONOTONIC_USEC is CLOCK_MONOTONIC in µs; hrtime reads it in ns). */
const NS_PER_US = 1000n;

export type NotifySend = (path: string, data: Uint8Array) => void;

export class ServiceNotifier {
  private readonly socket: string | undefined;

  /** `env` is the process environment; `send` the transport (the addon's by default; tests pass their own). */
  constructor(
    private readonly log: Logger,
    env: NodeJS.ProcessEnv = process.env,
    private readonly send: NotifySend = (path, data) => void native().unixDatagramSend(path, data),
  ) {
    const s = env.NOTIFY_SOCKET;
    this.socket = s !== undefined && s !== '' && (s.startsWith('/') || s.startsWith('@')) ? s : undefined;
  }

  /** Whether a service manager listens (NOTIFY_SOCKET is set). */
  get enabled(): boolean {
    return this.socket !== undefined;
  }

  /** Sends `fields` (e.g. { READY: '1', STATUS: 'wg0 is up' }) as one notification. Returns whether it was sent. */
  notify(fields: Record<string, string>): boolean {
    if (this.socket === undefined) return false;
    const text = Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`).join('\n') + '\n';
    try {
      this.send(this.socket, new TextEncoder().encode(text));
      return true;
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, `could not notify the service manager at ${this.socket}`);
      return false;
    }
  }

  ready(status: string): boolean {
    return this.notify({ READY: '1', STATUS: status });
  }

  reloading(): boolean {
    const usec = process.hrtime.bigint() / NS_PER_US;
    return this.notify({ RELOADING: '1', MONOTONIC_USEC: String(usec), STATUS: 'reloading' });
  }

  stopping(status: string): boolean {
    return this.notify({ STOPPING: '1', STATUS: status });
  }
}
