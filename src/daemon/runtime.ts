/**
 * One running interface, as both `tunvpn up` and `tunvpnd` run it: the TUN device, the UDP bind, the device
 * between them, the UAPI socket that `wg` talks to and, when asked for, the Prometheus metrics server
 * (metrics.ts), started in that order inside the caller's Transaction (each step announced and undone in reverse
 * on failure or shutdown) by startRuntime; then attachMesh gives it its mesh (mesh/service.ts): the MeshService
 * over the device, the interface's routes and the FDB of the vxlans that follow it, its UAPI handler (`mesh=1`,
 * `vtep=1`), its undo (leave the mesh), and what a configuration request (`wg set`) means for it — `up` follows the
 * file's [Mesh], tunvpnd the key `wg` sets.
 *
 * Like wireguard-go, a running interface ends when its TUN device is deleted or its configuration socket is
 * removed: `gone` resolves with the reason, and the caller takes everything down by rolling its Transaction back.
 */
import { warmDataPath } from '../device/warmup.js';
import type { MeshSettings } from '../config/mesh.js';
import { encodeKey, isZeroKey } from '../crypto/keys.js';
import { NativeBind } from '../conn/native-bind.js';
import { systemZones } from '../conn/zones.js';
import type { Bind } from '../conn/bind.js';
import { Device, type PeerSettings } from '../device/device.js';
import { DeviceControlAdapter } from '../device/control.js';
import { shortKey, type Logger } from '../log.js';
import type { MeshInputs } from '../mesh/inputs.js';
import type { StaticPeer } from '../mesh/reconcile.js';
import { MeshService, type MeshServiceOptions } from '../mesh/service.js';
import { netlinkVtepFdb } from '../mesh/vteps.js';
import { Rtnl } from '../netlink/index.js';
import { netlinkInterfaceOps } from '../quick/netlink-ops.js';
import type { Transaction } from '../system/transaction.js';
import { LinuxTun } from '../tun/linux-tun.js';
import { UapiServer } from '../uapi/server.js';
import { deviceRegistry, serveMetrics, type MetricsAddress, type MetricsServer } from '../metrics/prometheus.js';

export interface RuntimeOptions {
  /** The TUN device to create (a valid interface name; see net/ifname.ts). */
  ifname: string;
  log: Logger;
  /** Where each step is announced and its undo registered. */
  tx: Transaction;
  /** 32 bytes; all zeros means "no key yet" (tunvpnd starts so, until `wg` sets one). */
  privateKey: Uint8Array;
  /** UDP port; 0 or absent = a random one. */
  listenPort?: number;
  /** SO_MARK for the UDP sockets; 0 or absent = none. */
  fwMark?: number;
  /** Peers configured before the socket opens (their keepalives start once it is bound). */
  peers?: readonly PeerSettings[];
  /** UAPI socket directory (default /var/run/wireguard). */
  uapiDir?: string;
  /** The UDP bind; the batched native one by default. */
  makeBind?: (log: Logger) => Bind;
  /** Serve Prometheus metrics here (off when absent). */
  metrics?: MetricsAddress;
  /** Threads sharing each batch of packet encryption and decryption (1..64; default DEFAULT_AEAD_THREADS). */
  threads?: number;
}

export interface Runtime {
  readonly ifname: string;
  /** The logger the runtime was started with. */
  readonly log: Logger;
  readonly tun: LinuxTun;
  readonly device: Device;
  readonly uapi: UapiServer;
  /** The device's configuration interface (what the UAPI socket calls), for reloads. */
  readonly control: DeviceControlAdapter;
  /** The metrics server, when one was asked for. */
  readonly metrics?: MetricsServer;
  /** Resolves with a reason once the TUN device closes (e.g. it was deleted) or the UAPI socket is removed. */
  readonly gone: Promise<string>;
}

/**
 * Warms the data path (warmup.ts; unless TUNVPN_WARMUP=0), creates the TUN device, starts the device on its UDP
 * port and serves the UAPI socket. Throws (leaving the undo of whatever was done in `tx`) when a step fails: the
 * name is taken, the port is in use, no permission.
 */
export async function startRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const { ifname, log, tx } = opts;
  // Before anything real exists: about a quarter of a second, paid once (warmup.ts). TUNVPN_WARMUP=0 skips it.
  if (process.env.TUNVPN_WARMUP !== '0') {
    const started = performance.now();
    const n = await warmDataPath();
    log.debug(`data path warmed up: ${n} round trips through two in-process devices in ${(performance.now() - started).toFixed(0)} ms`);
  }
  const tun = await tx.step(`create TUN device ${ifname}`, () => {
    const t = LinuxTun.open({ name: ifname, logger: log });
    return { value: t, undo: () => t.close(), undoWhat: `ip link delete dev ${ifname}` };
  });
  const bind = opts.makeBind ? opts.makeBind(log) : new NativeBind({ logger: log });
  const device = new Device({
    tun, bind, privateKey: opts.privateKey, listenPort: opts.listenPort ?? 0, fwMark: opts.fwMark ?? 0, log,
    ...(opts.threads !== undefined && { threads: opts.threads }),
  });
  for (const p of opts.peers ?? []) device.setPeer(p);
  await tx.step(`listen on UDP port ${opts.listenPort || '(random)'}`, async () => {
    await device.start();
    return { value: undefined, undo: () => device.close(), undoWhat: `close UDP port ${device.listenPort}` };
  });
  const control = new DeviceControlAdapter(device, log, systemZones);
  const uapi = await tx.step(`serve the configuration socket for ${ifname}`, async () => {
    const server = new UapiServer({ iface: ifname, control, dir: opts.uapiDir, logger: log, zones: systemZones });
    await server.listen();
    return { value: server, undo: () => server.close(), undoWhat: `rm -f ${server.path}` };
  });
  const at = opts.metrics;
  const metrics = at && await tx.step(`serve metrics on http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}/metrics`, async () => {
    const server = await serveMetrics(deviceRegistry(ifname, device), at, log);
    return { value: server, undo: () => server.close(), undoWhat: 'stop serving metrics' };
  });
  const gone = new Promise<string>((resolve) => {
    tun.once('closed', (why: string) => resolve(`TUN device closed: ${why}`));
    if (uapi.removed) resolve('configuration socket removed');
    else uapi.once('removed', () => resolve('configuration socket removed'));
  });
  return { ifname, log, tun, device, uapi, control, gone, ...(metrics && { metrics }) };
}

