import test from 'ava';
import { pino } from 'pino';
import { parseSite } from '../../src/site/parse.js';
import { siteDown, siteShow, siteUp, SiteApplyError } from '../../src/site/apply.js';
import { SiteConflictError } from '../../src/site/errors.js';
import { MemorySiteSystem } from '../../src/site/memory.js';
import { moveTempName } from '../../src/site/names.js';
import { SITE_A_WITH_MACVLAN } from './fixtures.js';

const SITE = SITE_A_WITH_MACVLAN;

function capture() {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push((JSON.parse(s) as { msg: string }).msg) });
  return { log, lines };
}

async function fresh() {
  const sys = new MemorySiteSystem();
  sys.addHostLink({ name: 'tun0', kind: 'tun', mtu: 1420 });
  sys.addHostLink({ name: 'eth0', kind: undefined, mtu: 1500 });
  return sys;
}

test('up logs every change, a second up changes nothing and says so', async (t) => {
  const site = parseSite(SITE, 'a.conf');
  const sys = await fresh();
  const first = capture();
  const r1 = await siteUp(site, sys, first.log);
  t.true(r1.changes.length > 10);
  t.true(first.lines.includes('[#] create vxlan vx-lan id 42 local 10.213.0.1 dstport 4789 dev tun0'));
  t.true(first.lines.includes('[#] create netns c1'));
  t.is(first.lines.at(-1), `site up: ${r1.changes.length} changes`);
  t.is(first.lines.filter((l) => l.startsWith('[#] ')).length, r1.changes.length);

  const performed = sys.performed.length;
  const second = capture();
  const r2 = await siteUp(site, sys, second.log);
  t.deepEqual(r2.changes, []);
  t.deepEqual(second.lines, ['site up to date: 0 changes']);
  t.is(sys.performed.length, performed);
});

test('show: all present after up, missing before, differs with what differs', async (t) => {
  const site = parseSite(SITE, 'a.conf');
  const sys = await fresh();
  const before = await siteShow(site, sys);
  t.true(before.every((r) => r.status === 'missing'));
  await siteUp(site, sys, capture().log);
  const after = await siteShow(site, sys);
  t.deepEqual(after.filter((r) => r.status !== 'present'), []);
  t.true(after.some((r) => r.object === 'vxlan vx-lan'));
  t.true(after.some((r) => r.object === 'macvlan mv0 (netns c2)'));
  await sys.perform({ op: 'link-set-mtu', name: 'br-lan', mtu: 1500 });
  await sys.perform({ op: 'link-set-up', netns: 'c1', name: 'eth0', up: false });
  const drift = (await siteShow(site, sys)).filter((r) => r.status !== 'present');
  t.deepEqual(drift, [
    { object: 'bridge br-lan', status: 'differs', differences: ['mtu 1500, want 1370'] },
    { object: 'veth eth0 (netns c1)', status: 'differs', differences: ['down, want up'] },
  ]);
  // up repairs drift it can repair, and only that.
  const r = await siteUp(site, sys, capture().log);
  t.deepEqual(r.changes, ['set mtu 1370 on br-lan', 'set eth0 up (netns c1)']);
});

test('a failure half-way undoes what this run created, in reverse order, and rethrows', async (t) => {
  const site = parseSite(SITE, 'a.conf');
  const sys = await fresh();
  // Something that existed before the run and that the site also declares must survive the undo.
  await sys.perform({ op: 'netns-add', name: 'c1' });
  const before = await sys.snapshot(['c1', 'c2']);
  sys.failWhen = (a) => a.op === 'route-add';
  const { log, lines } = capture();
  const err = await t.throwsAsync(siteUp(site, sys, log), { instanceOf: SiteApplyError });
  t.regex(err.message, /failed to add route default via 192.168.50.1 dev eth0 \(netns c1\): injected failure/);
  t.deepEqual(err.undoFailures, []);
  t.deepEqual(await sys.snapshot(['c1', 'c2']), before);
  t.deepEqual(sys.namespaceNames(), ['c1']);
  // The undos are announced after the failure, each before it runs.
  const undos = lines.slice(lines.findIndex((l) => l.startsWith('failed: '))).filter((l) => l.startsWith('[#] '));
  t.true(undos.length > 0);
  t.is(undos.at(-1), '[#] delete netns c2', 'the namespace created first is removed last');
  t.false(undos.includes('[#] delete netns c1'), 'pre-existing namespace stays');
});

