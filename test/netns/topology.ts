/**
 * The tunnel test topology, inside three namespaces unique to one test, built by the lab's builder
 * (src/lab/topology.ts, the project's netlink) with this test's own names and addresses:
 *
 *     [ns a]                              [ns b]                                  [ns c]
 *     tunnel IFACE_A 10.213.R.1/32        tunnel IFACE_B 10.213.R.2/32
 *     veth va 172.31.X.1/30 ===veth=== vb 172.31.X.2/30
 *                                         vl 10.R.S.1/24  ===========veth========= vc 10.R.S.2/24
 *                                         ip_forward = 1                          default via 10.R.S.1
 *
 *   a's peer (b): Endpoint 172.31.X.2:PORT_B, AllowedIPs 10.213.R.2/32, 10.R.S.0/24 (or 0.0.0.0/0: full tunnel)
 *   b's peer (a): no Endpoint (learned from a's first packet), AllowedIPs 10.213.R.1/32
 *
 * Each tunnel end runs tunvpn (`tunvpn up IFACE.conf`) or wireguard-go (+ `wg setconf`, addresses and routes by
 * `ip`). Interface names are `tv<6 hex>a|b`, unique per topology, because the UAPI socket directory
 * /var/run/wireguard is shared by every namespace. Everything is undone in t.teardown: daemons stopped (SIGTERM,
 * then SIGKILL), namespaces deleted, the temp dir (configs with private keys, mode 600) removed, and the socket
 * directory checked for sockets of this topology.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { encodeKey, generatePresharedKey } from '../../src/crypto/keys.js';
import { makeKeys, type EndKeys } from '../../src/lab/configs.js';
import type { NamespacePlan } from '../../src/lab/plan.js';
import { buildTopology as buildNamespaces } from '../../src/lab/topology.js';
import { silentLogger } from '../../src/log.js';
import { collect, deleteNs, ip, uniqueNs } from './harness.js';
import { systemRng } from '../../src/crypto/random.js';

export type Impl = 'tunvpn' | 'wireguard-go';
export type End = 'a' | 'b';
export const ENDS: readonly End[] = ['a', 'b'];

/** The tunvpn CLI, compiled next to this file's compiled form (dist/test/netns → dist/src/cli). */
export const TUNVPN_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** Where every userspace WireGuard implementation puts its UAPI socket (shared by all namespaces). */
export const SOCKET_DIR = '/var/run/wireguard';
/** tunvpn's pid files. */
export const PID_DIR = '/run/tunvpn';

/** How long a daemon gets to come up (ms): node start-up and addon load on a loaded 2-core CI box. */
const START_TIMEOUT_MS = 30_000;
/** How long a daemon gets to exit after SIGTERM (ms) before SIGKILL. */
const STOP_TIMEOUT_MS = 15_000;
/** Poll interval (ms) while waiting for a daemon's socket or log line. */
const POLL_MS = 50;
/** Default timeout (ms) for one command run by `run`. */
const RUN_TIMEOUT_MS = 30_000;
/** Output kept from one command run by `run` (bytes); iperf3 -J documents are tens of KiB. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const SECRET_FILE_MODE = 0o600;
const TUNNEL_MTU = 1420;
const PORT_A = 51_001;
const PORT_B = 51_002;
/** The second octet of the tunnel addresses; the LAN's second octet is anything else. */
const TUNNEL_OCTET = 213;
/** The underlay a ⇄ b is a /30; the LAN b ⇄ c a /24. */
const UNDERLAY_PREFIX = 30;
const LAN_PREFIX = 24;

