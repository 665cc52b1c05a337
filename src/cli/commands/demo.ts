/**
 * `tunvpn demo`: build the namespace lab (a ⇄ b tunnel, LAN b — c), show what was built, ping across it both ways,
 * run a short iperf3 a → c, and tear it all down (also on Ctrl-C). Exit status 1 when a ping got no reply.
 * Needs root (namespaces). `--peer-a/--peer-b wireguard-go` shows interop with the reference implementation.
 */
import { Option, type Command } from 'commander';
import { formatInterface, plain } from '../../uapi/format.js';
import { withClient } from '../../uapi/client.js';
import { DEFAULT_SOCKET_DIR } from '../../uapi/paths.js';
import { DAEMONS, formatIperf, formatPing, Lab, onPath, type Daemon } from '../../lab/index.js';
import { ping } from '../../lab/ping.js';
import { buildLabSites } from '../../lab/sites.js';
import type { CliContext } from '../context.js';

/** Seconds of iperf3 in the demo. */
const DEMO_IPERF_SECONDS = 5;
const DEMO_PINGS = 5;
/** How long the first handshake may take before the demo gives up (ms). */
const HANDSHAKE_TIMEOUT_MS = 15_000;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

interface DemoOptions {
  keep: boolean;
  sites: boolean;
  peerA: Daemon;
  peerB: Daemon;
}

class Interrupted extends Error {
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
  }
}

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('build a 3-namespace lab with a tunnel, show it, ping and iperf3 across it, then tear it down (root)')
    .option('--keep', 'leave the lab up until Ctrl-C', false)
    .option('--no-sites', 'skip the second step: two sites sharing one Layer-2 segment through the tunnel')
    .addOption(new Option('--peer-a <impl>', 'implementation at end a').choices(DAEMONS).default('tunvpn'))
    .addOption(new Option('--peer-b <impl>', 'implementation at end b').choices(DAEMONS).default('tunvpn'))
    .action((opts: DemoOptions) => runDemo(opts, ctx));
}

async function runDemo(opts: DemoOptions, ctx: CliContext): Promise<void> {
  if (process.getuid?.() !== 0) ctx.fail('tunvpn demo needs root (it creates network namespaces)');
  const out = (s: string) => ctx.io.out(`${s}\n`);
  // Ctrl-C: stop the current step, then the finally below tears the lab down (children get SIGINT too).
  let onSignal: (s: NodeJS.Signals) => void = () => {};
  const interrupted = new Promise<never>((_, reject) => {
    onSignal = (s) => reject(new Interrupted(s));
  });
  interrupted.catch(() => {});
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  const step = <T>(p: Promise<T>) => {
    p.catch(() => {}); // after an interrupt the abandoned step may still fail: that is expected, not unhandled
    return Promise.race([p, interrupted]);
  };

  let lab: Lab | undefined;
  const failures: string[] = [];
  try {
    out(`building the lab: a = ${opts.peerA}, b = ${opts.peerB} ...`);
    lab = await step(Lab.create({ a: opts.peerA, b: opts.peerB, log: ctx.logger(), handleSignals: false }));
    out('');
    out(lab.diagram());
    const { addr } = lab;
    if (!(await step(lab.waitReachable('a', addr.b, HANDSHAKE_TIMEOUT_MS)))) failures.push(`no handshake: a cannot reach ${addr.b}`);
    for (const end of ['a', 'b'] as const) out(await step(showEnd(lab, end)));

    const pingStep = async (label: string, from: 'a' | 'c', to: string) => {
      const r = await step(lab!.ping(from, to, DEMO_PINGS));
      out(`ping ${label.padEnd(34)} ${formatPing(r)}`);
      if (r.received === 0) failures.push(`ping ${label}: no reply`);
      else if (r.loss > 0) out(`  (some loss: the first packets may have waited for the handshake)`);
    };
    await pingStep(`a -> b tunnel ${addr.b}`, 'a', addr.b);
    await pingStep(`a -> c on the LAN ${addr.c}`, 'a', addr.c);
    await pingStep(`c -> a back through ${addr.a}`, 'c', addr.a);

    if (onPath('iperf3')) {
      const cpu0 = lab.daemonCpuSeconds() ?? 0;
      try {
        const r = await step(lab.iperf({ duration: DEMO_IPERF_SECONDS }));
        const cpu = (lab.daemonCpuSeconds() ?? 0) - cpu0;
        out(`iperf3 a -> c (TCP, 1 stream):      ${formatIperf(r)}; daemons used ${cpu.toFixed(2)} CPU-s`);
      } catch (e) {
        if (e instanceof Interrupted) throw e;
        out(`iperf3 a -> c failed: ${(e as Error).message.split('\n')[0]}`);
      }
    } else {
      out('iperf3 is not installed, skipping the throughput test (Debian/Ubuntu: apt-get install iperf3)');
    }
    if (opts.sites) await step(sitesStep(lab, ctx, out, failures));
    if (opts.keep) {
      if (failures.length) out(`\nproblems: ${failures.join('; ')}`);
      out(`\nthe lab is up: try  ip netns exec ${lab.plan.ns.a} ping ${addr.c}  — Ctrl-C tears it down`);
      await interrupted.catch(() => {});
    }
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    failures.push(e.message);
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    if (lab) {
      out('tearing the lab down ...');
      const problems = await lab.dispose();
      out(problems.length ? `clean-up problems: ${problems.join('; ')}` : 'done: namespaces, processes and files removed');
    }
  }
  if (failures.length) ctx.fail(`demo failed: ${failures.join('; ')}`);
}

/**
 * Step 2: a bridge + vxlan over the tunnel + container namespaces on each end (docs/sites.md); c1 and c2 on a ping
 * c3 on b across one Layer-2 segment carried inside the encrypted tunnel; then the sites are taken down again.
 */
async function sitesStep(lab: Lab, ctx: CliContext, out: (s: string) => void, failures: string[]): Promise<void> {
  out('\nstep 2: two sites sharing one Layer-2 segment (vxlan VNI 42 inside the tunnel)');
  const sites = await buildLabSites(lab.plan, ctx.logger());
  for (const c of sites.containers) lab.adoptNamespace(c.name);
  out('  site a: bridge br-lan 192.168.50.1, vx-lan over ' + lab.plan.wg.a + ', containers c1 .11, c2 .12');
  out('  site b: bridge br-lan 192.168.50.2, vx-lan over ' + lab.plan.wg.b + ', container c3 .13');
  try {
    const c3 = sites.containers.find((c) => c.host === 'b')!;
    for (const c of sites.containers.filter((x) => x.host === 'a')) {
      const r = await ping(lab.procs, c.name, c3.address, DEMO_PINGS);
      const label = `${c.name.split('-').pop()} (site a) -> c3 (site b) ${c3.address}`;
      out(`ping ${label.padEnd(34)} ${formatPing(r)}`);
      if (r.received === 0) failures.push(`ping ${label}: no reply`);
    }
  } finally {
    await sites.down();
    out('  sites taken down');
  }
}

/** `tunvpn show`-style state of one end, read over its UAPI socket (same protocol for both implementations). */
async function showEnd(lab: Lab, end: 'a' | 'b'): Promise<string> {
  const d = lab.daemons[end];
  if (!d) return '';
  const snap = await withClient(d.ifname, { dir: DEFAULT_SOCKET_DIR }, (c) => c.get());
  return `[${end}: ${d.kind} in ${d.ns}]\n${formatInterface(d.ifname, snap, { nowSec: Math.floor(Date.now() / 1000), style: plain })}`;
}
