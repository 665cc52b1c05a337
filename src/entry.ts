/** What both executables share at their entry: am I the main module, and which version is this. */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Whether the module at `moduleUrl` is the script node was started with (directly or through a bin symlink). */
export function isMainModule(moduleUrl: string): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(moduleUrl);
  } catch {
    return false;
  }
}

/** The version in package.json ("0.1.0"), or "unknown" when it cannot be read. */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * What `--version` prints, the same form for both executables: "tunvpn 0.1.0", "tunvpnd 0.1.0" (no newline).
 */
export function versionLine(program: 'tunvpn' | 'tunvpnd'): string {
  return `${program} ${packageVersion()}`;
}
