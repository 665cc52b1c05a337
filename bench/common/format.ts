/** Text the benchmarks share in their reports: fixed-width tables, Gbit/s, and the results' file name stem. */

const BITS_PER_GBIT = 1e9;

/** Bits per second as Gbit/s with three decimals ("1.337"). */
export function formatGbps(bps: number): string {
  return (bps / BITS_PER_GBIT).toFixed(3);
}

/** Fixed-width columns: the first `leftColumns` left-aligned, the rest right-aligned; a dashed rule under row 0. */
export function formatColumns(rows: string[][], leftColumns: number): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
}

/** "2026-01-31T12-00-00Z": the results' file name stem (no ':' in file names). */
export function resultStem(isoDate: string): string {
  return isoDate.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}