/** What every tunnel test needs besides its tools: the TUN device and the built CLI. */
export const TUNVPN_FILES = ['/dev/net/tun', TUNVPN_MAIN];

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command inside namespace `ns` (or in the test's own namespace when ns is undefined) without blocking the
 * event loop, so concurrent tests and the daemons' output collectors keep running. Never throws on a non-zero
 * exit: callers assert on `code`.
 */
export function run(ns: string | undefined, cmd: string, args: string[], timeoutMs = RUN_TIMEOUT_MS): Promise<RunResult> {
  const [file, argv] = ns ? ['ip', ['netns', 'exec', ns, cmd, ...args]] : [cmd, args];
  return new Promise((resolve) => {
    execFile(file, argv, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES }, (err, stdout, stderr) => {
      // err.code is the exit status, or a string (ENOENT, ...) when the command did not run; null when killed.
      const status = (err as { code?: unknown } | null)?.code;
      const code = err === null ? 0 : typeof status === 'number' ? status : null;
      resolve({ code, stdout, stderr: stderr || (code === null && err ? err.message : '') });
    });
  });
}

export interface TopologyOptions {
  /** Short word in the namespace names, e.g. "ping". */
  purpose: string;
  /** Adds the same PresharedKey to both ends. */
  presharedKey?: boolean;
  /** a's peer gets AllowedIPs = 0.0.0.0/0 (wg-quick Table = auto: fwmark, table, rules). */
  fullTunnel?: boolean;
}

export interface Topology {
  readonly tag: string;
  readonly ns: Record<'a' | 'b' | 'c', string>;
  /** Tunnel interface names. */
  readonly ifname: Record<End, string>;
  /** Underlay veth names: a's (va) and b's (vb). */
  readonly veth: { a: string; b: string; lanB: string; c: string };
  readonly underlay: Record<End, string>;
  /** The /30 the underlay addresses share, e.g. "172.31.7.0". */
  readonly underlayNet: string;
  readonly lan: { prefix: string; b: string; c: string };
  readonly tunnel: Record<End, string>;
  readonly port: Record<End, number>;
  readonly keys: Record<End, EndKeys>;
  /** Private temp dir with the config files. */
  readonly dir: string;
  /** wg-quick files (IFACE.conf) and `wg setconf` files (IFACE.wg). */
  readonly quickConf: Record<End, string>;
  readonly wgConf: Record<End, string>;
  /** AllowedIPs of each end's peer. */
  readonly allowed: Record<End, string[]>;
  readonly daemons: Partial<Record<End, Daemon>>;
}

export interface Daemon {
  impl: Impl;
  ns: string;
  ifname: string;
  child: ChildProcess;
  /** The daemon's own pid: `ip netns exec` and `env` exec it, so this is the child's pid. */
  pid: number;
  output: () => string;
}

/**
 * Builds the three namespaces, the veths and addresses, and the config files; registers the teardown first, so a
 * build that fails half-way is undone too.
 */
