/**
 * The namespace lab: three namespaces a — b — c, with a WireGuard tunnel a ⇄ b (tunvpn or wireguard-go at each
 * end) or the raw veth path, plus measurement helpers. See plan.ts for the topology.
 *
 *   const lab = await Lab.create({ a: 'wireguard-go', b: 'tunvpn', log });
 *   try { await lab.ping('a', lab.addr.c, 5); } finally { await lab.dispose(); }
 *
 * Clean-up contract: dispose() stops every process the lab started (daemons first, with SIGTERM so they remove
 * their interfaces and sockets), unlinks UAPI sockets or pid files left behind, deletes the namespaces and the
 * temporary config directory. create() calls it itself when a step fails. With handleSignals (default), SIGINT and
 * SIGTERM dispose and then exit 130/143; a synchronous 'exit' hook kills and deletes whatever is still there.
 */
import { rmSync } from 'node:fs';
import { silentLogger, type Logger } from '../log.js';
import { writeConfigs, type ConfigFiles, type TunnelEnd } from './configs.js';
import { cpuSeconds } from './cpu.js';
import { DEFAULT_WIREGUARD_GO, removeLeftovers, startDaemon, type RunningDaemon } from './daemons.js';
import { labDiagram, type EndKind } from './diagram.js';
import { ProcessSet } from './exec.js';
import { runIperf, runIperfUdp, type IperfOptions, type IperfResult, type IperfUdpOptions, type IperfUdpResult } from './iperf.js';
import { ping, pingReplies, type PingReplies, type PingResult } from './ping.js';
import { makePlan, type LabNode, type LabPlan } from './plan.js';
import { residentMemory, type ResidentMemory } from './rss.js';
import { addLanHostAddresses, addVethRoute, buildTopology, deleteNamespaces } from './topology.js';

export interface LabOptions {
  a: EndKind;
  b: EndKind;
  /** 6 hex digits; random by default. */
  tag?: string;
  log?: Logger;
  /** Dispose and exit on SIGINT/SIGTERM (default true; tests pass false and use teardown hooks). */
  handleSignals?: boolean;
  /** The wireguard-go executable for 'wireguard-go' ends (default: the one on $PATH). */
  wireguardGo?: string;
  /** Also build a host on b's LAN (namespace f, see plan.ts), e.g. for the flood scenario. Default false. */
  lanHost?: boolean;
}

/** Grace period for a daemon to take its interface down after SIGTERM (ms). */
const DAEMON_STOP_GRACE_MS = 5_000;
const HELPER_STOP_GRACE_MS = 1_000;
const REACHABLE_POLL_PINGS = 1;
const SIGNAL_EXIT_CODES: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

