/** Reading the report a helper process (the flooder, the peer simulator) prints as its last line of JSON. */
import type { ExecResult } from '../../src/lab/exec.js';

/**
 * Parses the last line of `outcome.stdout` as JSON of type T (not checked beyond JSON.parse). Throws an Error
 * naming `who`, the exit code or signal and the last three lines of stderr when that line is not JSON.
 */
export function lastJsonLine<T>(outcome: ExecResult, who: string): T {
  const line = outcome.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`${who} printed no report (exit ${outcome.code ?? outcome.signal}): ${outcome.stderr.trim().split('\n').slice(-3).join(' ')}`);
  }
}
