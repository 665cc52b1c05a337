/**
 * One running interface, as both `tunvpn up` and `tunvpnd` run it: the TUN device, the UDP bind, the device
 * between them, the UAPI socket that `wg` talks to and, when asked for, the Prometheus metrics server
 * (metrics.ts), started in that order inside the caller's Transaction (each step announced and undone in reverse
 * on failure or shutdown).
 *
 * Like wireguard-go, a running interface ends when its TUN device is deleted or its configuration socket is
 * removed: `gone` resolves with the reason, and the caller takes everything down by rolling its Transaction back.
 */
import { warmDataPath } from '../device/warmup.js';
import { NativeBind } from '../conn/native-bind.js';
import { systemZones } from '../conn/zones.js';
import type { Bind } from '../conn/bind.js';
import { Device, type PeerSettings } from '../device/device.js';
import { DeviceControlAdapter } from '../device/control.js';
import type { Logger } from '../log.js';
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
  return { ifname, tun, device, uapi, control, gone, ...(metrics && { metrics }) };
}
