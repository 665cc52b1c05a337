#!/usr/bin/env node
/**
 * `tunvpnd [-f|--foreground] [--metrics ADDR:PORT] [--threads N] [--mesh FILE] IFACE`: tunvpn with wireguard-go's
 * command line, so stock wg-quick can drive it:
 *
 *   WG_QUICK_USERSPACE_IMPLEMENTATION=tunvpnd wg-quick up wg0
 *
 * It creates the TUN device IFACE and serves /var/run/wireguard/IFACE.sock; everything else (keys, peers, port,
 * addresses, routes) is set by `wg` and `ip`, as wg-quick does. Like wireguard-go it daemonizes unless -f or
 * WG_PROCESS_FOREGROUND=1 is given (the parent returns once the interface and socket exist), logs nothing unless
 * LOG_LEVEL is set (verbose|debug|error|silent), and exits when its TUN device or its socket is removed, or on
 * SIGINT/SIGTERM. `--metrics ADDR:PORT` (or a port alone, on loopback) also serves Prometheus metrics (see
 * metrics/prometheus.ts). `--threads N` shares packet encryption and decryption among N threads (default 1).
 *
 * `--mesh FILE` (or TUNVPND_MESH=FILE in the environment, as wg-quick passes no arguments) joins the mesh that
 * FILE's [Mesh] section describes (it holds that section only; wg-quick's own file cannot, `wg setconf` refuses it;
 * AllowedIPs is required there). The mesh starts once `wg` has set a private
 * key (the member key is its public key) and restarts when `wg` changes it; every peer `wg` configures counts as
 * static (a member never overrides it); a `wg set`/`wg syncconf` that removes or changes a mesh peer has it put
 * back; member routes go to the main table. See docs/mesh.md.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isMainModule, versionLine } from '../entry.js';
import { createWriteStream, readFileSync, realpathSync } from 'node:fs';
import { attachMesh, startRuntime } from '../daemon/runtime.js';
import { createLogger, silentLogger, type Logger } from '../log.js';
import { isWgQuickIfname, WG_QUICK_IFNAME_RULE } from '../net/ifname.js';
import { Transaction } from '../system/transaction.js';
import { parseMetricsAddress, type MetricsAddress } from '../metrics/prometheus.js';
import { ServiceNotifier } from '../systemd/notify.js';
import { MAX_AEAD_THREADS, parseThreads } from '../crypto/native-aead.js';
import { ConfigError, parseMeshFile, type MeshSettings } from '../config/index.js';

const READY = 'ready\n';
const LOG_LEVELS: Record<string, string> = { verbose: 'debug', debug: 'debug', error: 'error', silent: 'silent' };
/** Exit status of a usage error or a failed setup (wireguard-go's ExitSetupFailed). */
const EXIT_SETUP_FAILED = 1;

function usage(): string {
  return 'Usage: tunvpnd [-f/--foreground] [--metrics ADDRESS:PORT] [--threads N] [--mesh FILE] INTERFACE-NAME\n' +
    '       tunvpnd --version | --help\n\n' +
    'Creates the TUN device INTERFACE-NAME and serves /var/run/wireguard/INTERFACE-NAME.sock for `wg`.\n' +
    'Daemonizes unless -f/--foreground or WG_PROCESS_FOREGROUND=1. LOG_LEVEL=verbose|debug|error|silent.\n' +
    '--metrics serves Prometheus metrics at http://ADDRESS:PORT/metrics (a port alone: on 127.0.0.1).\n' +
    `--threads N shares packet encryption and decryption among N threads (1..${MAX_AEAD_THREADS}, default 1).\n` +
    '--mesh (or TUNVPND_MESH=FILE) joins the mesh on etcd described by FILE, a [Mesh] section (docs/mesh.md).\n';
}

/** What the command line asks for: flags are parsed before anything else, so a flag never becomes a name. */
export type Invocation =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'usage-error'; message: string }
  | { kind: 'run'; ifname: string; foreground: boolean; metrics?: MetricsAddress; threads?: number; mesh?: string };

/** Parses tunvpnd's arguments (wireguard-go's command line, plus --help). Pure. */
export function parseArgs(argv: readonly string[]): Invocation {
  let foreground = false;
  let metricsText: string | undefined;
  let threadsText: string | undefined;
  let mesh: string | undefined;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version' || arg === '-v') return { kind: 'version' };
    if (arg === '-f' || arg === '--foreground') foreground = true;
    else if (arg === '--metrics') {
      const value = argv[++i];
      if (value === undefined) return { kind: 'usage-error', message: '--metrics needs ADDRESS:PORT' };
      metricsText = value;
    } else if (arg.startsWith('--metrics=')) metricsText = arg.slice('--metrics='.length);
    else if (arg === '--threads') {
      const value = argv[++i];
      if (value === undefined) return { kind: 'usage-error', message: '--threads needs a number' };
      threadsText = value;
    } else if (arg.startsWith('--threads=')) threadsText = arg.slice('--threads='.length);
    else if (arg === '--mesh') {
      const value = argv[++i];
      if (value === undefined || value === '') return { kind: 'usage-error', message: '--mesh needs FILE' };
      mesh = value;
    } else if (arg.startsWith('--mesh=')) mesh = arg.slice('--mesh='.length);
    else if (arg.startsWith('-')) return { kind: 'usage-error', message: `unknown option ${JSON.stringify(arg)}` };
    else names.push(arg);
  }
  let metrics: MetricsAddress | undefined;
  let threads: number | undefined;
  try {
    if (metricsText !== undefined) metrics = parseMetricsAddress(metricsText);
    if (threadsText !== undefined) threads = parseThreads(threadsText);
  } catch (e) {
    return { kind: 'usage-error', message: (e as Error).message };
  }
  if (names.length !== 1) return { kind: 'usage-error', message: names.length ? 'expected one interface name' : 'missing interface name' };
  const ifname = names[0]!;
  if (!isWgQuickIfname(ifname)) {
    return { kind: 'usage-error', message: `invalid interface name ${JSON.stringify(ifname)}: ${WG_QUICK_IFNAME_RULE}` };
  }
  return {
    kind: 'run', ifname, foreground, ...(metrics && { metrics }), ...(threads !== undefined && { threads }), ...(mesh !== undefined && { mesh }),
  };
}

