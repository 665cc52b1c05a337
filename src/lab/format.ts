/** Human-readable numbers for lab output. Pure. */
import type { IperfResult } from './iperf.js';
import type { PingResult } from './ping.js';

const UNITS: ReadonlyArray<[number, string]> = [
  [1e9, 'Gbit/s'],
  [1e6, 'Mbit/s'],
  [1e3, 'kbit/s'],
];

/** 1234567890 → "1.23 Gbit/s". */
export function formatBitsPerSecond(bps: number): string {
  if (!Number.isFinite(bps) || bps < 0) return 'n/a';
  for (const [scale, unit] of UNITS) if (bps >= scale) return `${(bps / scale).toFixed(2)} ${unit}`;
  return `${bps.toFixed(0)} bit/s`;
}

/** "5/5 replies, 0% loss, avg 0.41 ms". */
export function formatPing(r: PingResult): string {
  const rtt = r.avgRttMs === undefined ? 'no RTT' : `avg ${r.avgRttMs.toFixed(2)} ms`;
  return `${r.received}/${r.transmitted} replies, ${Math.round(r.loss * 100)}% loss, ${rtt}`;
}

/** "412.34 Mbit/s over 5.0 s, 3 retransmits". */
export function formatIperf(r: IperfResult): string {
  const retr = r.retransmits === undefined ? '' : `, ${r.retransmits} retransmits`;
  return `${formatBitsPerSecond(r.bitsPerSecond)} over ${r.seconds.toFixed(1)} s${retr}`;
}
