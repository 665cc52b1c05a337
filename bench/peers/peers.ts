/**
 * `npm run bench:peers`: issue 12's many-peers scenario, wireguard-go and tunvpn side by side (see peers-report.ts
 * for what each run measures). Rounds alternate the paths; each run gets a fresh lab. Writes
 * bench/results/<date>-peers.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';
import { lastJsonLine } from '../common/child-report.js';
import { hostInfo } from '../common/host.js';
import { inLab, publicKeyOfB } from '../common/in-lab.js';
import { addIpv4, sourceAddresses } from '../common/ipv4.js';
import type { PeerSimReport } from './peersim.js';
import { LAN_SOURCES_MAX } from '../../src/lab/plan.js';
import { withRtnl } from '../../src/lab/topology.js';
import { createLogger, type Logger } from '../../src/log.js';
import { checkLabTools, wireguardGoVersion } from '../common/binaries.js';
import type { FloodPath, PeersArgs } from '../options.js';
import { formatPeersTable, type PeersBenchReport, type ScaleRun, type SimulateRun } from './report.js';
import { Progress } from '../common/progress.js';
import { resultStem } from '../common/format.js';
import { writeResult } from '../common/results.js';

const PEERSIM_MAIN = fileURLToPath(new URL('./peersim.js', import.meta.url));
const REACHABLE_TIMEOUT_MS = 15_000;
/** `wg addconf` of ten thousand peers took 1.3–15 s when measured; this cap only catches a hung daemon. */
const WG_TIMEOUT_MS = 300_000;
/** Time for the daemon's memory to settle after a large set (garbage collection, freed parse buffers), ms. */
const SETTLE_MS = 1_000;
/** The idle peers' AllowedIPs start here (one /32 each) and the simulated peers' tunnel addresses here. */
const IDLE_FIRST = '10.128.0.1';
const SIM_FIRST = '10.216.0.1';
const SIM_ROUTE = '10.216.0.0/16';
/** Idle peers' endpoints: a's underlay address, one port each from here (idle peers never send, but if one did,
 *  the datagram would stay in the lab). */
const IDLE_FIRST_PORT = 1024;
const MAX_PORT = 65535;
/** The simulator's own give-up time, and what the bench adds for its start and report. */
const SIM_SECONDS = 60;
const SIM_GRACE_MS = 30_000;
const SECRET_FILE_MODE = 0o600;

/**
 * `wg addconf` text for `n` idle peers: fresh random public keys (never used for a handshake), AllowedIPs
 * IDLE_FIRST + i as /32, endpoint `endpointHost` with a port per peer.
 */
export function idlePeersConfig(n: number, endpointHost: string): string {
  const parts: string[] = [];
  const key = new Uint8Array(32);
  for (let i = 0; i < n; i++) {
    systemRng(key);
    const port = IDLE_FIRST_PORT + (i % (MAX_PORT - IDLE_FIRST_PORT));
    parts.push(`[Peer]\nPublicKey = ${encodeKey(key)}\nAllowedIPs = ${addIpv4(IDLE_FIRST, i)}/32\nEndpoint = ${endpointHost}:${port}\n`);
  }
  return parts.join('\n');
}

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scaleRun(path: FloodPath, round: number, args: PeersArgs, log: Logger, say: (s: string) => void): Promise<ScaleRun> {
  const r = await inLab({ a: path, b: path, log, wireguardGo: args.wireguardGo }, path, say, async (l) => {
    if (!(await l.waitReachable('a', l.addr.c, REACHABLE_TIMEOUT_MS))) throw new Error(`a cannot reach c (${l.addr.c})`);
    say(`iperf3 with one peer (${args.seconds} s)`);
    const one = await l.iperf({ duration: args.seconds });
    const file = join(l.configDir!, 'idle.conf');
    writeFileSync(file, idlePeersConfig(args.peers, l.plan.underlay.a), { mode: SECRET_FILE_MODE });
    const b = l.daemons.b!;
    const a = l.daemons.a!;
    const memoryBefore = l.daemonMemory('b')!;
    say(`wg addconf ${args.peers} peers at b`);
    const setSeconds = await timed(() => l.procs.run(b.ns, 'wg', ['addconf', b.ifname, file], { timeoutMs: WG_TIMEOUT_MS }));
    await sleep(SETTLE_MS);
    const memoryAfter = l.daemonMemory('b')!;
    const dumpSeconds = await timed(() => l.procs.run(b.ns, 'wg', ['show', b.ifname, 'dump'], { timeoutMs: WG_TIMEOUT_MS }));
    say(`wg addconf ${args.peers} peers at a`);
    await l.procs.run(a.ns, 'wg', ['addconf', a.ifname, file], { timeoutMs: WG_TIMEOUT_MS });
    say(`iperf3 with ${args.peers} idle peers (${args.seconds} s)`);
    const many = await l.iperf({ duration: args.seconds });
    return {
      peers: args.peers, oneBitsPerSecond: one.bitsPerSecond, manyBitsPerSecond: many.bitsPerSecond, setSeconds, dumpSeconds, memoryBefore, memoryAfter,
    };
  });
  return { path, round, ...r };
}