export async function buildTopology(t: ExecutionContext, opts: TopologyOptions): Promise<Topology> {
  const tag = randomBytes(3).toString('hex');
  const r = randomInt(1, 254);
  const s = randomInt(1, 254);
  const lanOctet = r === TUNNEL_OCTET ? r + 1 : r;
  const x = randomInt(0, 256);
  const base = uniqueNs(opts.purpose);
  const ns = { a: `${base}-a`, b: `${base}-b`, c: `${base}-c` };
  const ifname = { a: `tv${tag}a`, b: `tv${tag}b` };
  const keys = { a: makeKeys(), b: makeKeys() };
  const allowed = {
    a: opts.fullTunnel ? ['0.0.0.0/0'] : [`10.${TUNNEL_OCTET}.${r}.2/32`, `10.${lanOctet}.${s}.0/24`],
    b: [`10.${TUNNEL_OCTET}.${r}.1/32`],
  };
  const dir = mkdtempSync(join(tmpdir(), `tv-${opts.purpose}-${tag}-`));
  const topo: Topology = {
    tag,
    ns,
    ifname,
    veth: { a: 'va', b: 'vb', lanB: 'vl', c: 'vc' },
    underlay: { a: `172.31.${x}.1`, b: `172.31.${x}.2` },
    underlayNet: `172.31.${x}.0`,
    lan: { prefix: `10.${lanOctet}.${s}.0/24`, b: `10.${lanOctet}.${s}.1`, c: `10.${lanOctet}.${s}.2` },
    tunnel: { a: `10.${TUNNEL_OCTET}.${r}.1`, b: `10.${TUNNEL_OCTET}.${r}.2` },
    port: { a: PORT_A, b: PORT_B },
    keys,
    dir,
    quickConf: { a: join(dir, `${ifname.a}.conf`), b: join(dir, `${ifname.b}.conf`) },
    wgConf: { a: join(dir, `${ifname.a}.wg`), b: join(dir, `${ifname.b}.wg`) },
    allowed,
    daemons: {},
  };
  // Registered first, so it runs last (ava runs teardowns in reverse order): after the daemons have stopped.
  t.teardown(() => {
    for (const name of Object.values(ns)) deleteNs(name);
    rmSync(dir, { recursive: true, force: true });
  });
  t.teardown(() => teardownDaemons(topo));

  const v = topo.veth;
  const plan: NamespacePlan = {
    ns,
    links: { aToB: v.a, bToA: v.b, bToC: v.lanB, cToB: v.c },
    underlay: { ...topo.underlay, prefix: UNDERLAY_PREFIX },
    lan: { subnet: topo.lan.prefix.split('/')[0]!, b: topo.lan.b, c: topo.lan.c, prefix: LAN_PREFIX },
  };
  await buildNamespaces(plan, silentLogger, () => undefined);

  writeConfigs(topo, opts);
  return topo;
}

function writeConfigs(topo: Topology, opts: TopologyOptions): void {
  const psk = opts.presharedKey ? encodeKey(generatePresharedKey(systemRng)) : undefined;
  for (const end of ENDS) {
    const other: End = end === 'a' ? 'b' : 'a';
    const iface = [`PrivateKey = ${topo.keys[end].privateKey}`, `ListenPort = ${topo.port[end]}`];
    const peer = ['[Peer]', `PublicKey = ${topo.keys[other].publicKey}`, `AllowedIPs = ${topo.allowed[end].join(', ')}`];
    if (psk) peer.push(`PresharedKey = ${psk}`);
    if (end === 'a') peer.push(`Endpoint = ${topo.underlay.b}:${topo.port.b}`);
    const quick = ['[Interface]', `Address = ${topo.tunnel[end]}/32`, `MTU = ${TUNNEL_MTU}`, ...iface, '', ...peer];
    const stripped = ['[Interface]', ...iface, '', ...peer];
    writeFileSync(topo.quickConf[end], `${quick.join('\n')}\n`, { mode: SECRET_FILE_MODE, flag: 'wx' });
    writeFileSync(topo.wgConf[end], `${stripped.join('\n')}\n`, { mode: SECRET_FILE_MODE, flag: 'wx' });
  }
}

/** Starts one tunnel end and resolves once it carries traffic configuration (link up, addresses, routes). */
/** `upArgs` are extra `tunvpn up` options (e.g. --metrics), for impl tunvpn. */
export function startEnd(topo: Topology, end: End, impl: Impl = 'tunvpn', upArgs: string[] = []): Promise<Daemon> {
  return impl === 'tunvpn' ? startTunvpn(topo, end, upArgs) : startWireguardGo(topo, end);
}

function spawnDaemon(topo: Topology, end: End, impl: Impl, cmd: string, args: string[]): Daemon {
  const ns = topo.ns[end];
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = collect(child);
  const daemon: Daemon = { impl, ns, ifname: topo.ifname[end], child, pid: child.pid!, output: out.text };
  topo.daemons[end] = daemon;
  return daemon;
}

