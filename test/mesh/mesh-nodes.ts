/**
 * Mesh nodes for integration tests: each node is a namespace on the etcd cluster's segment (etcd-cluster.ts)
 * running `tunvpn up NODE.conf` with a [Mesh] section and no [Peer] at all.
 *
 *     [ns …-sw] br0 ── m1 m2 m3 (etcd, 10.231.X.1-3) ── n1 … nN (10.231.X.11+)
 *
 *     node K:  tunnel tmTAGK  Address 10.232.Y.K/24, ListenPort 51820
 *              [Mesh] Etcd = the three members, Name = node-K, TTL = ttl, AllowedIPs = 10.232.Y.K/32, 172.20.Y.16K/28
 *              (the /28 lies outside the tunnel's /24: the others get a route for it, which the tests watch)
 *
 * The default Endpoint is used (the source address towards etcd, with ListenPort). Teardown, registered before
 * anything is made: every daemon stopped (SIGTERM, SIGKILL after a grace period), the namespaces deleted, the
 * sockets and pid files of these interfaces removed, the temp dir (private keys, mode 600) removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';
import { collect, deleteNs, ip, sh, uniqueNs } from '../netns/harness.js';
import { exited, PID_DIR, run, SOCKET_DIR, sleep, stopDaemon, TUNVPN_MAIN, type Daemon, type RunResult } from '../netns/topology.js';
import type { EtcdCluster } from './etcd-cluster.js';

/** How long a daemon gets to say it is up, ms (node start-up, the addon, the first etcd attempt). */
const UP_TIMEOUT_MS = 60_000;
const PORT = 51820;

export interface MeshNode {
  readonly index: number;
  readonly name: string;
  readonly ns: string;
  readonly ifname: string;
  readonly conf: string;
  readonly publicKey: string;
  /** Address on the etcd segment (the underlay). */
  underlay: string;
  readonly tunnel: string;
  /** The extra prefix it routes into the mesh. */
  readonly lan: string;
  daemon?: Daemon;
}

export interface MeshLab {
  readonly tag: string;
  readonly nodes: MeshNode[];
  readonly ttl: number;
  readonly dir: string;
  /** Adds a node (namespace, address, config); does not start it. */
  addNode(): MeshNode;
  /** (Re)writes the node's config; `mesh` are extra [Mesh] lines. */
  writeConfig(node: MeshNode, mesh?: string[]): void;
  /** Starts `tunvpn up` and resolves once it says the interface is up. */
  start(node: MeshNode): Promise<Daemon>;
  /** SIGKILL, as a crash. */
  kill(node: MeshNode): Promise<void>;
  /** SIGTERM; resolves with the exit status. */
  stop(node: MeshNode): Promise<number | string>;
  /** Runs the CLI inside the node's namespace. */
  cli(node: MeshNode, args: string[]): Promise<RunResult>;
}

