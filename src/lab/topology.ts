/**
 * Builds and removes the lab's namespaces and veth links with our netlink module (no `ip` commands). Each step is
 * logged before it is made. Tunnel interfaces are not made here (see daemons.ts).
 */
import { writeFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import { netns, Rtnl } from '../netlink/index.js';
import { LAB_NODES, type LabPlan, type LanHostPlan, type NamespacePlan } from './plan.js';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** Runs fn with an Rtnl socket opened inside namespace `ns`, closing it afterwards. */
export async function withRtnl<T>(ns: string, fn: (rtnl: Rtnl) => Promise<T>): Promise<T> {
  const rtnl = Rtnl.open({ netns: ns });
  try {
    return await fn(rtnl);
  } finally {
    rtnl.close();
  }
}

/**
 * Creates namespaces a, b, c; veth a⇄b (underlay) and b⇄c (LAN); addresses; c's default route via b; forwarding
 * on b. `created` receives each namespace as soon as it exists, so the caller can remove it if a later step fails.
 * With `lanHost`, b's LAN address sits on a bridge that also holds a veth to that host's namespace (see plan.ts).
 * Throws the netlink error of the first step that fails (namespaces made so far stay, for the caller to delete).
 */
export async function buildTopology(plan: NamespacePlan, log: Logger, created: (ns: string) => void, lanHost?: LanHostPlan): Promise<void> {
  for (const node of LAB_NODES) {
    log.info(`[#] netns add ${plan.ns[node]}`);
    netns.create(plan.ns[node]);
    created(plan.ns[node]);
    await withRtnl(plan.ns[node], (r) => r.links.up('lo'));
  }
  const { ns, links, underlay, lan } = plan;
  log.info(`[#] veth ${ns.a}/${links.aToB} ⇄ ${ns.b}/${links.bToA}`);
  await withRtnl(ns.a, (r) => r.links.create({ kind: 'veth', name: links.aToB, peerName: links.bToA, peerNetns: ns.b }));
  log.info(`[#] veth ${ns.b}/${links.bToC} ⇄ ${ns.c}/${links.cToB}`);
  await withRtnl(ns.b, (r) => r.links.create({ kind: 'veth', name: links.bToC, peerName: links.cToB, peerNetns: ns.c }));

  const lanDev = lanHost ? await buildLanHost(plan, lanHost, log, created) : links.bToC;
  const addrs: Array<[string, string, string]> = [
    [ns.a, links.aToB, `${underlay.a}/${underlay.prefix}`],
    [ns.b, links.bToA, `${underlay.b}/${underlay.prefix}`],
    [ns.b, lanDev, `${lan.b}/${lan.prefix}`],
    [ns.c, links.cToB, `${lan.c}/${lan.prefix}`],
  ];
  for (const [n, dev, cidr] of addrs) {
    log.info(`[#] ${n}: addr add ${cidr} dev ${dev}; link set ${dev} up`);
    await withRtnl(n, async (r) => {
      await r.addresses.add(dev, cidr);
      await r.links.up(dev);
    });
  }
  log.info(`[#] ${ns.c}: route add default via ${lan.b}`);
  await withRtnl(ns.c, (r) => r.routes.add({ dst: 'default', gateway: lan.b }));
  log.info(`[#] ${ns.b}: ${IP_FORWARD} = 1`);
  setIpForward(ns.b, true);
}

/**
 * The LAN host: namespace f, a bridge in b enslaving b's veth to c and a new veth to f, f's address. Returns the
 * bridge's name (where b's LAN address goes). b's veth to c is brought up later with the other links.
 */
async function buildLanHost(plan: NamespacePlan, h: LanHostPlan, log: Logger, created: (ns: string) => void): Promise<string> {
  const { ns, links, lan } = plan;
  log.info(`[#] netns add ${h.ns}`);
  netns.create(h.ns);
  created(h.ns);
  await withRtnl(h.ns, (r) => r.links.up('lo'));
  log.info(`[#] ${ns.b}: bridge ${h.bridge}; veth ${ns.b}/${h.bToHost} ⇄ ${h.ns}/${h.hostToB}; master ${h.bridge}: ${links.bToC}, ${h.bToHost}`);
  await withRtnl(ns.b, async (r) => {
    await r.links.create({ kind: 'bridge', name: h.bridge });
    await r.links.create({ kind: 'veth', name: h.bToHost, peerName: h.hostToB, peerNetns: h.ns });
    for (const port of [links.bToC, h.bToHost]) await r.links.set(port, { master: h.bridge, up: true });
    await r.links.up(h.bridge);
  });
  log.info(`[#] ${h.ns}: addr add ${h.address}/${lan.prefix} dev ${h.hostToB}; link set ${h.hostToB} up`);
  await withRtnl(h.ns, async (r) => {
    await r.addresses.add(h.hostToB, `${h.address}/${lan.prefix}`);
    await r.links.up(h.hostToB);
  });
  return h.bridge;
}

/** Adds `addresses` (each a /LAN-prefix address) to the LAN host's interface, e.g. as flood sources. */
export async function addLanHostAddresses(plan: LabPlan, addresses: readonly string[], log: Logger): Promise<void> {
  const h = plan.lanHost;
  if (addresses.length === 0) return;
  log.info(`[#] ${h.ns}: addr add ${addresses[0]}..${addresses[addresses.length - 1]} (${addresses.length}) dev ${h.hostToB}`);
  await withRtnl(h.ns, async (r) => {
    for (const a of addresses) await r.addresses.add(h.hostToB, `${a}/${plan.lan.prefix}`);
  });
}

/** The raw path: a reaches the LAN straight over the underlay, via b. */
export async function addVethRoute(plan: LabPlan, log: Logger): Promise<void> {
  const dst = `${plan.lan.subnet}/${plan.lan.prefix}`;
  log.info(`[#] ${plan.ns.a}: route add ${dst} via ${plan.underlay.b}`);
  await withRtnl(plan.ns.a, (r) => r.routes.add({ dst, gateway: plan.underlay.b }));
}

/** Writes ip_forward from a thread switched into `ns` (/proc/sys/net follows the writer's namespace). */
export function setIpForward(ns: string, on: boolean): void {
  netns.run(ns, () => writeFileSync(IP_FORWARD, on ? '1\n' : '0\n'));
}

/** Deletes the namespaces that exist (their links go with them once no process is left inside). */
export function deleteNamespaces(names: readonly string[], log?: Logger): string[] {
  const problems: string[] = [];
  for (const n of names) {
    if (!netns.exists(n)) continue;
    try {
      log?.info(`[#] netns del ${n}`);
      netns.delete(n);
    } catch (e) {
      problems.push(`${n}: ${(e as Error).message}`);
    }
  }
  return problems;
}
