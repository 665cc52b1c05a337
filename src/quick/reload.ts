/**
 * Reload: re-read a running interface's configuration file and apply the difference, without a restart
 * (`tunvpn reload IFACE`, SIGHUP to `tunvpn up`, systemd's ExecReload).
 *
 *   1. validate everything first: parse (FILE:LINE), resolve every Endpoint. A file with an error is refused and
 *      nothing is touched (ReloadRefused carries the FILE:LINE lines);
 *   2. ListenPort, if the file changes it: the device rebinds, or keeps its port and the reload stops there;
 *   3. system changes (plan.ts planReload): steps of the old plan that are gone or changed are undone (each
 *      announced as `ip ... del`), then new and changed steps are applied in a sub-transaction; if one fails,
 *      that sub-transaction is undone, the removed steps are put back and the port restored. The new steps' undos
 *      join the daemon's Transaction, so shutdown still removes everything;
 *   4. the WireGuard part as `wg syncconf` does it, through the same DeviceControl.apply as the UAPI: the private
 *      key (unchanged = nothing happens), FwMark, peers no longer in the file removed, new peers added, and each
 *      peer's PresharedKey, PersistentKeepalive and AllowedIPs set where the running peer differs from the file
 *      (so a `wg set` made since is undone, as wg syncconf would). Endpoint is set when the file changes it: a
 *      roamed endpoint, learned from authenticated packets, stays. Peers that already match are not touched at
 *      all: they keep their sessions, counters and handshake times.
 *
 * With a mesh (a [Mesh] section before or after), around these steps (mesh/service.ts):
 *   1b. the mesh's part is prepared first: our new record built, the registry's files read; a failure refuses the
 *       reload, nothing changed;
 *   1c. while static peers change, the mesh gives up whatever clashes with the old or the new [Peer]s (so a key or
 *       prefix passes between static and mesh without ever being both), and the peer diff of step 4 leaves the
 *       mesh's own peers alone;
 *   5.  the mesh takes the new settings: in place when it can (Name, Endpoint, AllowedIPs, keepalive, static
 *       peers: no session drops), by restarting its agent otherwise (etcd settings, Prefix, TTL, private key,
 *       Table); a removed [Mesh] leaves the mesh and removes its peers and routes; an added one joins.
 *
 * PreUp and PostUp do not run again; PreDown and PostDown of the new file are the ones run at shutdown.
 */
import { constantTimeEqual, encodeKey } from '../crypto/keys.js';
import { ConfigError, endpointFromResolved, loadConfig, resolveEndpoints, sameResolvedEndpoint, type PeerConfig, type QuickConfig, type ResolvedEndpoint } from '../config/index.js';
import { systemZones } from '../conn/zones.js';
import type { Device } from '../device/device.js';
import { shortKey, type Logger } from '../log.js';
import { formatPrefix, parseIp, type IpAddress } from '../net/ip.js';
import type { DeviceControl, PeerOperation, SetOperation } from '../uapi/control.js';
import { ReloadRefused } from '../uapi/server.js';
import { applySteps, type ApplyResult, type InterfaceOps } from './apply.js';
import { describe, describeRemoval, planReload, planUp, stepKey } from './plan.js';
import { Transaction } from '../system/transaction.js';
import type { MeshService } from '../mesh/service.js';
import type { PreparedMesh } from '../mesh/reload-plan.js';
import type { StaticPeer } from '../mesh/reconcile.js';
import { meshInputs } from '../mesh/inputs.js';

/** What a running `up` knows about its interface, updated by each successful reload. */
export interface LiveInterface {
  configPath: string;
  ifname: string;
  ifindex: number;
  config: QuickConfig;
  /** resolveEndpoints(config), one entry per peer. */
  resolved: (ResolvedEndpoint | undefined)[];
  /** What applySteps chose (full tunnel table and fwmark), for the next steps. */
  applied: ApplyResult;
  tx: Transaction;
  ops: InterfaceOps;
  device: Device;
  control: DeviceControl;
  log: Logger;
  /** The interface's mesh (serves a [Mesh] section, present or added by a reload). */
  mesh?: MeshService;
}

