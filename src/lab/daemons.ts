/**
 * Starting a WireGuard implementation at one tunnel end of the lab:
 *
 * - tunvpn: `ip netns exec NS node dist/src/cli/main.js up IFACE.conf`; ready when it logs "IFACE is up". It makes
 *   its own TUN, addresses, MTU and routes from the wg-quick file.
 * - wireguard-go: `ip netns exec NS wireguard-go -f IFACE` (WG_PROCESS_FOREGROUND=1; the binary on $PATH, or the
 *   one given as `wireguardGo`); ready when its UAPI socket appears. Then `wg setconf IFACE FILE.wg`, and address,
 *   MTU, link up and AllowedIPs routes through our netlink.
 *
 * Both are stopped with SIGTERM (each removes its interface and socket); the lab unlinks a socket left behind.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import { PID_DIR } from '../quick/up.js';
import { socketPath } from '../uapi/paths.js';
import { allowedIps, type ConfigFiles, type TunnelEnd } from './configs.js';
import type { LabProcess, ProcessSet } from './exec.js';
import type { LabPlan } from './plan.js';
import { withRtnl } from './topology.js';

export type Daemon = 'tunvpn' | 'wireguard-go';
export const DAEMONS: readonly Daemon[] = ['tunvpn', 'wireguard-go'];

export interface RunningDaemon {
  kind: Daemon;
  end: TunnelEnd;
  ns: string;
  ifname: string;
  proc: LabProcess;
  /** The daemon's own pid (`ip netns exec` execs it). */
  pid: number;
}

/** How long a daemon gets to come up (ms): node start-up plus native addon load on a slow VM. */
export const DAEMON_START_TIMEOUT_MS = 20_000;
const SOCKET_POLL_MS = 50;
const WG_TIMEOUT_MS = 10_000;
const TUNVPN_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export function isDaemon(s: string): s is Daemon {
  return (DAEMONS as readonly string[]).includes(s);
}

/** What starting a daemon needs from the lab. */
export interface DaemonContext {
  plan: LabPlan;
  files: ConfigFiles;
  procs: ProcessSet;
  log: Logger;
  /** The wireguard-go executable: a path, or a name looked up on $PATH (default 'wireguard-go'). */
  wireguardGo?: string;
}

/** The wireguard-go the lab runs when none is given. */
export const DEFAULT_WIREGUARD_GO = 'wireguard-go';

export async function startDaemon(kind: Daemon, end: TunnelEnd, ctx: DaemonContext): Promise<RunningDaemon> {
  return kind === 'tunvpn' ? startTunvpn(end, ctx) : startWireguardGo(end, ctx);
}

async function startTunvpn(end: TunnelEnd, { plan, files, procs, log }: DaemonContext): Promise<RunningDaemon> {
  const ns = plan.ns[end];
  const ifname = plan.wg[end];
  log.info(`[#] ${ns}: tunvpn up ${files.quick[end]}`);
  const env = { ...process.env, TUNVPN_LOG_LEVEL: process.env.TUNVPN_LOG_LEVEL ?? 'info' };
  const proc = procs.spawn(ns, process.execPath, [TUNVPN_MAIN, 'up', files.quick[end]], env);
  await proc.waitFor(new RegExp(`${ifname} is up`), DAEMON_START_TIMEOUT_MS);
  return { kind: 'tunvpn', end, ns, ifname, proc, pid: proc.pid! };
}

async function startWireguardGo(end: TunnelEnd, { plan, files, procs, log, wireguardGo }: DaemonContext): Promise<RunningDaemon> {
  const ns = plan.ns[end];
  const ifname = plan.wg[end];
  const proc = await spawnWireguardGo(procs, ns, ifname, log, wireguardGo);
  log.info(`[#] ${ns}: wg setconf ${ifname} ${files.wg[end]}`);
  await procs.run(ns, 'wg', ['setconf', ifname, files.wg[end]], { timeoutMs: WG_TIMEOUT_MS });
  await withRtnl(ns, async (r) => {
    log.info(`[#] ${ns}: addr add ${plan.tunnel[end]}/32 dev ${ifname}; mtu ${plan.mtu}; up`);
    await r.addresses.add(ifname, `${plan.tunnel[end]}/32`);
    await r.links.set(ifname, { mtu: plan.mtu, up: true });
    for (const dst of allowedIps(plan, end)) {
      log.info(`[#] ${ns}: route add ${dst} dev ${ifname}`);
      await r.routes.add({ dst, dev: ifname });
    }
  });
  return { kind: 'wireguard-go', end, ns, ifname, proc, pid: proc.pid! };
}

/**
 * Starts `wireguard-go -f IFNAME` in `ns` and waits for its UAPI socket; the interface is down and unconfigured.
 * Rejects (with the daemon's output) when it exits first or takes longer than DAEMON_START_TIMEOUT_MS.
 */
export async function spawnWireguardGo(procs: ProcessSet, ns: string, ifname: string, log: Logger, binary = DEFAULT_WIREGUARD_GO): Promise<LabProcess> {
  log.info(`[#] ${ns}: ${binary} -f ${ifname}`);
  const proc = procs.spawn(ns, binary, ['-f', ifname], { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' });
  await waitForSocket(proc, socketPath(ifname), DAEMON_START_TIMEOUT_MS);
  return proc;
}

function waitForSocket(proc: LabProcess, path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (existsSync(path)) return resolve();
      if (!proc.running) return reject(new Error(`${proc.command} exited before creating ${path}:\n${proc.output}`));
      if (Date.now() > deadline) return reject(new Error(`${proc.command}: no ${path} after ${timeoutMs} ms:\n${proc.output}`));
      setTimeout(poll, SOCKET_POLL_MS);
    };
    poll();
  });
}

/** Removes what a killed daemon may leave in the shared directories: its UAPI socket and tunvpn's pid file. */
export function removeLeftovers(ifname: string): string[] {
  const removed: string[] = [];
  for (const path of [socketPath(ifname), `${PID_DIR}/${ifname}.pid`]) {
    try {
      unlinkSync(path);
      removed.push(path);
    } catch {
      // absent: nothing to do
    }
  }
  return removed;
}
