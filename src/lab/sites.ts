/**
 * The demo's second act: two sites over the lab's tunnel (docs/sites.md). Each tunnel end gets a bridge, a vxlan
 * (VNI 42) whose underlay is the tunnel interface, and container namespaces on the bridge; c1 and c2 (on a) then
 * share one Layer-2 segment with c3 (on b), carried encrypted through the tunnel.
 */
import type { Logger } from '../log.js';
import { NetlinkSiteSystem } from '../site/netlink-system.js';
import { parseSite } from '../site/parse.js';
import { siteDown, siteUp } from '../site/apply.js';
import type { Site } from '../site/model.js';
import type { LabPlan } from './plan.js';

/** The shared segment: bridge addresses .1 (a) and .2 (b), containers from .11 up. */
export const SITE_SUBNET = '192.168.50';
export const SITE_VNI = 42;

export interface LabSites {
  /** Container namespace names and addresses, for pings. */
  containers: Array<{ name: string; host: 'a' | 'b'; address: string }>;
  /** The site files, for showing. */
  files: { a: string; b: string };
  down(): Promise<void>;
}

function siteText(tunnelIf: string, local: string, remote: string, bridgeHost: number, containers: Array<[string, number]>): string {
  const lines = [
    '[Bridge]', 'Name = br-lan', `Address = ${SITE_SUBNET}.${bridgeHost}/24`, '',
    '[Vxlan]', 'Name = vx-lan', `Id = ${SITE_VNI}`, `Local = ${local}`, `Remote = ${remote}`, 'DstPort = 4789',
    'Bridge = br-lan', `Dev = ${tunnelIf}`, '',
  ];
  for (const [name, host] of containers) {
    lines.push('[Namespace]', `Name = ${name}`, 'Bridge = br-lan', `Address = ${SITE_SUBNET}.${host}/24`, `Gateway = ${SITE_SUBNET}.${bridgeHost}`, '');
  }
  return lines.join('\n');
}

/** Builds both sites (namespace names prefixed with the lab's tag); down() removes exactly what was declared. */
export async function buildLabSites(plan: LabPlan, log: Logger): Promise<LabSites> {
  const prefix = `tvlab-${plan.tag}-`;
  const files = {
    a: siteText(plan.wg.a, plan.tunnel.a, plan.tunnel.b, 1, [['c1', 11], ['c2', 12]]),
    b: siteText(plan.wg.b, plan.tunnel.b, plan.tunnel.a, 2, [['c3', 13]]),
  };
  const sites: Record<'a' | 'b', Site> = {
    a: parseSite(files.a, 'site-a.conf', { namespacePrefix: prefix }),
    b: parseSite(files.b, 'site-b.conf', { namespacePrefix: prefix }),
  };
  const systems = { a: new NetlinkSiteSystem({ host: plan.ns.a }), b: new NetlinkSiteSystem({ host: plan.ns.b }) };
  const built: Array<'a' | 'b'> = [];
  const down = async () => {
    for (const end of built.splice(0).reverse()) {
      try {
        await siteDown(sites[end], systems[end], log);
      } finally {
        await systems[end].close();
      }
    }
  };
  try {
    for (const end of ['a', 'b'] as const) {
      await siteUp(sites[end], systems[end], log);
      built.push(end);
    }
  } catch (e) {
    await down();
    throw e;
  }
  return {
    containers: [
      { name: `${prefix}c1`, host: 'a', address: `${SITE_SUBNET}.11` },
      { name: `${prefix}c2`, host: 'a', address: `${SITE_SUBNET}.12` },
      { name: `${prefix}c3`, host: 'b', address: `${SITE_SUBNET}.13` },
    ],
    files,
    down,
  };
}