const ZERO_KEY = new Uint8Array(32);

function sameKey(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return constantTimeEqual(a ?? ZERO_KEY, b ?? ZERO_KEY);
}

function allowedText(p: PeerConfig): string {
  return p.allowedIPs.map(formatPrefix).sort().join(',');
}

/** A peer of the file, and what it resolved to. */
interface FilePeer {
  peer: PeerConfig;
  endpoint: ResolvedEndpoint | undefined;
}

function byKey(config: QuickConfig, resolved: readonly (ResolvedEndpoint | undefined)[]): Map<string, FilePeer> {
  return new Map(config.peers.map((peer, i) => [encodeKey(peer.publicKey), { peer, endpoint: resolved[i] }]));
}

/** What reload compares of a running peer: its configured fields (the endpoint is compared file to file). */
export interface LivePeer {
  /** Absent or all-zero: none. */
  presharedKey?: Uint8Array;
  /** Seconds, 0 = off. */
  persistentKeepalive: number;
  /** Its AllowedIPs as text (formatPrefix), any order. */
  allowedIps: readonly string[];
}

/** The running peers as reload compares them, by base64 public key, from the device's configuration snapshot. */
function livePeers(control: Pick<DeviceControl, 'get'>): Map<string, LivePeer> {
  const out = new Map<string, LivePeer>();
  for (const p of control.get().peers) {
    out.set(encodeKey(p.publicKey), {
      presharedKey: p.presharedKey,
      persistentKeepalive: p.persistentKeepaliveInterval,
      allowedIps: p.allowedIps.map((prefix) => formatPrefix(prefix)),
    });
  }
  return out;
}

/**
 * The peer operations that turn the running peers into the file's (wg syncconf's diff, but field by field):
 * `live` are the device's peers now, by base64 key (livePeers). PresharedKey, PersistentKeepalive and AllowedIPs
 * are compared with the running peer; Endpoint with the previous file (`old`), so a roamed endpoint stays unless
 * the file changes it. Pure. Returns the operations and one line per change.
 */
export function peerChanges(
  old: { config: QuickConfig; resolved: readonly (ResolvedEndpoint | undefined)[] },
  next: { config: QuickConfig; resolved: readonly (ResolvedEndpoint | undefined)[] },
  live: ReadonlyMap<string, LivePeer>,
): { ops: PeerOperation[]; changes: string[] } {
  const before = byKey(old.config, old.resolved);
  const after = byKey(next.config, next.resolved);
  const ops: PeerOperation[] = [];
  const changes: string[] = [];
  const base = (publicKey: Uint8Array): PeerOperation => ({ publicKey, remove: false, updateOnly: false, replaceAllowedIps: false, allowedIps: [] });
  for (const key of live.keys()) {
    if (after.has(key)) continue;
    const k = Uint8Array.from(Buffer.from(key, 'base64'));
    ops.push({ ...base(k), remove: true });
    changes.push(`peer ${shortKey(key)} removed`);
  }
  for (const [key, { peer, endpoint }] of after) {
    const was = before.get(key);
    const running = live.get(key);
    const op = base(peer.publicKey);
    const what: string[] = [];
    const full = running === undefined;
    if (full || !sameKey(running.presharedKey, peer.presharedKey)) {
      op.presharedKey = peer.presharedKey ?? ZERO_KEY;
      if (!full) what.push('PresharedKey');
    }
    if ((full || was === undefined || !sameResolvedEndpoint(was.endpoint, endpoint)) && endpoint) {
      op.endpoint = endpointFromResolved(endpoint);
      if (!full) what.push('Endpoint');
    }
    if (full || running.persistentKeepalive !== (peer.persistentKeepalive ?? 0)) {
      op.persistentKeepaliveInterval = peer.persistentKeepalive ?? 0;
      if (!full) what.push('PersistentKeepalive');
    }
    if (full || [...running.allowedIps].sort().join(',') !== allowedText(peer)) {
      op.replaceAllowedIps = true;
      op.allowedIps = peer.allowedIPs.map((prefix) => ({ prefix, remove: false }));
      if (!full) what.push('AllowedIPs');
    }
    if (full) {
      ops.push(op);
      changes.push(`peer ${shortKey(key)} added`);
    } else if (what.length > 0) {
      ops.push(op);
      changes.push(`peer ${shortKey(key)}: ${what.join(', ')} changed`);
    }
  }
  return { ops, changes };
}

