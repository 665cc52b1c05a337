/** ping(8) from inside a namespace, and a pure parser for its summary lines. */
import type { ProcessSet } from './exec.js';

export interface PingResult {
  transmitted: number;
  received: number;
  /** 0..1 */
  loss: number;
  /** Mean round-trip time in milliseconds; undefined when nothing came back. */
  avgRttMs: number | undefined;
}

/** Seconds between echo requests (root may go below ping's 1 s default). */
export const PING_INTERVAL_S = 0.1;
/** Seconds to wait for the last reply. */
const PING_WAIT_S = 2;

const COUNTS_RE = /(\d+) packets transmitted, (\d+) (?:packets )?received/;
const RTT_RE = /(?:rtt|round-trip) min\/avg\/max\/(?:mdev|stddev) = ([\d.]+)\/([\d.]+)\/([\d.]+)/;

/** Parses iputils/busybox ping output; throws when the summary line is missing. */
export function parsePing(output: string): PingResult {
  const counts = COUNTS_RE.exec(output);
  if (!counts) throw new Error(`ping: no summary in output:\n${output.trim()}`);
  const transmitted = Number(counts[1]);
  const received = Number(counts[2]);
  const rtt = RTT_RE.exec(output);
  return {
    transmitted,
    received,
    loss: transmitted === 0 ? 1 : (transmitted - received) / transmitted,
    avgRttMs: rtt && received > 0 ? Number(rtt[2]) : undefined,
  };
}

/** `ping -c COUNT -i 0.1 -q DEST` inside `ns`. Loss is a result, not an error (ping exits 1 then). */
export async function ping(procs: ProcessSet, ns: string, dest: string, count: number): Promise<PingResult> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`ping count must be a positive integer, got ${count}`);
  const args = ['-n', '-q', '-c', String(count), '-i', String(PING_INTERVAL_S), '-W', String(PING_WAIT_S), dest];
  const timeoutMs = (count * PING_INTERVAL_S + PING_WAIT_S + 5) * 1000;
  const r = await procs.run(ns, 'ping', args, { timeoutMs, allowFail: true });
  if (r.code !== 0 && r.code !== 1) throw new Error(`ping ${dest} in ${ns} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
  return parsePing(r.stdout);
}
