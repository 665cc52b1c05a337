/**
 * The namespace lab end to end (root): it builds, a reaches c through a wireguard-go ⇄ wireguard-go tunnel, and
 * dispose() leaves nothing behind. (tunvpn tunnel tests live elsewhere.) Skipped, with a log line, when not root
 * or when wireguard-go / wg / ping are missing.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, statSync } from 'node:fs';
import { Lab, makePlan, nsPrefix, randomTag, type EndKind } from '../../src/lab/index.js';
import { listNetns, netns, Rtnl } from '../../src/netlink/index.js';
import { socketPath } from '../../src/uapi/paths.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const HANDSHAKE_TIMEOUT_MS = 15_000;
const rootTest = testWhen(skipReason({ root: true }));
const wgTest = testWhen(skipReason({ root: true, commands: ['ping', 'wireguard-go', 'wg'] }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function makeLab(t: ExecutionContext, a: EndKind, b: EndKind): Promise<Lab> {
  const lab = await Lab.create({ a, b, handleSignals: false });
  t.teardown(() => lab.dispose());
  return lab;
}

/** Everything the lab made is gone: namespaces with its tag, UAPI sockets, pid files, processes, config dir. */
function assertNothingLeft(t: ExecutionContext, lab: Lab, pids: number[], configDir: string | undefined): void {
  t.deepEqual(listNetns().filter((n) => n.startsWith(nsPrefix(lab.plan.tag))), []);
  for (const ifname of Object.values(lab.plan.wg)) {
    t.false(existsSync(socketPath(ifname)), `UAPI socket of ${ifname}`);
    t.false(existsSync(`/run/tunvpn/${ifname}.pid`), `pid file of ${ifname}`);
  }
  for (const pid of pids) t.false(alive(pid), `process ${pid}`);
  t.is(lab.procs.size, 0);
  if (configDir !== undefined) t.false(existsSync(configDir), 'config dir');
}

wgTest('wireguard-go on both ends: a pings c through the tunnel and c pings a back; dispose leaves nothing', async (t) => {
  const lab = await makeLab(t, 'wireguard-go', 'wireguard-go');
  const { plan } = lab;
  for (const ns of Object.values(plan.ns)) t.true(netns.exists(ns), ns);
  const dir = lab.configDir!;
  t.is(statSync(`${dir}/${plan.wg.a}.conf`).mode & 0o777, 0o600);

  // a's route to c leaves through the tunnel interface (a has no other way to the LAN).
  const rtnl = Rtnl.open({ netns: plan.ns.a });
  try {
    const route = await rtnl.routes.get(plan.lan.c);
    t.is(route.dev, (await rtnl.links.get(plan.wg.a)).index);
  } finally {
    rtnl.close();
  }

  t.true(await lab.waitReachable('a', lab.addr.c, HANDSHAKE_TIMEOUT_MS), 'a reaches c');
  const toC = await lab.ping('a', lab.addr.c, 5);
  t.true(toC.received > 0, `a -> c: ${toC.received}/${toC.transmitted}`);
  const toA = await lab.ping('c', lab.addr.a, 5);
  t.true(toA.received > 0, `c -> a: ${toA.received}/${toA.transmitted}`);
  const toB = await lab.ping('a', lab.addr.b, 3);
  t.true(toB.received > 0, `a -> b tunnel address: ${toB.received}/${toB.transmitted}`);

  // The tunnel really carried it: a's peer has a handshake and counted bytes both ways.
  const show = await lab.wgShow('a');
  t.regex(show, /latest handshake:/);
  t.regex(show, /transfer: [\d.]+ \w?i?B received, [\d.]+ \w?i?B sent/);
  t.true((lab.daemonCpuSeconds() ?? -1) >= 0);

  const pids = Object.values(lab.daemons).map((d) => d.pid);
  t.is(pids.length, 2);
  t.deepEqual(await lab.dispose(), []);
  assertNothingLeft(t, lab, pids, dir);
  await t.throwsAsync(() => lab.ping('a', lab.addr.c, 1), { message: /torn down/ });
});

rootTest('raw veth path: a reaches c via b without a tunnel, and dispose removes the namespaces', async (t) => {
  const lab = await makeLab(t, 'veth', 'veth');
  t.false(lab.tunnelled);
  t.is(lab.configDir, undefined);
  const r = await lab.ping('a', lab.addr.c, 3);
  t.is(r.received, 3);
  const back = await lab.ping('c', lab.addr.a, 2);
  t.is(back.received, 2);
  t.deepEqual(await lab.dispose(), []);
  assertNothingLeft(t, lab, [], undefined);
});

rootTest('a build that fails half-way removes what it made and nothing else', async (t) => {
  const tag = randomTag();
  const plan = makePlan(tag);
  netns.create(plan.ns.b); // someone else's namespace, in the way
  t.teardown(() => {
    if (netns.exists(plan.ns.b)) netns.delete(plan.ns.b);
  });
  await t.throwsAsync(() => Lab.create({ a: 'veth', b: 'veth', tag, handleSignals: false }), { message: /exists/ });
  t.false(netns.exists(plan.ns.a), 'the lab removed its own namespace a');
  t.false(netns.exists(plan.ns.c));
  t.true(netns.exists(plan.ns.b), "the lab did not delete a namespace it did not create");
});

test('mixing a daemon with the veth path is refused before anything is built', async (t) => {
  await t.throwsAsync(() => Lab.create({ a: 'veth', b: 'tunvpn', handleSignals: false }), { message: /both ends must be 'veth'/ });
});
