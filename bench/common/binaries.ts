/** Finding the programs the bench runs, and the version line of the wireguard-go it compares against. */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { onPath } from '../../src/lab/index.js';

const VERSION_TIMEOUT_MS = 10_000;

/** Whether `nameOrPath` can be run: a path (with a '/') must be executable, a bare name must be on $PATH. */
export function runnable(nameOrPath: string): boolean {
  if (!nameOrPath.includes('/')) return onPath(nameOrPath);
  try {
    accessSync(nameOrPath, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first non-empty line of `binary --version` ("wireguard-go v0.0.20250522"). Throws when it cannot run. */
export function versionLine(binary: string): string {
  const out = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: VERSION_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  return firstLine(out);
}

/** The first non-empty line of a text, trimmed ('' when there is none). */
export function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
}

/** Root and the measuring tools, or a line saying what is missing. */
export function checkLabTools(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (it creates network namespaces)';
  for (const tool of ['iperf3', 'ping', 'wg']) {
    if (!onPath(tool)) {
      const pkg = { ping: 'iputils-ping', wg: 'wireguard-tools', iperf3: 'iperf3' }[tool];
      return `${tool} is not installed (Debian/Ubuntu: apt-get install ${pkg})`;
    }
  }
  return undefined;
}

/** The first line of the wireguard-go binary's --version, or undefined when it cannot run. */
export function wireguardGoVersion(binary: string): string | undefined {
  if (!runnable(binary)) return undefined;
  try {
    return versionLine(binary);
  } catch {
    return undefined;
  }
}
