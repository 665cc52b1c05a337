/**
 * `Remote = mesh` in a site file: the vxlan is created as any other, and its FDB is handed to the daemon of the
 * tunvpn interface named by Dev (the in-memory system plays that daemon); down takes it back first.
 */
import test from 'ava';
import { pino } from 'pino';
import { formatIp } from '../../src/net/ip.js';
import { parseSite } from '../../src/site/parse.js';
import { siteDown, siteShow, siteUp } from '../../src/site/apply.js';
import { SiteConflictError } from '../../src/site/errors.js';
import { MemorySiteSystem } from '../../src/site/memory.js';

const SITE = `[Bridge]
Name = br-lan
Address = 192.168.77.1/24

[Vxlan]
Name = vx-lan
Id = 42
Local = 10.50.0.11          # this node's VTEP: a tunnel address it announces in the mesh
Remote = mesh
Bridge = br-lan
Dev = tun0

[Namespace]
Name = c1
Bridge = br-lan
Address = 192.168.77.11/24
`;

const silent = pino({ level: 'silent' });

function system(mesh = true): MemorySiteSystem {
  const sys = new MemorySiteSystem();
  sys.addHostLink({ name: 'tun0', kind: 'tun', mtu: 1420 });
  if (mesh) sys.addMesh('tun0');
  return sys;
}

test('parse: Remote = mesh keeps no remotes, needs Dev and Local', (t) => {
  const vx = parseSite(SITE, 'a.conf').links.find((l) => l.kind === 'vxlan');
  if (vx?.kind !== 'vxlan') return t.fail();
  t.true(vx.mesh);
  t.deepEqual(vx.remotes, []);
  t.is(vx.dev, 'tun0');
  t.is(formatIp(vx.local!), '10.50.0.11');
});

test('up hands the vxlan to the mesh last, after its bridge and link; idempotent; show reports it; down takes it back first', async (t) => {
  const sys = system();
  const site = parseSite(SITE, 'a.conf');
  const up = await siteUp(site, sys, silent);
  t.is(up.changes.at(-1), 'let the mesh of tun0 keep the FDB of vx-lan (VTEP 10.50.0.11)');
  t.false(up.changes.some((c) => c.includes('append fdb')), 'no static FDB entry');
  t.deepEqual(sys.meshFollowing('tun0'), ['vx-lan']);
  t.is(sys.performed.findIndex((a) => a.op === 'mesh-follow'), sys.performed.length - 1);
  t.true(sys.performed.some((a) => a.op === 'link-set-mtu' && a.name === 'vx-lan' && a.mtu === 1370), 'MTU from Dev: 1420 - 50');

  t.deepEqual((await siteUp(site, sys, silent)).changes, []);
  const rows = await siteShow(site, sys);
  t.deepEqual(rows.at(-1), { object: 'fdb of vx-lan kept by the mesh of tun0', status: 'present', differences: [] });

  const down = await siteDown(site, sys, silent);
  t.is(down.changes[0], 'stop the mesh of tun0 keeping the FDB of vx-lan');
  t.deepEqual(sys.meshFollowing('tun0'), []);
});

test('up refuses before changing anything when no daemon with a mesh runs the tunnel', async (t) => {
  const sys = system(false);
  const err = await t.throwsAsync(siteUp(parseSite(SITE, 'a.conf'), sys, silent), { instanceOf: SiteConflictError });
  t.regex(err.message, /Remote = mesh of \[Vxlan\] vx-lan \(line 5\): tun0 is not a running tunvpn interface/);
  t.deepEqual(sys.performed, []);
});

test('a failure after the links exist undoes the run, the mesh hand-over included', async (t) => {
  const sys = system();
  sys.failWhen = (a) => a.op === 'mesh-follow';
  await t.throwsAsync(siteUp(parseSite(SITE, 'a.conf'), sys, silent), { message: /failed to let the mesh of tun0 keep the FDB of vx-lan/ });
  t.deepEqual(sys.meshFollowing('tun0'), []);
  t.deepEqual(sys.namespaceNames(), []);
});