/** A configuration file read and checked for a reload, its Endpoint names resolved: what applyReload takes. */
export interface PreparedReload {
  config: QuickConfig;
  resolved: (ResolvedEndpoint | undefined)[];
}

/**
 * Loads live.configPath and resolves its Endpoint names, retrying temporary resolver failures as `up` does (up
 * to about 73 s with wg-quick's defaults, each retry logged). Touches nothing, so it runs outside the UAPI request
 * queue: `wg` keeps being answered meanwhile. Throws ReloadRefused with every FILE:LINE problem.
 */
export async function prepareReload(live: Pick<LiveInterface, 'configPath' | 'log'>): Promise<PreparedReload> {
  try {
    const config = await loadConfig(live.configPath);
    const resolved = await resolveEndpoints(config, { onRetry: (message) => live.log.warn(message), zones: systemZones });
    return { config, resolved };
  } catch (e) {
    if (e instanceof ConfigError) throw new ReloadRefused(e.errors.length ? e.message.split('\n') : [e.message]);
    throw e;
  }
}

/**
 * A reload entry point where the latest request wins: each call prepares (reads the file, resolves names) outside
 * `exclusive`, then applies inside it, unless another call started meanwhile; such an overtaken call rejects with
 * ReloadRefused and changes nothing, since the later one applies the file as it is by then. Without this, a reload
 * still retrying a resolver could apply an older version of the file after a newer one.
 */
export function latestReload<T>(
  prepare: () => Promise<T>,
  apply: (prepared: T) => Promise<string[]>,
  exclusive: (fn: () => Promise<string[]>) => Promise<string[]>,
): () => Promise<string[]> {
  let started = 0;
  return async () => {
    const mine = ++started;
    const prepared = await prepare();
    return exclusive(() => {
      if (mine !== started) {
        return Promise.reject(new ReloadRefused(['a later reload started while this one was reading the file; that one applies the file as it is now']));
      }
      return apply(prepared);
    });
  };
}

/** prepareReload, then applyReload at once: for callers that already hold the UAPI request queue (tests). */
export async function reloadInterface(live: LiveInterface): Promise<string[]> {
  return applyReload(live, await prepareReload(live));
}

/**
 * Applies the difference between what runs and `next` (see the header). Resolves with one line per change
 * (empty: the file matches what runs). Rejects with ReloadRefused when the file cannot be applied (nothing
 * changed), or with the error of a step that failed (what the reload had changed is undone). Run it where no
 * `wg set` can interleave (UapiServer.exclusive).
 */
export async function applyReload(live: LiveInterface, next: PreparedReload): Promise<string[]> {
  const { log, ifname } = live;
  for (const w of next.config.warnings) log.warn(w);
  const changes: string[] = [];
  const iface = next.config.interface;
  const device = live.device;

  // 1b. The mesh's part, checked before anything changes.
  const mesh = live.mesh;
  let prepared: PreparedMesh | undefined;
  if (mesh && (live.config.mesh || next.config.mesh)) {
    const port = iface.listenPort ?? device.listenPort;
    try {
      prepared = await mesh.prepare(meshInputs(next.config, port), iface.publicKey);
    } catch (e) {
      throw new ReloadRefused([`${live.configPath}: [Mesh]: ${(e as Error).message}`]);
    }
  }
  // 1c. The mesh steps back from every key and prefix the old or the new [Peer]s hold.
  const staticOf = (c: QuickConfig): readonly StaticPeer[] => meshInputs(c)?.staticPeers ?? [];
  const holding = mesh !== undefined && live.config.mesh !== undefined;
  if (holding) await mesh.holdStatic([...staticOf(live.config), ...staticOf(next.config)]);
  try {
    changes.push(...(await reloadStatic(live, next)));
  } catch (e) {
    if (holding) await mesh.holdStatic(staticOf(live.config));
    throw e;
  }
  live.config = next.config;
  live.resolved = next.resolved;

  // 5. The mesh takes its new settings (nothing here waits for etcd or can be refused any more).
  if (mesh && prepared) {
    try {
      changes.push(...(await mesh.apply(prepared)));
    } catch (e) {
      log.error(`[!] mesh: ${(e as Error).message}`);
      changes.push(`mesh: ${(e as Error).message}`);
    }
  }
  log.info({ changes: changes.length }, `${ifname}: reloaded ${live.configPath}${changes.length ? '' : ' (no changes)'}`);
  return changes;
}

