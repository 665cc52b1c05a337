/**
 * iperf3 between the lab's ends: a one-shot server (`iperf3 -s -1`) in one namespace, a JSON client (`-J`) in
 * another (--forceflush: its "Server listening" line is the ready signal), and a pure parser for the client's JSON.
 */
import type { ProcessSet } from './exec.js';

export interface IperfResult {
  /** Receiver-side goodput, bits per second (end.sum_received). */
  bitsPerSecond: number;
  /** Bytes the receiver got. */
  bytes: number;
  /** Seconds the receiver measured. */
  seconds: number;
  /** TCP retransmissions of the sender; undefined when iperf3 did not report them. */
  retransmits: number | undefined;
  streams: number;
  reverse: boolean;
}

export interface IperfOptions {
  /** Test length, seconds. */
  duration: number;
  /** Parallel streams (-P). */
  parallel?: number;
  /** Server sends, client receives (-R). */
  reverse?: boolean;
}

/** Port of the lab's iperf3 server (iperf3's default). */
export const IPERF_PORT = 5201;
const SERVER_READY_TIMEOUT_MS = 10_000;
/** Slack beyond the test duration before the client is killed (ms): connect, handshake, final exchange. */
const CLIENT_SLACK_MS = 30_000;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (o: Json, key: string): number | undefined => (typeof o[key] === 'number' && Number.isFinite(o[key]) ? (o[key]) : undefined);

/** Parses `iperf3 -J` output; throws with iperf3's own error text when the test failed. */
export function parseIperfJson(text: string): IperfResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`iperf3: output is not JSON: ${text.trim().slice(0, 200)}`);
  }
  if (!isObj(doc)) throw new Error('iperf3: JSON output is not an object');
  if (typeof doc.error === 'string') throw new Error(`iperf3: ${doc.error}`);
  const start = isObj(doc.start) ? doc.start : {};
  const test = isObj(start.test_start) ? start.test_start : {};
  const end = doc.end;
  if (!isObj(end) || !isObj(end.sum_received)) throw new Error('iperf3: JSON has no end.sum_received (TCP test expected)');
  const recv = end.sum_received;
  const bitsPerSecond = num(recv, 'bits_per_second');
  const bytes = num(recv, 'bytes');
  const seconds = num(recv, 'seconds');
  if (bitsPerSecond === undefined || bytes === undefined || seconds === undefined) {
    throw new Error('iperf3: end.sum_received lacks bits_per_second, bytes or seconds');
  }
  const sent = isObj(end.sum_sent) ? end.sum_sent : {};
  return {
    bitsPerSecond,
    bytes,
    seconds,
    retransmits: num(sent, 'retransmits'),
    streams: num(test, 'num_streams') ?? 1,
    reverse: num(test, 'reverse') === 1,
  };
}

/** Starts a one-shot server in `serverNs`, runs the client in `clientNs` against `serverAddr`, returns the result. */
export async function runIperf(procs: ProcessSet, serverNs: string, clientNs: string, serverAddr: string, opts: IperfOptions): Promise<IperfResult> {
  const server = procs.spawn(serverNs, 'iperf3', ['-s', '-1', '--forceflush', '-p', String(IPERF_PORT)]);
  try {
    await server.waitFor(/Server listening/, SERVER_READY_TIMEOUT_MS);
    const args = ['-c', serverAddr, '-p', String(IPERF_PORT), '-J', '-t', String(opts.duration)];
    if (opts.parallel !== undefined && opts.parallel > 1) args.push('-P', String(opts.parallel));
    if (opts.reverse) args.push('-R');
    const r = await procs.run(clientNs, 'iperf3', args, { timeoutMs: opts.duration * 1000 + CLIENT_SLACK_MS, allowFail: true });
    // iperf3 -J reports failures inside the JSON (and exits 1): prefer that message.
    return parseIperfJson(r.stdout || r.stderr);
  } finally {
    await server.stop(1000);
  }
}