async function startTunvpn(topo: Topology, end: End, upArgs: string[]): Promise<Daemon> {
  const daemon = spawnDaemon(topo, end, 'tunvpn', process.execPath, [TUNVPN_MAIN, 'up', ...upArgs, topo.quickConf[end]]);
  const ready = new RegExp(`${daemon.ifname} is up`);
  await waitFor(() => ready.test(daemon.output()), () => {
    if (exited(daemon.child)) throw new Error(`tunvpn exited (${daemon.child.exitCode ?? daemon.child.signalCode}) before ${ready}`);
  }, `${ready} from tunvpn`).catch((e: Error) => {
    throw new Error(`${e.message}; output:\n${daemon.output()}`);
  });
  return daemon;
}

async function startWireguardGo(topo: Topology, end: End): Promise<Daemon> {
  const ifname = topo.ifname[end];
  const ns = topo.ns[end];
  const daemon = spawnDaemon(topo, end, 'wireguard-go', 'env', ['WG_PROCESS_FOREGROUND=1', 'LOG_LEVEL=error', 'wireguard-go', ifname]);
  await waitFor(() => existsSync(socketPath(ifname)), () => {
    if (exited(daemon.child)) throw new Error(`wireguard-go exited before creating its socket:\n${daemon.output()}`);
  }, `wireguard-go socket ${socketPath(ifname)}`);
  const set = await run(ns, 'wg', ['setconf', ifname, topo.wgConf[end]]);
  if (set.code !== 0) throw new Error(`wg setconf failed: ${set.stderr}`);
  ip(ns, 'addr', 'add', `${topo.tunnel[end]}/32`, 'dev', ifname);
  ip(ns, 'link', 'set', 'dev', ifname, 'mtu', String(TUNNEL_MTU), 'up');
  for (const dst of topo.allowed[end]) ip(ns, 'route', 'add', dst, 'dev', ifname);
  return daemon;
}

export function socketPath(ifname: string): string {
  return join(SOCKET_DIR, `${ifname}.sock`);
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Polls `cond` every 50 ms until true; `check` may throw to abort early. */
export async function waitFor(cond: () => boolean, check: () => void, what: string, ms = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    check();
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** SIGTERM, then waits for the exit; SIGKILL when it does not come. Resolves with the exit code or signal. */
export async function stopDaemon(daemon: Daemon): Promise<number | string> {
  const { child } = daemon;
  if (!exited(child)) {
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS).unref());
    if ((await Promise.race([done, timer])) === 'timeout') {
      child.kill('SIGKILL');
      await done;
    }
  }
  return child.exitCode ?? child.signalCode!;
}

/** Sockets and pid files this topology's interfaces left in the shared directories. */
export function leftovers(topo: Topology): string[] {
  const mine = (f: string) => f.startsWith(`tv${topo.tag}`);
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter(mine).map((f) => join(dir, f)) : []);
  return [...list(SOCKET_DIR), ...list(PID_DIR)];
}

async function teardownDaemons(topo: Topology): Promise<void> {
  const daemons = Object.values(topo.daemons).filter((d): d is Daemon => d !== undefined);
  const codes = await Promise.all(daemons.map(stopDaemon));
  const left = leftovers(topo);
  for (const path of left) unlinkSync(path);
  // A daemon that exited cleanly (0) must not leave its socket or pid file behind; fail the test if it did.
  const clean = codes.every((c) => c === 0);
  if (left.length && clean) throw new Error(`daemons left files behind after a clean exit: ${left.join(', ')}`);
}

/** VmRSS of a process, in kibibytes. */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---- traffic -------------------------------------------------------------------------------------------------

/** Seconds between pings, and at most per reply. */
const PING_INTERVAL_S = 0.2;
const PING_WAIT_S = 2;
/** Seconds a ping run may last beyond its sending time (`-w`), so late replies still count. */
const PING_SLACK_S = 4;

export interface PingResult {
  transmitted: number;
  received: number;
  output: string;
}

