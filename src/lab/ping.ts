/** ping(8) from inside a namespace, and pure parsers for its summary and its per-reply lines. */
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
/** A reply line: "64 bytes from 10.0.0.2: icmp_seq=3 ttl=63 time=0.412 ms" (busybox: "time=0.412 ms" too). */
const REPLY_RE = /^\d+ bytes from .*\btime[=<]([\d.]+) ?ms/gm;

/** A ping run with every reply's round-trip time. */
export interface PingReplies extends PingResult {
  /** Round-trip time of each reply, ms, in the order they came. */
  rttsMs: number[];
}

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

/** The round-trip times (ms) of the reply lines of ping's output (without -q), in order. Duplicates count. */
export function parsePingReplies(output: string): number[] {
  return [...output.matchAll(REPLY_RE)].map((m) => Number(m[1]));
}

/**
 * Counts the pings that were meant to go out but did not (ping interrupted at its deadline, e.g. stalled on a full
 * TUN queue) as lost: transmitted becomes max(planned, transmitted).
 */
export function againstPlanned<T extends PingResult>(r: T, planned: number): T {
  const transmitted = Math.max(planned, r.transmitted);
  return { ...r, transmitted, loss: transmitted === 0 ? 1 : (transmitted - r.received) / transmitted };
}

/**
 * `ping -c COUNT -i 0.1 -q DEST` inside `ns`. Loss is a result, not an error (ping exits 1 then). A ping still
 * running PING_GRACE_S after its schedule (COUNT × 0.1 s + the wait for the last reply) is interrupted with SIGINT,
 * which makes it print its summary; the pings it did not send count as lost (againstPlanned).
 */
export async function ping(procs: ProcessSet, ns: string, dest: string, count: number): Promise<PingResult> {
  return againstPlanned(parsePing(await runPing(procs, ns, dest, count, true)), count);
}

/** As ping(), without -q: every reply's RTT as well (for medians and percentiles). */
export async function pingReplies(procs: ProcessSet, ns: string, dest: string, count: number): Promise<PingReplies> {
  const out = await runPing(procs, ns, dest, count, false);
  return againstPlanned({ ...parsePing(out), rttsMs: parsePingReplies(out) }, count);
}

/** Seconds a ping may overrun its schedule before SIGINT, and then before SIGKILL. */
const PING_GRACE_S = 3;
const PING_KILL_AFTER_S = 3;

async function runPing(procs: ProcessSet, ns: string, dest: string, count: number, quiet: boolean): Promise<string> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`ping count must be a positive integer, got ${count}`);
  const args = ['-n', ...(quiet ? ['-q'] : []), '-c', String(count), '-i', String(PING_INTERVAL_S), '-W', String(PING_WAIT_S), dest];
  const proc = procs.spawn(ns, 'ping', args);
  let kill: NodeJS.Timeout | undefined;
  const interrupt = setTimeout(() => {
    proc.child.kill('SIGINT');
    kill = setTimeout(() => proc.child.kill('SIGKILL'), PING_KILL_AFTER_S * 1000);
  }, (count * PING_INTERVAL_S + PING_WAIT_S + PING_GRACE_S) * 1000);
  const r = await proc.exited;
  clearTimeout(interrupt);
  clearTimeout(kill);
  if (r.code !== 0 && r.code !== 1) throw new Error(`ping ${dest} in ${ns} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
  return r.stdout;
}
