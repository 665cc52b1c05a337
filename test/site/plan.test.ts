import test from 'ava';
import { parseSite } from '../../src/site/parse.js';
import { deriveSite } from '../../src/site/desired.js';
import { planAll, planUp, planDown, findConflicts } from '../../src/site/plan.js';
import { emptyState, type SystemState } from '../../src/site/state.js';
import { MemorySiteSystem } from '../../src/site/memory.js';
import { encapMtu, encapOverhead } from '../../src/site/mtu.js';
import { moveTempName } from '../../src/site/names.js';
import { SITE_A } from './fixtures.js';


function withTunnel(mtu = 1420): SystemState {
  const s = emptyState();
  s.host.links.push({ name: 'tun0', kind: 'tun', mtu, up: true, addresses: [] });
  return s;
}

test('overheads: 50 bytes over IPv4, 70 over IPv6', (t) => {
  t.is(encapOverhead(4), 50);
  t.is(encapOverhead(6), 70);
  t.is(encapMtu(1420, 4), 1370);
});

test('site file → ordered operations', (t) => {
  const site = parseSite(SITE_A, 'a.conf');
  const ops = planUp(deriveSite(site, withTunnel()), withTunnel());
  const t1 = moveTempName('c1', 'eth0');
  const t2 = moveTempName('c2', 'eth0');
  t.deepEqual(
    ops.map((o) => o.description),
    [
      'create netns c1',
      'create netns c2',
      'create bridge br-lan',
      'create vxlan vx-lan id 42 local 10.213.0.1 dstport 4789 dev tun0',
      `create veth ve-c1 peer ${t1}`,
      `create veth ve-c2 peer ${t2}`,
      `move ${t1} into netns c1 as eth0`,
      `move ${t2} into netns c2 as eth0`,
      'enslave vx-lan to br-lan',
      'enslave ve-c1 to br-lan',
      'enslave ve-c2 to br-lan',
      'add address 192.168.50.1/24 to br-lan',
      'add address 192.168.50.11/24 to eth0 (netns c1)',
      'add address 192.168.50.12/24 to eth0 (netns c2)',
      'set mtu 1370 on br-lan',
      'set mtu 1370 on vx-lan',
      'set mtu 1370 on ve-c1',
      'set mtu 1370 on eth0 (netns c1)',
      'set mtu 1370 on ve-c2',
      'set mtu 1370 on eth0 (netns c2)',
      'set br-lan up',
      'set vx-lan up',
      'set ve-c1 up',
      'set eth0 up (netns c1)',
      'set ve-c2 up',
      'set eth0 up (netns c2)',
      'set lo up (netns c1)',
      'set lo up (netns c2)',
      'add route default via 192.168.50.1 dev eth0 (netns c1)',
      'append fdb 00:00:00:00:00:00 dst 10.213.0.2 on vx-lan',
    ],
  );
  // Every creation is undone by a deletion of the same name.
  for (const o of ops) if (o.action.op === 'link-add') t.deepEqual(o.undo, { op: 'link-del', name: o.action.name });
});

test('derived MTUs: vxlan from its Dev, bridge = min of ports, veths follow the bridge', (t) => {
  const site = parseSite(SITE_A, 'a.conf');
  const mtu = (state: SystemState) => new Map(deriveSite(site, state).links.map((l) => [`${l.netns ?? ''}/${l.name}`, l.mtu]));
  const m = mtu(withTunnel(1420));
  t.is(m.get('/vx-lan'), 1370);
  t.is(m.get('/br-lan'), 1370);
  t.is(m.get('/ve-c1'), 1370);
  t.is(m.get('c2/eth0'), 1370);
  t.is(m.get('c1/lo'), undefined, 'loopback MTU is not managed');
  t.is(mtu(withTunnel(9000)).get('/br-lan'), 8950);
});

test('derived MTUs: IPv6 underlay, explicit MTU wins, no Dev uses the routed device or 1500', (t) => {
  const v6 = parseSite('[Vxlan]\nName=v6\nId=1\nLocal=fd00::1\nRemote=fd00::2\n', 'f');
  t.is(deriveSite(v6, emptyState()).links[0]!.mtu, 1430);
  const routed = emptyState();
  routed.underlayMtu = new Map([['fd00::2', 1420]]);
  t.is(deriveSite(v6, routed).links[0]!.mtu, 1350);
  const explicit = parseSite('[Bridge]\nName=br\nMTU=1280\n[Vxlan]\nName=v\nId=1\nRemote=10.0.0.2\nBridge=br\n[Tap]\nName=t0\nBridge=br\n', 'f');
  const links = new Map(deriveSite(explicit, emptyState()).links.map((l) => [l.name, l.mtu]));
  t.is(links.get('br'), 1280);
  t.is(links.get('v'), 1450);
  t.is(links.get('t0'), 1280);
  const portMin = parseSite('[Bridge]\nName=br\n[Tap]\nName=t0\nBridge=br\nMTU=1300\n[Geneve]\nName=g\nId=5\nRemote=10.0.0.9\nBridge=br\n', 'f');
  t.is(deriveSite(portMin, emptyState()).links.find((l) => l.name === 'br')!.mtu, 1300);
});

