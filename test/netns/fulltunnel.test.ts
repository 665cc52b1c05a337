/**
 * Full tunnel: a's peer has AllowedIPs = 0.0.0.0/0 (wg-quick Table = auto) in the topology of topology.ts.
 *
 *   `up` on a:  default dev IFACE table T (T = 51820 in a fresh namespace), socket fwmark T,
 *               rule `not fwmark T lookup T`, rule `lookup main suppress_prefixlength 0`
 *
 * Everything unmarked (a's pings) routes into the tunnel; the daemon's own fwmark'ed UDP datagrams to b's underlay
 * address skip table T and leave by the veth, so the handshake completes instead of looping. On SIGTERM the rules
 * and the table's route are gone.
 */
import { ipJson } from './harness.js';
import {
  buildTopology,
  ping,
  pingUntilReply,
  startEnd,
  stopDaemon,
  waitHandshake,
  wgShow,
  type RouteJson,
  type RuleJson,
  TUNVPN_FILES,
} from './topology.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const why = skipReason({ root: true, files: TUNVPN_FILES, commands: ['ip', 'wg', 'ping'] });
const maybe = testWhen(why, { concurrent: true });

/** wg-quick's table and fwmark for a full tunnel when the namespace uses neither. */
const DEFAULT_TABLE = 51_820;

function fwmarkRule(rules: RuleJson[]): RuleJson | undefined {
  return rules.find((r) => 'not' in r && r.fwmark !== undefined);
}

function suppressRule(rules: RuleJson[]): RuleJson | undefined {
  return rules.find((r) => r.table === 'main' && r.suppress_prefixlen === 0);
}

maybe(`AllowedIPs = 0.0.0.0/0: fwmark table and rules, handshake does not loop, LAN reached, all undone`, async (t) => {
  const topo = await buildTopology(t, { purpose: 'full', fullTunnel: true });
  const rulesBefore = ipJson<RuleJson[]>(topo.ns.a, 'rule');
  const b = await startEnd(topo, 'b');
  const a = await startEnd(topo, 'a');

  const rules = ipJson<RuleJson[]>(topo.ns.a, 'rule');
  const marked = fwmarkRule(rules);
  t.truthy(marked, `no 'not fwmark T lookup T' rule: ${JSON.stringify(rules)}`);
  t.is(marked!.table, String(DEFAULT_TABLE));
  t.is(Number(marked!.fwmark), DEFAULT_TABLE, `fwmark ${marked!.fwmark}`);
  const suppress = suppressRule(rules);
  t.truthy(suppress, `no 'lookup main suppress_prefixlength 0' rule: ${JSON.stringify(rules)}`);
  // The suppress rule must be consulted before the fwmark rule's table.
  t.true(suppress!.priority < marked!.priority, JSON.stringify(rules));
  const tableRoutes = ipJson<RouteJson[]>(topo.ns.a, 'route', 'show', 'table', String(DEFAULT_TABLE));
  t.true(tableRoutes.some((r) => r.dst === 'default' && r.dev === a.ifname), JSON.stringify(tableRoutes));
  // The default route is not in main: only the fwmark table routes into the tunnel.
  t.false(ipJson<RouteJson[]>(topo.ns.a, 'route', 'show', 'table', 'main').some((r) => r.dev === a.ifname && r.dst === 'default'));
  t.is(Number((await wgShow(topo.ns.a, a.ifname, 'fwmark')).trim()), DEFAULT_TABLE);

  // Traffic into the tunnel: b's tunnel address and c on the LAN behind b; the handshake completes.
  await pingUntilReply(topo.ns.a, topo.tunnel.b);
  const peer = await waitHandshake(topo.ns.a, a.ifname);
  t.is(peer.endpoint, `${topo.underlay.b}:${topo.port.b}`);
  const toC = await ping(topo.ns.a, topo.lan.c, 3);
  t.is(toC.received, 3, toC.output);
  const fromC = await ping(topo.ns.c, topo.tunnel.a, 3);
  t.is(fromC.received, 3, fromC.output);
  // b's underlay address stays reachable outside the tunnel (a connected route in main, not suppressed).
  const underlay = await ping(topo.ns.a, topo.underlay.b, 2);
  t.is(underlay.received, 2, underlay.output);

  t.is(await stopDaemon(a), 0, a.output());
  t.deepEqual(ipJson<RuleJson[]>(topo.ns.a, 'rule'), rulesBefore, 'rules left behind');
  t.deepEqual(ipJson<RouteJson[]>(topo.ns.a, 'route', 'show', 'table', String(DEFAULT_TABLE)), [], 'table routes left behind');
  t.is(await stopDaemon(b), 0, b.output());
});