/** Reads ping's summary line ("N packets transmitted, M received"); both 0 when it is missing. */
function pingResult(r: RunResult): PingResult {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { transmitted: m ? Number(m[1]) : 0, received: m ? Number(m[2]) : 0, output: r.stdout + r.stderr };
}

/**
 * `ping -c COUNT -i 0.2 -W 2 -w DEADLINE DST` inside `ns`. The deadline makes ping wait for every reply (up to
 * COUNT × 0.2 + 4 s) instead of leaving soon after the last request, so a reply delayed by a busy CI box is not
 * miscounted as lost.
 */
export async function ping(ns: string, dst: string, count = 3, extra: string[] = []): Promise<PingResult> {
  const deadline = Math.ceil(count * PING_INTERVAL_S + PING_SLACK_S);
  const args = ['-n', '-c', String(count), '-i', String(PING_INTERVAL_S), '-W', String(PING_WAIT_S), '-w', String(deadline), ...extra, dst];
  return pingResult(await run(ns, 'ping', args, (deadline + PING_SLACK_S) * 1000));
}

/**
 * The routed subnet works both ways: a reaches b's tunnel address and c on the LAN behind b, and c reaches a back
 * through the tunnel; every ping gets its reply. Call after the first handshake (pingUntilReply).
 */
export async function assertPingsAcross(t: ExecutionContext, topo: Topology, count = 3): Promise<void> {
  for (const [from, to] of [[topo.ns.a, topo.tunnel.b], [topo.ns.a, topo.lan.c], [topo.ns.c, topo.tunnel.a]] as const) {
    const r = await ping(from, to, count);
    t.is(r.received, count, `${from} → ${to}:\n${r.output}`);
  }
}

/**
 * Pings `dst` from `ns` every 0.2 s until one reply comes (the first may wait for a handshake), for at most
 * `deadlineS` seconds. A slow reply lets a second request be in flight, so more than one can come back: callers
 * check `received >= 1`.
 */
export async function pingFirstReply(ns: string, dst: string, deadlineS: number): Promise<PingResult> {
  return pingResult(await run(ns, 'ping', ['-n', '-c', '1', '-i', String(PING_INTERVAL_S), '-w', String(deadlineS), dst], (deadlineS + 10) * 1000));
}

/** Pings `dst` once at a time, up to `tries` times, until a reply comes; returns the try that got it. Throws otherwise. */
export async function pingUntilReply(ns: string, dst: string, tries = 5): Promise<number> {
  let last = '';
  for (let i = 1; i <= tries; i++) {
    const r = await ping(ns, dst, 1);
    if (r.received >= 1) return i;
    last = r.output;
  }
  throw new Error(`no reply from ${dst} in ${ns} after ${tries} pings:\n${last}`);
}

/** Starts `iperf3 -s` in `ns` and resolves once it listens; killed at teardown. */
export async function iperfServer(t: ExecutionContext, ns: string): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, 'iperf3', '-s', '--forceflush'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(async () => {
    if (!exited(child)) {
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await done;
    }
  });
  await collect(child).wait(/Server listening/, START_TIMEOUT_MS);
  return child;
}

export interface IperfResult {
  sentBitsPerSecond: number;
  receivedBitsPerSecond: number;
  receivedBytes: number;
}