test('idempotence: a state that already matches plans no operations', async (t) => {
  const site = parseSite(SITE_A, 'a.conf');
  const sys = new MemorySiteSystem();
  sys.addHostLink({ name: 'tun0', kind: 'tun', mtu: 1420 });
  const before = await sys.snapshot(['c1', 'c2']);
  const ops = planUp(deriveSite(site, before), before);
  t.true(ops.length > 0);
  for (const o of ops) await sys.perform(o.action);
  const after = await sys.snapshot(['c1', 'c2']);
  t.deepEqual(planUp(deriveSite(site, after), after), []);
  t.true(planAll(deriveSite(site, after), after).every((o) => o.done));
});

test('a partly applied site plans only the rest', async (t) => {
  const site = parseSite(SITE_A, 'a.conf');
  const sys = new MemorySiteSystem();
  sys.addHostLink({ name: 'tun0', kind: 'tun', mtu: 1420 });
  const s0 = await sys.snapshot(['c1', 'c2']);
  const all = planUp(deriveSite(site, s0), s0);
  for (const o of all.slice(0, 7)) await sys.perform(o.action); // up to and including the first move
  const s1 = await sys.snapshot(['c1', 'c2']);
  const rest = planUp(deriveSite(site, s1), s1);
  t.deepEqual(rest.map((o) => o.description), all.slice(7).map((o) => o.description));
});

test('conflicts: wrong kind, wrong vni, missing Dev', (t) => {
  const site = parseSite(SITE_A, 'a.conf');
  t.deepEqual(findConflicts(deriveSite(site, withTunnel()), withTunnel()), []);
  const noTun = emptyState();
  t.regex(findConflicts(deriveSite(site, noTun), noTun).join('\n'), /Dev of \[Vxlan\] vx-lan \(line 6\): link tun0 does not exist on the host/);
  const clash = withTunnel();
  clash.host.links.push({ name: 'br-lan', kind: 'veth', mtu: 1500, up: true, addresses: [] });
  clash.host.links.push({ name: 'vx-lan', kind: 'vxlan', mtu: 1370, up: true, addresses: [], details: { id: 43 } });
  const c = findConflicts(deriveSite(site, clash), clash).join('\n');
  t.regex(c, /br-lan from \[Bridge\] br-lan \(line 2\): kind veth, want bridge/);
  t.regex(c, /vx-lan .*id 43, want 42/);
  const route = withTunnel();
  route.netns.set('c1', { links: [], fdb: [], routes: [{ dst: { family: 4, bytes: new Uint8Array(4), bits: 0 }, gateway: { family: 4, bytes: Uint8Array.of(192, 168, 50, 254) } }] });
  t.regex(findConflicts(deriveSite(site, route), route).join('\n'), /route 0\.0\.0\.0\/0 in netns c1 already goes via 192\.168\.50\.254/);
});

test('down plan: fdb, links in reverse, namespaces; only what is present and of the declared kind', async (t) => {
  const site = parseSite(SITE_A, 'a.conf');
  const sys = new MemorySiteSystem();
  sys.addHostLink({ name: 'tun0', kind: 'tun', mtu: 1420 });
  const s0 = await sys.snapshot(['c1', 'c2']);
  for (const o of planUp(deriveSite(site, s0), s0)) await sys.perform(o.action);
  const s1 = await sys.snapshot(['c1', 'c2']);
  const down = planDown(deriveSite(site, s1), s1);
  t.deepEqual(down.operations.map((o) => o.description), [
    'delete fdb 00:00:00:00:00:00 dst 10.213.0.2 on vx-lan',
    'delete link ve-c2',
    'delete link ve-c1',
    'delete link vx-lan',
    'delete link br-lan',
    'delete netns c2',
    'delete netns c1',
  ]);
  const empty = emptyState();
  empty.host.links.push({ name: 'br-lan', kind: 'vxlan', mtu: 1500, up: true, addresses: [] });
  const nothing = planDown(deriveSite(site, empty), empty);
  t.deepEqual(nothing.operations, []);
  t.is(nothing.skipped.length, 1);
});
