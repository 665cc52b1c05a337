/**
 * `tunvpn up`: wg-quick's `up` and wireguard-go's daemon in one process.
 *
 *   validate → PreUp → TUN device, device (UDP socket, peers), UAPI socket (daemon/runtime.ts) → addresses, MTU,
 *   link up, routes (plan.ts) → the mesh, with a [Mesh] section (daemon/runtime.ts attachMesh, mesh/service.ts:
 *   register, read, watch; etcd out of reach is no failure) → pid file → PostUp → run until a signal, the TUN device's removal or the UAPI socket's
 *   removal → PreDown → undo everything in reverse (the mesh's lease is revoked before the device closes) →
 *   PostDown.
 *
 * While it runs, `reload()` (SIGHUP, or `tunvpn reload` through the UAPI socket's reload=1) re-reads the file and
 * applies the difference (reload.ts).
 *
 * Every step is announced before it is made and registered in a Transaction, so a failure at any point leaves
 * nothing behind: no link, route, rule, socket or file.
 */
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { endpointFromResolved, interfaceNameFromPath, loadConfig, resolveEndpoints, type QuickConfig } from '../config/index.js';
import type { Bind } from '../conn/bind.js';
import { systemZones } from '../conn/zones.js';
import { attachMesh, startRuntime, type MeshAttachOptions } from '../daemon/runtime.js';
import type { MetricsAddress } from '../metrics/prometheus.js';
import type { ServiceNotifier } from '../systemd/notify.js';
import type { Device } from '../device/device.js';
import type { Logger } from '../log.js';
import { Rtnl } from '../netlink/index.js';
import { isWgQuickIfname, WG_QUICK_IFNAME_RULE } from '../net/ifname.js';
import { explainFsError } from '../fs-errors.js';
import { parseIp, type IpAddress } from '../net/ip.js';
import { applySteps } from './apply.js';
import { runHook, type HookPhase } from './hooks.js';
import { netlinkInterfaceOps } from './netlink-ops.js';
import { planUp } from './plan.js';
import { applyReload, latestReload, prepareReload, type LiveInterface } from './reload.js';
import { Transaction } from '../system/transaction.js';
import { meshInputs } from '../mesh/inputs.js';

/** Where `up` records its pid, for `tunvpn down`. */
export const PID_DIR = '/run/tunvpn';

export interface UpOptions {
  configPath: string;
  /** Overrides the name taken from the file name. */
  ifname?: string;
  log: Logger;
  /** UAPI socket directory (default /var/run/wireguard). */
  uapiDir?: string;
  pidDir?: string;
  /** The UDP bind; the batched native one by default. */
  makeBind?: (log: Logger) => Bind;
  /** Serve Prometheus metrics here (metrics/prometheus.ts); off when absent. */
  metrics?: MetricsAddress;
  /** Threads sharing each batch of packet encryption and decryption (see daemon/runtime.ts). */
  threads?: number;
  /** Tells systemd READY=1 once up, RELOADING=1/READY=1 around reloads, STOPPING=1 at shutdown. */
  notifier?: ServiceNotifier;
  /** Options of the mesh service (tests: registry, clock); the defaults talk to etcd. */
  mesh?: MeshAttachOptions['service'];
}

export interface RunningInterface {
  readonly ifname: string;
  readonly listenPort: number;
  readonly device: Device;
  /** Resolves (with the reason) once the interface has been taken down and everything undone. */
  readonly stopped: Promise<string>;
  /** Takes the interface down: PreDown, undo, PostDown. Idempotent. */
  stop(reason: string): Promise<string>;
  /**
   * Re-reads the configuration file and applies the difference (reload.ts), one request at a time with the UAPI
   * socket's. Resolves with what changed; rejects with ReloadRefused (FILE:LINE problems, nothing changed) or a
   * step's error (the reload's changes undone).
   */
  reload(): Promise<string[]>;
}

export function interfaceName(configPath: string, override?: string): string {
  if (override === undefined) return interfaceNameFromPath(configPath);
  if (!isWgQuickIfname(override)) {
    throw new Error(`invalid interface name "${override}": ${WG_QUICK_IFNAME_RULE}`);
  }
  return override;
}

