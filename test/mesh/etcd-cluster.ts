/**
 * A real etcd 3.4 cluster for integration tests, one member per network namespace, on one L2 segment:
 *
 *     [ns …-sw]  bridge br0 (no address)
 *        ├── veth s1 ═══ eth0 [ns …-m1]  10.231.X.1/24   etcd m1: client :2379, peer :2380
 *        ├── veth s2 ═══ eth0 [ns …-m2]  10.231.X.2/24   etcd m2
 *        ├── veth s3 ═══ eth0 [ns …-m3]  10.231.X.3/24   etcd m3
 *        └── veth sh ═══ tvm<hex>  [the test process's namespace]  10.231.X.254/24   (the etcd clients)
 *
 * The test process is the client (Node cannot move its own gRPC sockets into a namespace), so it gets one veth into
 * the switch; X is chosen so that 10.231.X.0/24 is not routed there already. Names carry a per-run tag. Teardown
 * (registered on the test before anything is created, so it also runs on failure) kills every etcd it started by
 * pid (SIGKILL: their data is thrown away), deletes the host veth and the namespaces, and removes the temp dir
 * with data dirs and certificates.
 *
 * Options: `tls` serves clients over https with a CA, server certificates for the member addresses and a client
 * certificate (client-cert-auth on); `auth` creates a user with read-write access to a prefix and enables auth.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { collect, deleteNs, ip, ipJson, sh, uniqueNs } from '../netns/harness.js';
import { skipReason } from '../helpers/skip.js';
import { isAlive, run, sleep, type RunResult } from '../netns/topology.js';

const CLIENT_PORT = 2379;
const PEER_PORT = 2380;
/** Second octet of the cluster's /24 (10.231.X.0/24). */
const NET_OCTET = 231;
const HOST_OCTET = 254;
/** How long a cluster (or a restarted member) gets to become healthy, ms: a loaded 2-core box is slow. */
const HEALTHY_TIMEOUT_MS = 60_000;
/** How long a stopped etcd gets to exit after SIGTERM, ms, before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
const POLL_MS = 200;

export const ETCD_TOOLS = ['ip', 'etcd', 'etcdctl'] as const;

/** How long a worker may outlive its last test before exitWhenDone ends it (ms). */
const EXIT_GRACE_MS = 10_000;

/**
 * Call once at the top of a test file that talks to etcd. Should a gRPC channel or lease timer of the etcd client
 * outlive every close(), the worker would never exit and ava would wait for it until its inactivity timeout (a CI
 * run once ended that way, every test of the file passed). After the file's last hook, a timer that never keeps the
 * process alive by itself waits EXIT_GRACE_MS; if the worker is still running then, it lists the open handles on
 * stderr, so the leak can be found, and ends the worker.
 */
export function exitWhenDone(): void {
  test.after.always(() => {
    setTimeout(() => {
      const open = process.getActiveResourcesInfo().join(', ');
      process.stderr.write(`etcd test worker still running ${EXIT_GRACE_MS} ms after its tests; open: ${open}\n`);
      process.exit(0);
    }, EXIT_GRACE_MS).unref();
  });
}

/** Why the etcd integration tests cannot run here, or undefined. */
export function etcdSkipReason(extraTools: string[] = []): string | undefined {
  return skipReason({ root: true, commands: [...ETCD_TOOLS, ...extraTools] });
}

export interface EtcdMember {
  name: string;
  ns: string;
  address: string;
  clientUrl: string;
  dataDir: string;
  process?: ChildProcess;
  output?: () => string;
}

export interface EtcdClusterOptions {
  purpose: string;
  size?: number;
  tls?: boolean;
  /** Enables auth with user `user`, allowed read-write under `prefix`. */
  auth?: { user: string; password: string; prefix: string };
}

export interface EtcdCluster {
  readonly tag: string;
  readonly members: EtcdMember[];
  readonly clientUrls: string[];
  /** The test process's address on the cluster's segment. */
  readonly hostAddress: string;
  /** The namespace of the segment's bridge (br0). */
  readonly switchNs: string;
  /** `10.231.X.N`: an address on the cluster's segment (N = 1..3 are the members, 254 the test process). */
  address(n: number): string;
  /**
   * Joins namespace `ns` (made by the caller) to the segment: a veth `eth0` in `ns` with `address`/24, its other end
   * on br0. Gone when `ns` is deleted.
   */
  attach(ns: string, address: string): void;
  /** PEM paths when `tls` (ca, client cert and key). */
  readonly tls?: { ca: string; cert: string; key: string };
  readonly dir: string;
  /** Stops member i (0-based): SIGTERM, SIGKILL after a grace period, or SIGKILL at once with `kill`. */
  stop(i: number, kill?: boolean): Promise<void>;
  /** Starts member i again on its data dir. Resolves once it runs (not necessarily healthy). */
  start(i: number): Promise<void>;
  /** Waits until every running member reports healthy (a quorum and a leader). */
  waitHealthy(ms?: number): Promise<void>;
  /** etcdctl against the running members, from the test process (root, with auth and TLS when set). */
  etcdctl(args: string[], opts?: { asRoot?: boolean }): Promise<RunResult>;
  /** Every output line of every member so far (for failure messages). */
  logs(): string;
}