async function simulateRun(path: FloodPath, round: number, args: PeersArgs, log: Logger, say: (s: string) => void): Promise<SimulateRun> {
  const r = await inLab({ a: path, b: path, lanHost: true, log, wireguardGo: args.wireguardGo }, path, say, async (l) => {
    const b = l.daemons.b!;
    const sources = sourceAddresses(l.plan.lanHost.firstSource, Math.min(args.simulate, LAN_SOURCES_MAX));
    await l.addLanHostAddresses(sources);
    const dir = l.configDir!;
    const privateKeys = Array.from({ length: args.simulate }, () => generatePrivateKey(systemRng));
    const keysFile = join(dir, 'simulated.keys');
    writeFileSync(keysFile, `${privateKeys.map(encodeKey).join('\n')}\n`, { mode: SECRET_FILE_MODE });
    const peersFile = join(dir, 'simulated.conf');
    const sections = privateKeys.map((k, i) => `[Peer]\nPublicKey = ${encodeKey(publicKeyOf(k))}\nAllowedIPs = ${addIpv4(SIM_FIRST, i)}/32\n`);
    for (const k of privateKeys) k.fill(0);
    writeFileSync(peersFile, sections.join('\n'), { mode: SECRET_FILE_MODE });
    say(`wg addconf ${args.simulate} simulated peers at b`);
    await l.procs.run(b.ns, 'wg', ['addconf', b.ifname, peersFile], { timeoutMs: WG_TIMEOUT_MS });
    await withRtnl(b.ns, (r) => r.routes.add({ dst: SIM_ROUTE, dev: b.ifname }));
    const publicKey = await publicKeyOfB(l);
    await sleep(SETTLE_MS);
    const memoryBefore = l.daemonMemory('b')!;
    say(`${args.simulate} simulated peers handshake with b`);
    const proc = l.procs.spawn(l.plan.lanHost.ns, process.execPath, [
      PEERSIM_MAIN, '--to', `${l.plan.lan.b}:${l.plan.ports.b}`, '--public-key', publicKey, '--keys', keysFile,
      '--tunnel-first', SIM_FIRST, '--target', l.plan.tunnel.b, '--source', sources[0]!, '--sources', String(sources.length),
      '--seconds', String(SIM_SECONDS),
    ]);
    const timer = setTimeout(() => proc.child.kill('SIGTERM'), SIM_SECONDS * 1000 + SIM_GRACE_MS);
    const done = await proc.exited;
    clearTimeout(timer);
    const memoryAfter = l.daemonMemory('b')!;
    return { sim: lastJsonLine<PeerSimReport>(done, 'the simulator'), memoryBefore, memoryAfter };
  });
  return { path, round, ...r };
}

export async function runPeers(args: PeersArgs): Promise<number> {
  const problem = checkLabTools();
  if (problem) {
    process.stderr.write(`bench peers: ${problem}\n`);
    return 1;
  }
  const version = args.paths.includes('wireguard-go') ? wireguardGoVersion(args.wireguardGo) : undefined;
  if (args.paths.includes('wireguard-go') && version === undefined) {
    process.stderr.write(`bench peers: cannot run ${args.wireguardGo} (give --wireguard-go PATH, or --paths tunvpn)\n`);
    return 1;
  }
  const log = createLogger(process.env.TUNVPN_LOG_LEVEL ?? 'warn', 'bench');
  const progress = new Progress(process.stderr);
  const date = new Date().toISOString();
  const scale: ScaleRun[] = [];
  const simulations: SimulateRun[] = [];
  const total = args.rounds * args.paths.length * args.runs.length;
  let step = 0;
  for (let round = 1; round <= args.rounds; round++) {
    // Alternate which path goes first, so neither always runs on the warmer (or more loaded) machine.
    const order = round % 2 === 1 ? args.paths : [...args.paths].reverse();
    for (const path of order) {
      for (const run of args.runs) {
        const label = `[${++step}/${total}] round ${round}, ${path}, ${run}`;
        const say = (s: string) => progress.update(`${label}: ${s}`);
        if (run === 'scale') scale.push(await scaleRun(path, round, args, log, say));
        else simulations.push(await simulateRun(path, round, args, log, say));
      }
    }
  }
  progress.done();
  const report: PeersBenchReport = {
    date,
    host: hostInfo(),
    rounds: args.rounds,
    peers: args.peers,
    simulate: args.simulate,
    seconds: args.seconds,
    wireguardGo: version === undefined ? null : { binary: args.wireguardGo, version },
    scale,
    simulations,
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const path = writeResult(`${resultStem(date)}-peers.json`, json);
  process.stdout.write(args.json ? json : `${formatPeersTable(report)}\nwrote ${path}\n`);
  return [...scale, ...simulations].some((r) => r.status === 'failed') ? 1 : 0;
}
