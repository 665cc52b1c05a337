/** Where the bench writes its reports: bench/results/ in the source tree (not committed but for .gitkeep). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/results/ (this file runs from dist/bench/common/). */
export const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

/** Writes `name` under RESULTS_DIR and returns its path. */
export function writeResult(name: string, text: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, name);
  writeFileSync(path, text);
  return path;
}