/** Steps 2 to 4: the port, system changes, the WireGuard part. Updates live.applied; undoes itself on failure. */
async function reloadStatic(
  live: LiveInterface,
  next: { config: QuickConfig; resolved: (ResolvedEndpoint | undefined)[] },
): Promise<string[]> {
  const { log, ifname } = live;
  const changes: string[] = [];
  const iface = next.config.interface;
  const device = live.device;

  // 2. The port: the device rebinds or stays where it was (and the reload stops, nothing else changed).
  const previousPort = device.listenPort;
  if (iface.listenPort !== undefined && iface.listenPort !== previousPort) {
    await live.control.apply({ listenPort: iface.listenPort, replacePeers: false, peers: [] });
    changes.push(`listening on UDP port ${device.listenPort} (was ${previousPort})`);
  }

  // 3. System changes.
  const plan = planReload(live.config, next.config);
  const ctx = {
    ifname, ifindex: live.ifindex, ops: live.ops, log, tx: live.tx,
    endpoints: next.resolved.flatMap((r): IpAddress[] => (r ? [parseIp(r.address)!] : [])),
    fwMark: iface.fwMark,
    setFwMark: (mark: number) => device.setFwMark(mark),
  };
  for (const step of plan.remove) {
    const text = describeRemoval(step, ifname);
    log.info(`[#] ${text}`);
    await live.tx.undoGroup(stepKey(step));
    changes.push(text);
  }
  const sub = new Transaction(log);
  let applied: ApplyResult;
  try {
    // The full tunnel's table and fwmark carry over while any family still tunnels everything.
    const prior = planUp(next.config).some((s) => s.op === 'default-route') ? live.applied : {};
    applied = await applySteps(plan.add, { ...ctx, tx: sub }, prior);
  } catch (e) {
    log.error(`[!] ${(e as Error).message}: undoing this reload`);
    await sub.rollback();
    if (plan.remove.length) await applySteps([...plan.remove].reverse(), ctx, live.applied).catch((err: Error) => log.error(`[!] could not restore: ${err.message}`));
    if (device.listenPort !== previousPort) await live.control.apply({ listenPort: previousPort, replacePeers: false, peers: [] });
    throw e;
  }
  live.tx.adopt(sub);
  for (const step of plan.add) changes.push(describe(step, ifname));

  // 4. The WireGuard part, as wg syncconf. The mesh's peers are not the file's to remove or change.
  const meshPeers = live.mesh?.ownedPeers() ?? new Set<string>();
  const running = livePeers(live.control);
  for (const k of meshPeers) running.delete(k);
  const peers = peerChanges(live, next, running);
  const op: SetOperation = { replacePeers: false, peers: peers.ops };
  if (!constantTimeEqual(iface.privateKey, live.config.interface.privateKey)) {
    op.privateKey = iface.privateKey;
    changes.push('PrivateKey changed: every session restarts');
  }
  if (iface.fwMark !== undefined && iface.fwMark !== device.fwMark) {
    op.fwmark = iface.fwMark;
    changes.push(`FwMark ${iface.fwMark}`);
  }
  if (op.privateKey || op.fwmark !== undefined || op.peers.length) await live.control.apply(op);
  changes.push(...peers.changes);
  live.applied = applied;
  return changes;
}