export function buildMeshLab(t: ExecutionContext, cluster: EtcdCluster, opts: { purpose: string; ttl: number; meshLines?: string[] }): MeshLab {
  const tag = randomBytes(2).toString('hex');
  const y = randomInt(1, 254);
  const base = uniqueNs(opts.purpose);
  const dir = mkdtempSync(join(tmpdir(), `tv-mesh-${tag}-`));
  const nodes: MeshNode[] = [];

  t.teardown(async () => {
    await Promise.all(nodes.map(async (n) => (n.daemon ? stopDaemon(n.daemon) : undefined)));
    for (const n of nodes) deleteNs(n.ns);
    const mine = (f: string) => nodes.some((n) => f.startsWith(`${n.ifname}.`));
    for (const d of [SOCKET_DIR, PID_DIR]) {
      if (!existsSync(d)) continue;
      for (const f of readdirSync(d).filter(mine)) unlinkSync(join(d, f));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const etcdLine = `Etcd = ${cluster.clientUrls.join(', ')}`;
  const privateKeys = new Map<MeshNode, string>();
  const lab: MeshLab = {
    tag,
    nodes,
    ttl: opts.ttl,
    dir,
    addNode() {
      const index = nodes.length + 1;
      const priv = generatePrivateKey(systemRng);
      const ifname = `tm${tag}${index}`;
      const node: MeshNode = {
        index,
        name: `node-${index}`,
        ns: `${base}-n${index}`,
        ifname,
        conf: join(dir, `${ifname}.conf`),
        publicKey: encodeKey(publicKeyOf(priv)),
        underlay: cluster.address(10 + index),
        tunnel: `10.232.${y}.${index}`,
        lan: `172.20.${y}.${16 * index}/28`,
      };
      privateKeys.set(node, encodeKey(priv));
      priv.fill(0);
      nodes.push(node);
      sh('ip', ['netns', 'add', node.ns]);
      ip(node.ns, 'link', 'set', 'lo', 'up');
      cluster.attach(node.ns, node.underlay);
      lab.writeConfig(node);
      return node;
    },
    writeConfig(node, mesh = []) {
      const text = [
        '[Interface]',
        `PrivateKey = ${privateKeys.get(node)!}`,
        `Address = ${node.tunnel}/24`,
        `ListenPort = ${PORT}`,
        '',
        '[Mesh]',
        etcdLine,
        `Name = ${node.name}`,
        `TTL = ${opts.ttl}`,
        `AllowedIPs = ${node.tunnel}/32, ${node.lan}`,
        ...(opts.meshLines ?? []),
        ...mesh,
        '',
      ].join('\n');
      if (existsSync(node.conf)) unlinkSync(node.conf);
      writeFileSync(node.conf, text, { mode: 0o600 });
    },
    async start(node) {
      const child: ChildProcess = spawn('ip', ['netns', 'exec', node.ns, process.execPath, TUNVPN_MAIN, 'up', node.conf], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TUNVPN_LOG_LEVEL: 'info' },
      });
      const out = collect(child);
      const daemon: Daemon = { impl: 'tunvpn', ns: node.ns, ifname: node.ifname, child, pid: child.pid!, output: out.text };
      node.daemon = daemon;
      await out.wait(new RegExp(`${node.ifname} is up`), UP_TIMEOUT_MS);
      return daemon;
    },
    async kill(node) {
      const child = node.daemon?.child;
      if (!child || exited(child)) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await done;
      // The kernel removes the TUN device with the last file descriptor; wait until it has.
      for (let i = 0; i < 100 && (await run(node.ns, 'ip', ['link', 'show', node.ifname])).code === 0; i++) await sleep(50);
    },
    async stop(node) {
      return node.daemon ? stopDaemon(node.daemon) : 'not started';
    },
    cli(node, args) {
      return run(node.ns, process.execPath, [TUNVPN_MAIN, ...args]);
    },
  };
  return lab;
}

/** `wg show IFACE dump` peers of a node: public key → latest handshake (s), endpoint, allowed IPs. */
export async function peersOf(node: MeshNode): Promise<Map<string, { latestHandshake: number; endpoint: string; allowedIps: string }>> {
  const r = await run(node.ns, 'wg', ['show', node.ifname, 'dump']);
  if (r.code !== 0) throw new Error(`wg show ${node.ifname} dump in ${node.ns}: ${r.stderr}`);
  const out = new Map<string, { latestHandshake: number; endpoint: string; allowedIps: string }>();
  for (const line of r.stdout.split('\n').slice(1)) {
    const f = line.split('\t');
    if (f.length !== 8) continue;
    out.set(f[0]!, { endpoint: f[2]!, allowedIps: f[3]!, latestHandshake: Number(f[4]) });
  }
  return out;
}

/** Routes through the node's tunnel interface (destinations). */
export async function tunnelRoutes(node: MeshNode): Promise<string[]> {
  const r = await run(node.ns, 'ip', ['-j', 'route', 'show', 'dev', node.ifname]);
  if (r.code !== 0) return [];
  return (JSON.parse(r.stdout || '[]') as { dst: string }[]).map((x) => x.dst);
}

/** Polls `cond` every `intervalMs` until it holds; resolves with the ms it took, rejects after `ms`. */
export async function pollUntil(cond: () => Promise<boolean>, what: string, ms = 60_000, intervalMs = 200): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
