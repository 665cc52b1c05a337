/**
 * The process logger: pino JSON lines, human-readable when stderr is a TTY. Secrets never reach it: private and
 * preshared keys are redacted by path, and public keys are logged abbreviated (see shortKey).
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

const REDACT = ['privateKey', 'presharedKey', '*.privateKey', '*.presharedKey', 'config.interface.privateKey'];

export function createLogger(level = process.env.TUNVPN_LOG_LEVEL ?? 'info', name = 'tunvpn'): Logger {
  const opts = { name, level, redact: { paths: REDACT, censor: '(hidden)' } };
  if (process.stderr.isTTY) {
    return pino(opts, pretty({ sync: true, destination: 2, colorize: true, ignore: 'pid,hostname,name' }));
  }
  return pino(opts, pino.destination({ dest: 2, sync: true }));
}

/** A logger that discards everything: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** "AbCd…WxYz" for a base64 public key, as logs should show it. */
export function shortKey(base64: string): string {
  return base64.length > 8 ? `${base64.slice(0, 4)}…${base64.slice(-5, -1)}` : base64;
}