export class Lab {
  readonly procs = new ProcessSet();
  readonly daemons: Partial<Record<TunnelEnd, RunningDaemon>> = {};
  /** Namespaces that exist and are ours to delete. */
  private readonly namespaces: string[] = [];
  private files: ConfigFiles | undefined;
  /** WireGuard interfaces started on top of the lab whose UAPI sockets dispose() must not leave behind. */
  private readonly extraInterfaces: string[] = [];
  private disposing: Promise<string[]> | undefined;
  private readonly onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    this.log.warn(`${sig}: tearing the lab down`);
    void this.dispose().finally(() => process.exit(SIGNAL_EXIT_CODES[sig]));
  };
  private readonly onExit = () => this.disposeSync();

  private constructor(
    readonly plan: LabPlan,
    readonly ends: { a: EndKind; b: EndKind },
    private readonly log: Logger,
    private readonly handleSignals: boolean,
    private readonly opts: { wireguardGo?: string; lanHost: boolean },
  ) {}

  static async create(opts: LabOptions): Promise<Lab> {
    if ((opts.a === 'veth') !== (opts.b === 'veth')) throw new Error(`lab: both ends must be 'veth' or both a daemon (got a=${opts.a}, b=${opts.b})`);
    const lab = new Lab(makePlan(opts.tag), { a: opts.a, b: opts.b }, opts.log ?? silentLogger, opts.handleSignals ?? true, {
      wireguardGo: opts.wireguardGo,
      lanHost: opts.lanHost ?? false,
    });
    lab.hook();
    try {
      await lab.build();
    } catch (e) {
      const problems = await lab.dispose();
      if (problems.length) lab.log.warn(`lab clean-up after a failed build: ${problems.join('; ')}`);
      throw e;
    }
    return lab;
  }

  /** The wireguard-go executable the lab runs (a path or a name on $PATH). */
  get wireguardGo(): string {
    return this.opts.wireguardGo ?? DEFAULT_WIREGUARD_GO;
  }

  /** The log the lab announces its changes on. */
  get logger(): Logger {
    return this.log;
  }

  get tunnelled(): boolean {
    return this.ends.a !== 'veth';
  }

  /** The address of each node as the others reach it (a and b: tunnel addresses when tunnelled). */
  get addr(): Record<LabNode, string> {
    const { plan } = this;
    return this.tunnelled
      ? { a: plan.tunnel.a, b: plan.tunnel.b, c: plan.lan.c }
      : { a: plan.underlay.a, b: plan.underlay.b, c: plan.lan.c };
  }

  /** The temporary directory holding the generated configs (private keys!); removed by dispose(). */
  get configDir(): string | undefined {
    return this.files?.dir;
  }

  diagram(): string {
    return labDiagram(this.plan, this.ends.a, this.ends.b);
  }

  private async build(): Promise<void> {
    await buildTopology(this.plan, this.log, (ns) => this.namespaces.push(ns), this.opts.lanHost ? this.plan.lanHost : undefined);
    if (!this.tunnelled) return addVethRoute(this.plan, this.log);
    this.files = writeConfigs(this.plan);
    const ctx = { plan: this.plan, files: this.files, procs: this.procs, log: this.log, wireguardGo: this.opts.wireguardGo };
    const starts = (['b', 'a'] as const).map(async (end) => {
      const kind = this.ends[end];
      if (kind === 'veth') throw new Error(`lab: end ${end} has no daemon`); // excluded by create()
      this.daemons[end] = await startDaemon(kind, end, ctx);
    });
    const results = await Promise.allSettled(starts);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async ping(from: LabNode, to: string, count: number): Promise<PingResult> {
    this.checkLive();
    return ping(this.procs, this.plan.ns[from], to, count);
  }

  /** As ping(), with every reply's round-trip time. */
  async pingReplies(from: LabNode, to: string, count: number): Promise<PingReplies> {
    this.checkLive();
    return pingReplies(this.procs, this.plan.ns[from], to, count);
  }

  /** Pings once at a time until a reply comes back or `timeoutMs` passes (the first handshake takes a moment). */
  async waitReachable(from: LabNode, to: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.disposing) {
      if ((await this.ping(from, to, REACHABLE_POLL_PINGS)).received > 0) return true;
    }
    return false;
  }

  /** iperf3 client in a, server in c (on the LAN behind b). */
  async iperf(opts: IperfOptions): Promise<IperfResult> {
    this.checkLive();
    return runIperf(this.procs, this.plan.ns.c, this.plan.ns.a, this.plan.lan.c, opts);
  }

  /** UDP iperf3: client in a sends to the server in c. */
  async iperfUdp(opts: IperfUdpOptions): Promise<IperfUdpResult> {
    this.checkLive();
    return runIperfUdp(this.procs, this.plan.ns.c, this.plan.ns.a, this.plan.lan.c, opts);
  }

  /** utime+stime (s) of both daemons together, or of the one at `end`; undefined on the veth path. */
  daemonCpuSeconds(end?: TunnelEnd): number | undefined {
    const ds = end === undefined ? Object.values(this.daemons) : [this.daemons[end]].filter((d) => d !== undefined);
    if (ds.length === 0) return undefined;
    return ds.reduce((sum, d) => sum + cpuSeconds(d.pid), 0);
  }

  /** Resident memory of the daemon at `end`; undefined on the veth path. */
  daemonMemory(end: TunnelEnd): ResidentMemory | undefined {
    const d = this.daemons[end];
    return d && residentMemory(d.pid);
  }

  /** Gives the LAN host (lanHost) these extra addresses, e.g. as many flood sources. */
  async addLanHostAddresses(addresses: readonly string[]): Promise<void> {
    this.checkLive();
    if (!this.opts.lanHost) throw new Error('lab: built without a LAN host');
    await addLanHostAddresses(this.plan, addresses, this.log);
  }

  /** Registers a WireGuard interface started on top of the lab, so dispose() removes its leftover UAPI socket. */
  adoptInterface(ifname: string): void {
    if (!this.extraInterfaces.includes(ifname)) this.extraInterfaces.push(ifname);
  }

  /** `wg show IFACE` of one end (works for both daemons: same UAPI). */
  async wgShow(end: TunnelEnd): Promise<string> {
    const d = this.daemons[end];
    if (!d) throw new Error(`no daemon at ${end}`);
    return (await this.procs.run(d.ns, 'wg', ['show', d.ifname], { timeoutMs: 10_000 })).stdout;
  }

  private checkLive(): void {
    if (this.disposing) throw new Error('the lab has been torn down');
  }

  /** Registers a namespace made on top of the lab (e.g. a site's container) so dispose() deletes it too. */
  adoptNamespace(name: string): void {
    if (!this.namespaces.includes(name)) this.namespaces.push(name);
  }

  /** Tears everything down; idempotent. Returns problems met on the way (also logged), [] when clean. */
  dispose(): Promise<string[]> {
    this.disposing ??= this.teardown();
    return this.disposing;
  }

  private async teardown(): Promise<string[]> {
    const problems: string[] = [];
    for (const d of Object.values(this.daemons)) this.log.info(`[#] stop ${d.kind} ${d.ifname} (pid ${d.pid})`);
    await Promise.all(Object.values(this.daemons).map((d) => d.proc.stop(DAEMON_STOP_GRACE_MS)));
    await this.procs.stopAll(HELPER_STOP_GRACE_MS);
    this.removeFiles();
    problems.push(...deleteNamespaces(this.namespaces, this.log));
    this.unhook();
    for (const p of problems) this.log.warn(`lab clean-up: ${p}`);
    return problems;
  }

  private removeFiles(): void {
    for (const ifname of [...Object.values(this.plan.wg), ...this.extraInterfaces]) {
      for (const path of removeLeftovers(ifname)) this.log.info(`[#] removed leftover ${path}`);
    }
    if (this.files) rmSync(this.files.dir, { recursive: true, force: true });
  }

  /** Last resort on process exit: everything synchronous, nothing awaited. */
  private disposeSync(): void {
    this.procs.killAllSync();
    this.removeFiles();
    deleteNamespaces(this.namespaces);
  }

  private hook(): void {
    process.on('exit', this.onExit);
    if (this.handleSignals) for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, this.onSignal);
  }

  private unhook(): void {
    process.off('exit', this.onExit);
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.off(s, this.onSignal);
  }
}
