/**
 * One bench run in a fresh lab: built, used, torn down (also on failure), a failure turned into a reason; and what
 * several benchmarks read from a running lab.
 */
import { Lab, type LabOptions } from '../../src/lab/index.js';
import type { Logger } from '../../src/log.js';

/** How long one `wg` command against a lab daemon may take (ms). */
const WG_TIMEOUT_MS = 10_000;

/** What a run that failed reports: the first line of the error. */
export interface Failed {
  status: 'failed';
  reason: string;
}

/** The first line of an error's message. */
export function firstLineOf(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0] ?? text;
}

/**
 * Builds a lab with `opts`, runs `fn` on it and disposes of it whatever happens, saying 'building the lab' and
 * 'tearing down' through `say`. Resolves with fn's result marked ok, or with the reason it (or the build) failed;
 * clean-up problems are logged as warnings on `log`, labelled with `label`. Never rejects.
 */
export async function inLab<T extends object>(
  opts: LabOptions & { log: Logger },
  label: string,
  say: (what: string) => void,
  fn: (lab: Lab) => Promise<T>,
): Promise<(T & { status: 'ok' }) | Failed> {
  let lab: Lab | undefined;
  try {
    say('building the lab');
    lab = await Lab.create(opts);
    return { ...(await fn(lab)), status: 'ok' };
  } catch (e) {
    return { status: 'failed', reason: firstLineOf(e) };
  } finally {
    if (lab) {
      say('tearing down');
      const problems = await lab.dispose();
      if (problems.length) opts.log.warn(`${label}: clean-up problems: ${problems.join('; ')}`);
    }
  }
}

/** b's public key (base64), read over its UAPI. */
export async function publicKeyOfB(lab: Lab): Promise<string> {
  const b = lab.daemons.b;
  if (!b) throw new Error('no daemon at b');
  return (await lab.procs.run(b.ns, 'wg', ['show', b.ifname, 'public-key'], { timeoutMs: WG_TIMEOUT_MS })).stdout.trim();
}