/** The [Mesh] settings of `--mesh FILE`; a usage error's message (FILE:LINE problems) when the file is wrong. */
export function loadMeshFile(path: string): { settings: MeshSettings; warnings: string[] } | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { error: `${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  try {
    return parseMeshFile(text, path);
  } catch (e) {
    if (e instanceof ConfigError) return { error: e.message };
    throw e;
  }
}

/** Runs the interface in this process until it is told to stop; resolves with the exit status. */
async function serve(
  ifname: string,
  log: Logger,
  notifyReady: (error?: string) => void,
  extra: { metrics?: MetricsAddress; threads?: number },
  mesh?: MeshSettings,
): Promise<number> {
  const tx = new Transaction(log);
  let runtime;
  try {
    // No key until `wg` sets one (all zeros, as wireguard-go starts): nothing can complete a handshake before then.
    runtime = await startRuntime({ ifname, log, tx, privateKey: new Uint8Array(32), ...extra });
    if (mesh) await attachMesh(runtime, { tx, follows: { kind: 'wg', settings: mesh } });
  } catch (e) {
    await tx.rollback();
    notifyReady((e as Error).message);
    return EXIT_SETUP_FAILED;
  }
  notifyReady();
  const systemd = new ServiceNotifier(log);
  systemd.ready(`${ifname}: serving /var/run/wireguard/${ifname}.sock`);
  const reason = await new Promise<string>((resolve) => {
    void runtime.gone.then(resolve);
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve(`received ${s}`));
  });
  systemd.stopping(`${ifname}: shutting down`);
  log.info(`${ifname}: shutting down (${reason})`);
  await tx.rollback();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const inv = parseArgs(argv);
  if (inv.kind === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (inv.kind === 'version') {
    process.stdout.write(`${versionLine('tunvpnd')}\n`);
    return 0;
  }
  if (inv.kind === 'usage-error') {
    process.stderr.write(`tunvpnd: ${inv.message}\n${usage()}`);
    return EXIT_SETUP_FAILED;
  }
  const { ifname } = inv;
  let mesh: MeshSettings | undefined;
  const meshPath = inv.mesh ?? (process.env.TUNVPND_MESH || undefined);
  if (meshPath !== undefined) {
    const loaded = loadMeshFile(meshPath);
    if ('error' in loaded) {
      process.stderr.write(`tunvpnd: ${loaded.error}\n`);
      return EXIT_SETUP_FAILED;
    }
    for (const w of loaded.warnings) process.stderr.write(`tunvpnd: warning: ${w}\n`);
    mesh = loaded.settings;
  }
  const foreground = inv.foreground || process.env.WG_PROCESS_FOREGROUND === '1';
  const level = LOG_LEVELS[process.env.LOG_LEVEL ?? ''] ?? (foreground ? 'info' : 'silent');
  const log = level === 'silent' ? silentLogger : createLogger(level, 'tunvpnd');

  if (foreground) {
    // A daemonized child reports readiness on fd 3 (a pipe from its parent); in a real foreground run there is none.
    const child = process.env.TUNVPND_READY_FD === '3';
    const notify = (error?: string) => {
      if (!child) {
        if (error) process.stderr.write(`tunvpnd: ${error}\n`);
        return;
      }
      const pipe = createWriteStream('', { fd: 3 });
      pipe.end(error ? `error ${error}\n` : READY);
    };
    return serve(ifname, log, notify, { ...(inv.metrics && { metrics: inv.metrics }), ...(inv.threads !== undefined && { threads: inv.threads }) }, mesh);
  }

  // Daemonize: run ourselves detached in the foreground mode and wait for it to say it is ready.
  const self = realpathSync(fileURLToPath(import.meta.url));
  const keepLogs = level !== 'silent';
  const metricsArgs = inv.metrics ? ['--metrics', `${inv.metrics.host.includes(':') ? `[${inv.metrics.host}]` : inv.metrics.host}:${inv.metrics.port}`] : [];
  const threadArgs = inv.threads !== undefined ? ['--threads', String(inv.threads)] : [];
  const meshArgs = meshPath !== undefined ? ['--mesh', meshPath] : [];
  const child = spawn(process.execPath, [self, '--foreground', ...metricsArgs, ...threadArgs, ...meshArgs, ifname], {
    detached: true,
    stdio: ['ignore', keepLogs ? 'inherit' : 'ignore', keepLogs ? 'inherit' : 'ignore', 'pipe'],
    env: { ...process.env, WG_PROCESS_FOREGROUND: '1', TUNVPND_READY_FD: '3' },
  });
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.on('data', (d: Buffer) => (text += d.toString()));
    pipe.on('end', () => resolve(text));
    child.once('exit', (code) => resolve(text || `error the daemon exited with status ${code}`));
  });
  if (answer === READY) {
    child.unref();
    (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();
    return 0;
  }
  process.stderr.write(`tunvpnd: ${answer.replace(/^error /, '').trim()}\n`);
  return EXIT_SETUP_FAILED;
}

if (isMainModule(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