/** `iperf3 -c DST -t SECONDS -J` (plus `-R` for the reverse direction); throws with iperf3's error. */
export async function iperf(ns: string, dst: string, opts: { seconds?: number; reverse?: boolean } = {}): Promise<IperfResult> {
  const args = ['-c', dst, '-t', String(opts.seconds ?? 2), '-J', ...(opts.reverse ? ['-R'] : [])];
  const r = await run(ns, 'iperf3', args, 60_000);
  let doc: { error?: string; end?: { sum_sent?: { bits_per_second: number }; sum_received?: { bits_per_second: number; bytes: number } } };
  try {
    doc = JSON.parse(r.stdout) as typeof doc;
  } catch {
    throw new Error(`iperf3 ${args.join(' ')}: no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
  if (doc.error || !doc.end?.sum_sent || !doc.end.sum_received) throw new Error(`iperf3 ${args.join(' ')}: ${doc.error ?? 'no summary'}`);
  return {
    sentBitsPerSecond: doc.end.sum_sent.bits_per_second,
    receivedBitsPerSecond: doc.end.sum_received.bits_per_second,
    receivedBytes: doc.end.sum_received.bytes,
  };
}

// ---- wg / tunvpn show ----------------------------------------------------------------------------------------

export interface DumpPeer {
  iface: string;
  publicKey: string;
  presharedKey: string;
  endpoint: string;
  allowedIps: string;
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
}

/**
 * `wg show IFACE dump` inside `ns`: the peer lines (the interface line, which carries the private key, is dropped).
 * Per interface, not `all`: the socket directory is shared by every test, and `all` would wait on other tests'
 * daemons (a flooded one answers slowly).
 */
export async function wgDumpPeers(ns: string, ifname: string): Promise<DumpPeer[]> {
  const r = await run(ns, 'wg', ['show', ifname, 'dump']);
  if (r.code !== 0) throw new Error(`wg show ${ifname} dump in ${ns} failed (exit ${r.code}): ${r.stderr}`);
  const peers: DumpPeer[] = [];
  for (const line of r.stdout.split('\n').slice(1)) {
    const f = line.split('\t');
    if (f.length !== 8) continue;
    peers.push({
      iface: ifname,
      publicKey: f[0]!,
      presharedKey: f[1]!,
      endpoint: f[2]!,
      allowedIps: f[3]!,
      latestHandshake: Number(f[4]),
      rxBytes: Number(f[5]),
      txBytes: Number(f[6]),
    });
  }
  return peers;
}

/** `wg show IFACE FIELD` inside `ns` (FIELD: endpoints, allowed-ips, latest-handshakes, ...). */
export async function wgShow(ns: string, ifname: string, field: string): Promise<string> {
  const r = await run(ns, 'wg', ['show', ifname, field]);
  if (r.code !== 0) throw new Error(`wg show ${ifname} ${field}: ${r.stderr}`);
  return r.stdout;
}

/** Waits until `wg show IFACE dump` reports a handshake for `ifname`'s only peer. */
export async function waitHandshake(ns: string, ifname: string, ms = 20_000): Promise<DumpPeer> {
  const deadline = Date.now() + ms;
  for (;;) {
    const [peer] = await wgDumpPeers(ns, ifname);
    if (peer && peer.latestHandshake > 0) return peer;
    if (Date.now() > deadline) throw new Error(`no handshake on ${ifname} in ${ns} after ${ms} ms`);
    await sleep(200);
  }
}

/** The parts of `tunvpn show IFACE --json` the tests read; `stats` only if the daemon exposes counters. */
export interface ShowJson {
  interfaces: {
    name: string;
    publicKey: string | null;
    listenPort: number;
    peers: { publicKey: string; endpoint: string | null; allowedIps: string[]; latestHandshake: number; rxBytes: number; txBytes: number }[];
    /** tunvpn's stats=1 extension, flattened: datagrams, dropped.<reason>, ... */
    stats?: Record<string, number>;
  }[];
}

export async function tunvpnShow(ns: string, ifname: string): Promise<ShowJson> {
  const r = await run(ns, process.execPath, [TUNVPN_MAIN, 'show', ifname, '--json']);
  if (r.code !== 0) throw new Error(`tunvpn show ${ifname} --json failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ShowJson;
}

// ---- kernel state ---------------------------------------------------------------------------------------------

export interface LinkJson {
  ifname: string;
}
export interface RouteJson {
  dst: string;
  dev?: string;
  table?: string;
}
export interface RuleJson {
  priority: number;
  not?: null;
  fwmark?: string;
  table: string;
  /** iproute2 spells the JSON key this way. */
  suppress_prefixlen?: number;
}
