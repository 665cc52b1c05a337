/**
 * iperf3 between the lab's ends: a one-shot server (`iperf3 -s -1`) in one namespace, a JSON client (`-J`) in
 * another (--forceflush: its "Server listening" line is the ready signal), and pure parsers for the client's JSON
 * (TCP and UDP tests).
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

/** What the receiver of a UDP test saw (iperf3's end.sum_received; older iperf3 versions report it in end.sum only). */
export interface IperfUdpResult {
  /** Datagrams that arrived: the receiver's count minus the ones it found missing. */
  packets: number;
  /** Datagrams the receiver found missing (gaps in the sequence numbers), including the sender's own drops. */
  lostPackets: number;
  /** lostPackets / (packets + lostPackets), 0..1. */
  lossRate: number;
  /** Datagrams the sender handed to its socket (end.sum_sent.packets); undefined when not reported. */
  sentPackets: number | undefined;
  /** Payload bytes that arrived. */
  bytes: number;
  /** Seconds the receiver measured. */
  seconds: number;
  /** Payload goodput, bits per second. */
  bitsPerSecond: number;
  /** UDP payload bytes per datagram (-l). */
  length: number;
}

export interface IperfOptions {
  /** Test length, seconds. */
  duration: number;
  /** Parallel streams (-P). */
  parallel?: number;
  /** Server sends, client receives (-R). */
  reverse?: boolean;
}

export interface IperfUdpOptions {
  /** Test length, seconds. */
  duration: number;
  /** UDP payload bytes per datagram (-l), 16..65507 (iperf3 needs room for its own 16-byte header). */
  length: number;
  /** Target bits per second of payload (-b); 0 = as fast as the sender can (the default). */
  bitsPerSecond?: number;
}

/** iperf3's limits on -l for UDP: its own header, and the largest IPv4 UDP payload. */
const UDP_LENGTH_MIN = 16;
const UDP_LENGTH_MAX = 65_507;

/** Port of the lab's iperf3 server (iperf3's default). */
export const IPERF_PORT = 5201;
const SERVER_READY_TIMEOUT_MS = 10_000;
/** Slack beyond the test duration before the client is killed (ms): connect, handshake, final exchange. */
const CLIENT_SLACK_MS = 30_000;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (o: Json, key: string): number | undefined => (typeof o[key] === 'number' && Number.isFinite(o[key]) ? (o[key]) : undefined);

/**
 * The top object of `iperf3 -J` output and its start.test_start (empty when absent). Throws when the text is not a
 * JSON object, or with iperf3's own error text when the test failed.
 */
function iperfDocument(text: string): { doc: Json; test: Json } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`iperf3: output is not JSON: ${text.trim().slice(0, 200)}`);
  }
  if (!isObj(doc)) throw new Error('iperf3: JSON output is not an object');
  if (typeof doc.error === 'string') throw new Error(`iperf3: ${doc.error}`);
  const start = isObj(doc.start) ? doc.start : {};
  return { doc, test: isObj(start.test_start) ? start.test_start : {} };
}

/** Parses `iperf3 -J` output; throws with iperf3's own error text when the test failed. */
export function parseIperfJson(text: string): IperfResult {
  const { doc, test } = iperfDocument(text);
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

/** Parses the JSON of a UDP `iperf3 -u -J` client run; throws with iperf3's own error text when the test failed. */
export function parseIperfUdpJson(text: string): IperfUdpResult {
  const { doc, test } = iperfDocument(text);
  if (test.protocol !== undefined && test.protocol !== 'UDP') throw new Error(`iperf3: a UDP test expected, got ${typeof test.protocol === 'string' ? test.protocol : JSON.stringify(test.protocol)}`);
  const end = doc.end;
  // The receiver's side: sum_received (iperf 3.12 has it); older versions put it in sum only.
  const recv = isObj(end) ? (isObj(end.sum_received) ? end.sum_received : isObj(end.sum) ? end.sum : undefined) : undefined;
  if (!recv) throw new Error('iperf3: JSON has no end.sum_received or end.sum (UDP test expected)');
  const total = num(recv, 'packets');
  const lost = num(recv, 'lost_packets');
  const bytes = num(recv, 'bytes');
  const seconds = num(recv, 'seconds');
  if (total === undefined || lost === undefined || bytes === undefined || seconds === undefined) {
    throw new Error('iperf3: UDP receiver summary lacks packets, lost_packets, bytes or seconds');
  }
  // The receiver's `packets` is the highest sequence number seen: what arrived plus what it found missing.
  const packets = Math.max(0, total - lost);
  const sent = isObj(end) && isObj(end.sum_sent) ? num(end.sum_sent, 'packets') : undefined;
  return {
    packets,
    lostPackets: lost,
    lossRate: total > 0 ? lost / total : 0,
    sentPackets: sent,
    bytes,
    seconds,
    bitsPerSecond: seconds > 0 ? (bytes * 8) / seconds : 0,
    length: num(test, 'blksize') ?? 0,
  };
}

/** Starts a one-shot server in `serverNs`, runs the client in `clientNs` against `serverAddr`, returns the result. */
export async function runIperf(procs: ProcessSet, serverNs: string, clientNs: string, serverAddr: string, opts: IperfOptions): Promise<IperfResult> {
  const args = ['-t', String(opts.duration)];
  if (opts.parallel !== undefined && opts.parallel > 1) args.push('-P', String(opts.parallel));
  if (opts.reverse) args.push('-R');
  return parseIperfJson(await runClient(procs, serverNs, clientNs, serverAddr, args, opts.duration));
}

/** As runIperf, a UDP test (`-u -b RATE -l LENGTH`): the client in `clientNs` sends, the server counts. */
export async function runIperfUdp(procs: ProcessSet, serverNs: string, clientNs: string, serverAddr: string, opts: IperfUdpOptions): Promise<IperfUdpResult> {
  if (!Number.isInteger(opts.length) || opts.length < UDP_LENGTH_MIN || opts.length > UDP_LENGTH_MAX) {
    throw new RangeError(`iperf3 UDP length must be ${UDP_LENGTH_MIN}..${UDP_LENGTH_MAX} bytes, got ${opts.length}`);
  }
  const args = ['-u', '-b', String(opts.bitsPerSecond ?? 0), '-l', String(opts.length), '-t', String(opts.duration)];
  return parseIperfUdpJson(await runClient(procs, serverNs, clientNs, serverAddr, args, opts.duration));
}

/** One-shot server, then the JSON client with `testArgs`; returns the client's JSON text (or its error text). */
async function runClient(procs: ProcessSet, serverNs: string, clientNs: string, serverAddr: string, testArgs: string[], duration: number): Promise<string> {
  const server = procs.spawn(serverNs, 'iperf3', ['-s', '-1', '--forceflush', '-p', String(IPERF_PORT)]);
  try {
    await server.waitFor(/Server listening/, SERVER_READY_TIMEOUT_MS);
    const args = ['-c', serverAddr, '-p', String(IPERF_PORT), '-J', ...testArgs];
    const r = await procs.run(clientNs, 'iperf3', args, { timeoutMs: duration * 1000 + CLIENT_SLACK_MS, allowFail: true });
    // iperf3 -J reports failures inside the JSON (and exits 1): prefer that message.
    return r.stdout || r.stderr;
  } finally {
    await server.stop(1000);
  }
}