/** Builds the namespaces and starts a healthy cluster; teardown is registered on `t` first. */
export async function startEtcdCluster(t: ExecutionContext, opts: EtcdClusterOptions): Promise<EtcdCluster> {
  const size = opts.size ?? 3;
  const tag = randomBytes(3).toString('hex');
  const x = freeOctet();
  const base = uniqueNs(opts.purpose);
  const sw = `${base}-sw`;
  const hostIf = `tvm${tag}`;
  const dir = mkdtempSync(join(tmpdir(), `tv-etcd-${tag}-`));
  const scheme = opts.tls ? 'https' : 'http';
  const members: EtcdMember[] = Array.from({ length: size }, (_, i) => {
    const address = `10.${NET_OCTET}.${x}.${i + 1}`;
    return {
      name: `m${i + 1}`,
      ns: `${base}-m${i + 1}`,
      address,
      clientUrl: `${scheme}://${address}:${CLIENT_PORT}`,
      dataDir: join(dir, `m${i + 1}`),
    };
  });
  const created: string[] = [];
  let hostLink = false;

  // Every step runs even if an earlier one fails; the first failure is reported after all of them.
  t.teardown(async () => {
    const failures: unknown[] = [];
    const attempt = async (step: () => unknown) => {
      try {
        await step();
      } catch (e) {
        failures.push(e);
      }
    };
    for (const m of members) await attempt(() => killMember(m));
    if (hostLink) await attempt(() => sh('ip', ['link', 'del', hostIf], { allowFail: true }));
    for (const ns of created) await attempt(() => deleteNs(ns));
    await attempt(() => rmSync(dir, { recursive: true, force: true }));
    if (failures.length) throw failures[0];
  });

  for (const ns of [sw, ...members.map((m) => m.ns)]) {
    sh('ip', ['netns', 'add', ns]);
    created.push(ns);
    ip(ns, 'link', 'set', 'lo', 'up');
  }
  ip(sw, 'link', 'add', 'br0', 'type', 'bridge');
  ip(sw, 'link', 'set', 'br0', 'up');
  members.forEach((m, i) => {
    ip(sw, 'link', 'add', `s${i + 1}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', m.ns);
    ip(sw, 'link', 'set', `s${i + 1}`, 'master', 'br0', 'up');
    ip(m.ns, 'addr', 'add', `${m.address}/24`, 'dev', 'eth0');
    ip(m.ns, 'link', 'set', 'eth0', 'up');
  });
  ip(undefined, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'sh', 'netns', sw);
  hostLink = true;
  ip(sw, 'link', 'set', 'sh', 'master', 'br0', 'up');
  const hostAddress = `10.${NET_OCTET}.${x}.${HOST_OCTET}`;
  ip(undefined, 'addr', 'add', `${hostAddress}/24`, 'dev', hostIf);
  ip(undefined, 'link', 'set', hostIf, 'up');

  const tls = opts.tls ? makeCertificates(dir, members.map((m) => m.address)) : undefined;
  const initialCluster = members.map((m) => `${m.name}=http://${m.address}:${PEER_PORT}`).join(',');
  const token = `tv-${tag}`;
  const argsOf = (m: EtcdMember): string[] => {
    const args = [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-peer-urls', `http://${m.address}:${PEER_PORT}`,
      '--initial-advertise-peer-urls', `http://${m.address}:${PEER_PORT}`,
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', token,
      '--logger', 'zap',
      '--log-level', 'warn',
    ];
    if (tls) args.push('--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--trusted-ca-file', tls.ca, '--client-cert-auth');
    return args;
  };

  const launch = (m: EtcdMember) => {
    const child = spawn('ip', ['netns', 'exec', m.ns, 'etcd', ...argsOf(m)], { stdio: ['ignore', 'pipe', 'pipe'] });
    m.process = child;
    m.output = collect(child).text;
  };

  const etcdctl = (args: string[], o: { asRoot?: boolean } = {}): Promise<RunResult> => {
    const running = members.filter((m) => m.process && m.process.exitCode === null && m.process.signalCode === null);
    const base = ['--endpoints', running.map((m) => m.clientUrl).join(','), '--dial-timeout', '3s', '--command-timeout', '10s'];
    if (tls) base.push('--cacert', tls.ca, '--cert', tls.clientCert, '--key', tls.clientKey);
    if (opts.auth && authEnabled) base.push('--user', o.asRoot ? `root:${rootPassword}` : `${opts.auth.user}:${opts.auth.password}`);
    return run(undefined, 'etcdctl', [...base, ...args]);
  };
  let authEnabled = false;
  const rootPassword = randomBytes(12).toString('hex');

  const cluster: EtcdCluster = {
    tag,
    members,
    clientUrls: members.map((m) => m.clientUrl),
    hostAddress,
    switchNs: sw,
    address: (n) => `10.${NET_OCTET}.${x}.${n}`,
    attach(ns, address) {
      const port = `p${randomBytes(3).toString('hex')}`;
      ip(sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip(sw, 'link', 'set', port, 'master', 'br0', 'up');
      ip(ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip(ns, 'link', 'set', 'eth0', 'up');
    },
    tls: tls && { ca: tls.ca, cert: tls.clientCert, key: tls.clientKey },
    dir,
    async stop(i, kill = false) {
      await killMember(members[i]!, kill ? 'SIGKILL' : 'SIGTERM');
    },
    async start(i) {
      const m = members[i]!;
      if (m.process && m.process.exitCode === null && m.process.signalCode === null) throw new Error(`${m.name} is running`);
      launch(m);
    },
    async waitHealthy(ms = HEALTHY_TIMEOUT_MS) {
      const deadline = Date.now() + ms;
      let last: RunResult | undefined;
      for (;;) {
        last = await etcdctl(['endpoint', 'health'], { asRoot: true });
        if (last.code === 0) return;
        if (Date.now() > deadline) throw new Error(`etcd cluster not healthy after ${ms} ms: ${last.stdout}${last.stderr}\n${cluster.logs()}`);
        await sleep(POLL_MS);
      }
    },
    etcdctl,
    logs() {
      return members.map((m) => `--- ${m.name}\n${m.output?.() ?? ''}`).join('\n');
    },
  };

  members.forEach(launch);
  await cluster.waitHealthy();

  if (opts.auth) {
    const a = opts.auth;
    const steps: string[][] = [
      ['user', 'add', `root:${rootPassword}`, '--interactive=false'],
      ['user', 'add', `${a.user}:${a.password}`, '--interactive=false'],
      ['role', 'add', 'mesh'],
      ['role', 'grant-permission', 'mesh', '--prefix=true', 'readwrite', a.prefix],
      ['user', 'grant-role', a.user, 'mesh'],
      ['auth', 'enable'],
    ];
    for (const step of steps) {
      const r = await etcdctl(step);
      if (r.code !== 0) throw new Error(`etcdctl ${step.join(' ')}: ${r.stderr}`);
    }
    authEnabled = true;
  }
  return cluster;
}

/** X in 10.231.X.0/24 such that nothing in this namespace routes into that /24 yet. */
function freeOctet(): number {
  const routes = ipJson<{ dst: string }[]>(undefined, 'route', 'show');
  const used = new Set(
    routes.flatMap((r) => {
      const m = /^10\.231\.(\d+)\./.exec(r.dst);
      return m ? [Number(m[1])] : [];
    }),
  );
  for (let i = 0; i < 20; i++) {
    const x = randomInt(0, 256);
    if (!used.has(x)) return x;
  }
  throw new Error('no free 10.231.X.0/24 for the etcd cluster');
}

async function killMember(m: EtcdMember, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const child = m.process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS).unref());
  if ((await Promise.race([done, timer])) === 'timeout') {
    child.kill('SIGKILL');
    await done;
  }
  if (child.pid !== undefined && isAlive(child.pid)) throw new Error(`etcd ${m.name} (pid ${child.pid}) survived SIGKILL`);
}

interface Certificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A throwaway CA, one server certificate for every member address (SAN IPs), one client certificate. */
function makeCertificates(dir: string, addresses: string[]): Certificates {
  const p = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => sh('openssl', args);
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=tunvpn test CA',
    '-keyout', p('ca.key'), '-out', p('ca.pem'));
  writeFileSync(p('server.ext'), `subjectAltName=${addresses.map((a) => `IP:${a}`).join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [['server', 'etcd'], ['client', 'tunvpn']] as const) {
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`));
    ssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '1',
      '-extfile', p(`${name}.ext`), '-out', p(`${name}.pem`));
  }
  return { ca: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), clientCert: p('client.pem'), clientKey: p('client.key') };
}
