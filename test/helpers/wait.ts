/** Waiting in tests: poll a condition until it holds (a guard against hangs, never an assertion about time). */

/** Resolves once `cond()` is true; rejects after `ms` milliseconds (a hang turned into a failure). */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