export async function up(opts: UpOptions): Promise<RunningInterface> {
  const { log } = opts;
  const config = await loadConfig(opts.configPath);
  for (const w of config.warnings) log.warn(w);
  const ifname = interfaceName(opts.configPath, opts.ifname);
  // As wg: a resolver that is not ready yet (EAI_AGAIN at boot) is retried, WG_ENDPOINT_RESOLUTION_RETRIES times.
  const resolved = await resolveEndpoints(config, { onRetry: (message) => log.warn(message), zones: systemZones });

  const tx = new Transaction(log);
  const rtnl = Rtnl.open();
  // As wg-quick: the interface must not exist. Nothing has been done yet, so there is nothing to undo or announce.
  let exists: boolean;
  try {
    exists = await rtnl.links.exists(ifname);
  } catch (e) {
    rtnl.close();
    throw e;
  }
  if (exists) {
    rtnl.close();
    throw new Error(
      `interface ${ifname} already exists (already up?): \`tunvpn show ${ifname}\` shows it, \`tunvpn down ${ifname}\` takes it down`,
    );
  }
  tx.onRollback('close the netlink socket', () => rtnl.close());
  try {
    await runHooks(tx, 'PreUp', config.interface.preUp, ifname);
    const iface = config.interface;
    const runtime = await startRuntime({
      ifname, log, tx, privateKey: iface.privateKey, listenPort: iface.listenPort, fwMark: iface.fwMark, threads: opts.threads,
      peers: config.peers.map((p, i) => {
        const r = resolved[i];
        return {
          publicKey: p.publicKey,
          presharedKey: p.presharedKey,
          allowedIPs: p.allowedIPs,
          endpoint: r ? endpointFromResolved(r) : undefined,
          persistentKeepalive: p.persistentKeepalive,
        };
      }),
      uapiDir: opts.uapiDir, makeBind: opts.makeBind, ...(opts.metrics && { metrics: opts.metrics }),
    });
    const { device } = runtime;
    log.info({ port: device.listenPort, peers: config.peers.length }, `${ifname}: listening on UDP port ${device.listenPort}`);
    const ifindex = (await rtnl.links.get(ifname)).index;
    const endpoints: IpAddress[] = resolved.flatMap((r) => (r ? [parseIp(r.address)!] : []));
    const ops = netlinkInterfaceOps(rtnl, ifname);
    const applied = await applySteps(planUp(config), {
      ifname,
      ifindex,
      ops,
      log,
      tx,
      endpoints,
      fwMark: config.interface.fwMark,
      setFwMark: (mark) => device.setFwMark(mark),
    });
    // The mesh: always there to serve a reload that adds [Mesh]; its undo (leave: revoke the lease) runs before the
    // routes, addresses and device are taken down.
    const inputs = meshInputs(config);
    const mesh = await attachMesh(runtime, { tx, rtnl, follows: { kind: 'file', ...(inputs && { inputs }) }, ...(opts.mesh && { service: opts.mesh }) });
    await writePidFile(tx, ifname, opts.pidDir ?? PID_DIR, log);
    await runHooks(tx, 'PostUp', config.interface.postUp, ifname);
    const live: LiveInterface = {
      configPath: opts.configPath, ifname, ifindex, config, resolved, applied, tx, ops, device, control: runtime.control, log, mesh,
    };
    const notifier = opts.notifier;
    const status = () => `${ifname} is up: UDP port ${device.listenPort}, ${live.config.peers.length} peer(s)`;
    // The file is read and its names resolved outside the request queue (that can take a while: resolver
    // retries), then applied inside it, where no `wg set` interleaves; of overlapping reloads the latest applies.
    const latest = latestReload(() => prepareReload(live), (next) => applyReload(live, next), (fn) => runtime.uapi.exclusive(fn));
    const reload = async (): Promise<string[]> => {
      notifier?.reloading();
      try {
        return await latest();
      } finally {
        notifier?.ready(status());
      }
    };
    runtime.uapi.setReloadHandler(reload);
    const handle = running(live, reload, () => {
      runtime.uapi.setReloadHandler(undefined);
      notifier?.stopping(`${ifname} is going down`);
    });
    notifier?.ready(status());
    // As wireguard-go: the daemon ends when its TUN device or its configuration socket is removed.
    void runtime.gone.then((why) => handle.stop(why));
    return handle;
  } catch (e) {
    log.error(`[!] ${(e as Error).message}: undoing what was done`);
    await tx.rollback();
    throw e;
  }
}

async function runHooks(tx: Transaction, phase: HookPhase, commands: string[], ifname: string): Promise<void> {
  for (const cmd of commands) {
    await tx.step(`${phase}: ${cmd.replaceAll('%i', ifname)}`, async () => ({ value: await runHook(phase, cmd, ifname) }));
  }
}

/**
 * The pid file lets `tunvpn down` find the daemon. It is a convenience, not a requirement (`down` falls back to
 * deleting the interface, and under systemd `systemctl stop` needs none): when it cannot be written (a read-only
 * /run under ProtectSystem=strict, a user without write access) `up` says why and carries on.
 */
async function writePidFile(tx: Transaction, ifname: string, dir: string, log: Logger): Promise<void> {
  const path = join(dir, `${ifname}.pid`);
  await tx.step(`write ${path}`, async () => {
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      await writeFile(path, `${process.pid}\n`, { mode: 0o644 });
    } catch (e) {
      const why = await explainFsError(e, 'write the pid file', path);
      log.warn(`[!] ${why.message}; \`tunvpn down ${ifname}\` will delete the interface instead of signalling this process`);
      return { value: undefined };
    }
    return { value: undefined, undo: () => unlink(path).catch(() => undefined), undoWhat: `rm -f ${path}` };
  });
}

function running(live: LiveInterface, reload: () => Promise<string[]>, stopReloads: () => void): RunningInterface {
  const { ifname, device, log, tx } = live;
  let resolveStopped!: (reason: string) => void;
  const stopped = new Promise<string>((r) => (resolveStopped = r));
  let stopping: Promise<string> | undefined;
  const stop = (reason: string): Promise<string> => {
    stopping ??= (async () => {
      stopReloads();
      log.info(`${ifname}: going down (${reason})`);
      // The hooks of the file as last (re)loaded.
      const config: QuickConfig = live.config;
      await runTeardownHooks('PreDown', config.interface.preDown, ifname, log);
      await tx.rollback();
      await runTeardownHooks('PostDown', config.interface.postDown, ifname, log);
      resolveStopped(reason);
      return reason;
    })();
    return stopping;
  };
  const guardedReload = (): Promise<string[]> =>
    stopping ? Promise.reject(new Error(`${ifname} is going down; not reloading`)) : reload();
  return { ifname, listenPort: device.listenPort, device, stopped, stop, reload: guardedReload };
}

/** Teardown hooks: a failure is reported but does not stop the teardown. */
async function runTeardownHooks(phase: HookPhase, commands: string[], ifname: string, log: Logger): Promise<void> {
  for (const cmd of commands) {
    log.info(`[#] ${phase}: ${cmd.replaceAll('%i', ifname)}`);
    try {
      await runHook(phase, cmd, ifname);
    } catch (e) {
      log.warn(`[!] ${(e as Error).message}`);
    }
  }
}