/**
 * What the mesh of a running interface follows:
 *
 *   file  `tunvpn up`: the file's [Mesh] (`inputs`, started now; absent: no mesh until a reload adds one, through
 *         MeshService.prepare/apply). A `wg set`/`wg syncconf` that removes or changes a mesh peer has it put back.
 *   wg    `tunvpnd --mesh FILE`: the mesh of `settings` starts once `wg` has set a private key (the member key is
 *         its public key) and restarts when `wg` changes the key or the port; every peer `wg` configured counts as
 *         static (a member never overrides it); a mesh peer `wg` removed or changed is put back; member routes go
 *         to the main table.
 */
export type MeshFollows = { kind: 'file'; inputs?: MeshInputs } | { kind: 'wg'; settings: MeshSettings };

export interface MeshAttachOptions {
  /** Where the mesh's undo (leave the mesh: revoke the lease) is registered, at this point of the undo order. */
  tx: Transaction;
  follows: MeshFollows;
  /** rtnetlink for the interface's routes and the vxlans' FDB; default: one opened here (closed on rollback). */
  rtnl?: Rtnl;
  /** The mesh service's seams (tests: registry, resolver, backoff); the defaults talk to etcd. */
  service?: Pick<MeshServiceOptions, 'openRegistry' | 'selfContext' | 'backoff' | 'firstAttemptMs'>;
}

/**
 * Gives a running interface its mesh (see MeshFollows): builds the MeshService, registers its undo in `tx`, starts
 * it when `follows` says so, answers `mesh=1`/`vtep=1` with it and reacts to configuration requests. Rejects when
 * the interface is gone or the start fails for what retrying cannot fix (MeshService.start); etcd out of reach is
 * no failure.
 */
export async function attachMesh(runtime: Runtime, opts: MeshAttachOptions): Promise<MeshService> {
  const { ifname, device, log, uapi } = runtime;
  const { tx, follows } = opts;
  let rtnl = opts.rtnl;
  if (!rtnl) {
    const own = Rtnl.open();
    tx.onRollback('close the netlink socket', () => own.close());
    rtnl = own;
  }
  const ifindex = (await rtnl.links.get(ifname)).index;
  const mesh = new MeshService({
    ifname, device, log, routeOps: netlinkInterfaceOps(rtnl, ifname), ifindex, fdb: netlinkVtepFdb(rtnl), ...opts.service,
  });
  // Undone before whatever was set up earlier (routes, addresses, the device): the others drop this node first.
  tx.onRollback('leave the mesh', () => mesh.stop());
  if (follows.kind === 'file') {
    if (follows.inputs) await mesh.start(follows.inputs);
    uapi.setMeshHandler(mesh);
    uapi.on('applied', () => void mesh.deviceChanged().catch((e: unknown) => log.error(`mesh: ${(e as Error).message}`)));
    return mesh;
  }
  uapi.setMeshHandler(mesh);
  const onChange = followWg(runtime, mesh, follows.settings);
  let queue = Promise.resolve();
  uapi.on('applied', () => {
    queue = queue.then(onChange).catch((e: unknown) => log.error(`${ifname}: mesh: ${(e as Error).message}`));
  });
  return mesh;
}

/** tunvpnd's mesh after each configuration request: started at the first key, restarted at a new key or port. */
function followWg(runtime: Runtime, mesh: MeshService, settings: MeshSettings): () => Promise<void> {
  const { ifname, device, log } = runtime;
  const staticPeers = (): StaticPeer[] => {
    const owned = mesh.ownedPeers();
    return runtime.control.get().peers
      .filter((p) => !owned.has(encodeKey(p.publicKey)))
      .map((p) => ({ publicKey: p.publicKey, allowedIPs: p.allowedIps, label: `${shortKey(encodeKey(p.publicKey))} (set by wg)` }));
  };
  const inputs = (): MeshInputs => ({ settings, staticPeers: staticPeers(), addresses: [], routes: {}, listenPort: device.listenPort });
  /** The key and port the mesh runs with (the default Endpoint carries the port). */
  let running: string | undefined;
  return async () => {
    if (isZeroKey(device.privateKeyCopy())) return;
    const now = `${encodeKey(device.publicKey)} ${device.listenPort}`;
    if (running === undefined) {
      running = now;
      log.info(`${ifname}: a private key is set; joining the mesh`);
      await mesh.start(inputs());
    } else if (running !== now) {
      running = now;
      await mesh.apply(await mesh.prepare(inputs(), device.publicKey));
    } else {
      await mesh.deviceChanged(staticPeers());
    }
  };
}
