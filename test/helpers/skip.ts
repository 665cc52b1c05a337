/**
 * The one "skip with reason" helper: a test group states what it needs (root, the native addon, commands on PATH,
 * files), and runs, or is listed as skipped with the reason in its title, so a skipped test never passes silently.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { onPath } from '../../src/lab/exec.js';
import { loadAddon as native } from '../../src/native/load.js';

export { onPath };

export interface Needs {
  /** Needs uid 0 (namespaces, TUN devices, SO_MARK). */
  root?: boolean;
  /** Needs the built native addon. */
  addon?: boolean;
  /** Commands that must be on PATH. */
  commands?: readonly string[];
  /** Files that must exist (e.g. /dev/net/tun, a built dist/ file). */
  files?: readonly string[];
}

/** Why this environment cannot run tests with these needs, or undefined when it can. */
export function skipReason(needs: Needs): string | undefined {
  if (needs.root && process.getuid?.() !== 0) return 'needs root';
  if (needs.addon) {
    try {
      native();
    } catch (e) {
      return `native addon unavailable: ${(e as Error).message}`;
    }
  }
  const missingFiles = (needs.files ?? []).filter((f) => !existsSync(f));
  if (missingFiles.length) return `missing ${missingFiles.join(', ')}`;
  const missing = (needs.commands ?? []).filter((c) => !onPath(c));
  return missing.length ? `missing tools: ${missing.join(', ')}` : undefined;
}

type Impl = (t: ExecutionContext) => void | Promise<void>;

/**
 * A test function that runs the test (serially unless `concurrent`) when `why` is undefined, and otherwise
 * declares it skipped with "[skipped: why]" in its title.
 */
export function testWhen(why: string | undefined, opts: { concurrent?: boolean } = {}): (title: string, fn: Impl) => void {
  return (title, fn) => {
    if (why !== undefined) test.skip(`${title} [skipped: ${why}]`, fn);
    else if (opts.concurrent) test(title, fn);
    else test.serial(title, fn);
  };
}