test('an undo that fails is announced, logged, collected in SiteApplyError, and the other undos still run', async (t) => {
  const site = parseSite(SITE, 'a.conf');
  const sys = await fresh();
  sys.failWhen = (a) => a.op === 'route-add' || (a.op === 'netns-del' && a.name === 'c2');
  const { log, lines } = capture();
  const err = await t.throwsAsync(siteUp(site, sys, log), { instanceOf: SiteApplyError });
  t.deepEqual(err.undoFailures, ['delete netns c2']);
  t.regex(err.message, /; undo also failed for: delete netns c2$/);
  t.true(lines.includes('[#] delete netns c2'));
  t.true(lines.includes('[!] undo failed: delete netns c2'));
  t.deepEqual(sys.namespaceNames(), ['c2'], 'c1 was still removed after c2 failed');
});

test('conflicting state: up refuses before changing anything', async (t) => {
  const site = parseSite(SITE, 'a.conf');
  const sys = await fresh();
  await sys.perform({ op: 'link-add', name: 'vx-lan', spec: { kind: 'vxlan', id: 7, port: 4789 } });
  const n = sys.performed.length;
  const err = await t.throwsAsync(siteUp(site, sys, capture().log), { instanceOf: SiteConflictError });
  t.regex(err.message, /vx-lan .*id 7, want 42/);
  t.is(sys.performed.length, n);
});

test('down removes exactly what the file declares; missing pieces are fine', async (t) => {
  const site = parseSite(SITE, 'a.conf');
  const sys = await fresh();
  await sys.perform({ op: 'netns-add', name: 'other' });
  await sys.perform({ op: 'link-add', name: 'br-other', spec: { kind: 'bridge' } });
  const untouched = await sys.snapshot(['other']);
  await siteUp(site, sys, capture().log);
  const down = await siteDown(site, sys, capture().log);
  t.true(down.changes.includes('delete netns c1'));
  t.deepEqual(await sys.snapshot(['other']), untouched);
  t.deepEqual(sys.namespaceNames(), ['other']);
  const again = capture();
  const r = await siteDown(site, sys, again.log);
  t.deepEqual(r.changes, []);
  t.deepEqual(again.lines, ['site already down: 0 changes']);
});

test('down over a half-built site (link still under its temporary host name)', async (t) => {
  const site = parseSite(SITE, 'a.conf');
  const sys = await fresh();
  const baseline = await sys.snapshot([]);
  // The state a crash between "create" and "move" leaves: the namespace, and the macvlan still on the host
  // under its temporary name (plus an unrelated link of a similar name, which must stay).
  await sys.perform({ op: 'netns-add', name: 'c2' });
  await sys.perform({ op: 'link-add', name: 'tvm-00000000', spec: { kind: 'bridge' } }); // unrelated: stays
  await sys.perform({ op: 'link-add', name: moveTempName('c2', 'mv0'), spec: { kind: 'macvlan', parent: 'tun0', mode: 'bridge' } });
  const r = await siteDown(site, sys, capture().log);
  t.true(r.changes.includes(`delete link ${moveTempName('c2', 'mv0')}`));
  const after = await sys.snapshot([]);
  t.deepEqual(after.host.links.map((l) => l.name).sort(), [...baseline.host.links.map((l) => l.name), 'tvm-00000000'].sort());
});
