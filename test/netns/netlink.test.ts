/**
 * rtnetlink against the real kernel, inside two namespaces made by our netns module (unique names, deleted in
 * teardown even on failure). Every step is checked through our own list/get AND through `ip -j` / `bridge -j`.
 *
 *   ns A                                                    ns B
 *   lo   br0 ── ve0 ═══════════ veth ═════════════════════ ve1
 *         │ 10.0.0.1/24, fd00::1/64                          10.0.0.2/24
 *         vx0 (vxlan 42, dev br0)   va ═══ vb→vc   mv0 (macvlan on va)   tap0
 *
 * Needs root and the built addon; otherwise the tests are skipped at runtime, saying why.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { NetlinkArgumentError, NetlinkError, Rtnl, netns, type LinkSpec } from '../../src/netlink/index.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const why = skipReason({ root: true, addon: true });
const serial = testWhen(why);

const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
const A = `tv-nl-a-${tag}`;
const B = `tv-nl-b-${tag}`;
let a: Rtnl;
let b: Rtnl;

/** `ip -n NS -j ARGS` parsed (tests only). */
function ipj(ns: string, ...args: string[]): Array<Record<string, unknown>> {
  const out = execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' }).trim();
  return out === '' ? [] : (JSON.parse(out) as Array<Record<string, unknown>>);
}
function bridgej(ns: string, ...args: string[]): Array<Record<string, unknown>> {
  const out = execFileSync('bridge', ['-n', ns, '-j', ...args], { encoding: 'utf8' }).trim();
  return out === '' ? [] : (JSON.parse(out) as Array<Record<string, unknown>>);
}
const ipLinkNames = (ns: string) => ipj(ns, 'link', 'show').map((l) => l.ifname);

if (why === undefined) {
  test.before(() => {
    netns.create(A);
    netns.create(B);
    a = Rtnl.open({ netns: A });
    b = Rtnl.open({ netns: B });
  });
  test.after.always(() => {
    a?.close();
    b?.close();
    for (const ns of [A, B]) if (netns.exists(ns)) netns.delete(ns);
  });
}

serial('netns: create/list/exists/path and name validation', (t) => {
  t.true(netns.exists(A));
  t.true(netns.list().includes(A) && netns.list().includes(B));
  t.is(netns.path(A), `/run/netns/${A}`);
  for (const bad of ['', '..', '../etc', 'a/b', '-x', 'x'.repeat(65), 'sp ace']) {
    t.throws(() => netns.path(bad), { instanceOf: NetlinkArgumentError });
  }
  t.throws(() => netns.create(A), { instanceOf: NetlinkError, message: new RegExp(`^create netns ${A}: EEXIST`) });
  t.false(netns.exists(`tv-nl-none-${tag}`));
});

serial('veth pair with the peer created in a second namespace', async (t) => {
  const ve0 = await a.links.create({ kind: 'veth', name: 've0', peerName: 've1', peerNetns: B });
  t.is(ve0.kind, 'veth');
  t.not(ve0.linkNetnsId, undefined, 'the peer lives in another namespace');
  const ve1 = await b.links.get('ve1');
  t.is(ve0.link, ve1.index);
  t.is(await a.links.exists('ve1'), false);
  t.deepEqual(ipj(B, 'link', 'show', 've1').map((l) => l.ifname), ['ve1']);
  t.is((ipj(A, '-d', 'link', 'show', 've0')[0]?.linkinfo as { info_kind: string }).info_kind, 'veth');
});

serial('bridge, enslave, up', async (t) => {
  const br = await a.links.create({ kind: 'bridge', name: 'br0' });
  t.is(br.kind, 'bridge');
  await a.links.set('ve0', { master: 'br0', up: true });
  await a.links.up('br0');
  await b.links.up('ve1');
  const ve0 = await a.links.get('ve0');
  t.is(ve0.master, br.index);
  t.true(ve0.up);
  const j = ipj(A, 'link', 'show', 've0')[0]!;
  t.is(j.master, 'br0');
  t.true((j.flags as string[]).includes('UP'));
  // nomaster and back
  await a.links.set('ve0', { master: null });
  t.is((await a.links.get('ve0')).master, undefined);
  t.is(ipj(A, 'link', 'show', 've0')[0]!.master, undefined);
  await a.links.set('ve0', { master: 'br0' });
});

serial('vxlan with id, dstport, local, remote, dev', async (t) => {
  const vx = await a.links.create({ kind: 'vxlan', name: 'vx0', id: 42, dstPort: 4789, local: '10.0.0.1', remote: '10.0.0.2', dev: 'br0', learning: false });
  t.like(vx, { kind: 'vxlan', vxlan: { id: 42, dstPort: 4789, local: '10.0.0.1', remote: '10.0.0.2', learning: false } });
  const d = (ipj(A, '-d', 'link', 'show', 'vx0')[0]!.linkinfo as { info_data: Record<string, unknown> }).info_data;
  t.like(d, { id: 42, port: 4789, local: '10.0.0.1', remote: '10.0.0.2', link: 'br0', learning: false });
});

serial('macvlan and tap', async (t) => {
  await a.links.create({ kind: 'veth', name: 'va', peerName: 'vb' });
  const mv = await a.links.create({ kind: 'macvlan', name: 'mv0', parent: 'va', mode: 'bridge' });
  t.is(mv.kind, 'macvlan');
  t.is(mv.link, (await a.links.get('va')).index);
  const li = ipj(A, '-d', 'link', 'show', 'mv0')[0]!.linkinfo as { info_kind: string; info_data: { mode: string } };
  t.deepEqual([li.info_kind, li.info_data.mode], ['macvlan', 'bridge']);

  const tap = await a.links.create({ kind: 'tap', name: 'tap0', mtu: 1420 });
  t.like(tap, { kind: 'tun', mtu: 1420 });
  const tl = ipj(A, '-d', 'link', 'show', 'tap0')[0]!;
  t.is((tl.linkinfo as { info_data: { type: string } }).info_data.type, 'tap');
  t.is(tl.mtu, 1420);
  await t.throwsAsync(a.links.create({ kind: 'tap', name: 'tap0' }), { instanceOf: NetlinkError, message: /^create link tap0 \(tap\): EEXIST/ });
});

serial('set up, mtu, rename', async (t) => {
  await a.links.set('va', { up: true, mtu: 1400 });
  await a.links.set('vb', { name: 'vc' });
  const va = await a.links.get('va');
  t.like(va, { up: true, mtu: 1400 });
  t.false(await a.links.exists('vb'));
  t.true(await a.links.exists('vc'));
  const j = ipj(A, 'link', 'show', 'va')[0]!;
  t.is(j.mtu, 1400);
  t.true(ipLinkNames(A).includes('vc') && !ipLinkNames(A).includes('vb'));
  await a.links.down('va');
  t.false((await a.links.get('va')).up);
});

serial('addresses v4 and v6', async (t) => {
  await a.addresses.add('br0', '10.0.0.1/24');
  await a.addresses.add('br0', 'fd00::1/64', { nodad: true });
  await b.addresses.add('ve1', '10.0.0.2/24');
  const mine = (await a.addresses.list({ dev: 'br0' })).map((x) => x.cidr);
  t.true(mine.includes('10.0.0.1/24') && mine.includes('fd00::1/64'));
  t.deepEqual((await a.addresses.list({ dev: 'br0', family: 4 })).map((x) => x.cidr), ['10.0.0.1/24']);
  const ipAddrs = (ipj(A, 'addr', 'show', 'dev', 'br0')[0]!.addr_info as Array<{ local: string; prefixlen: number }>).map((x) => `${x.local}/${x.prefixlen}`);
  t.true(ipAddrs.includes('10.0.0.1/24') && ipAddrs.includes('fd00::1/64'));
  await t.throwsAsync(a.addresses.add('br0', '10.0.0.1/24'), { instanceOf: NetlinkError, message: /^add address 10\.0\.0\.1\/24 to br0: EEXIST/ });
  await a.addresses.add('br0', '10.0.1.1/24');
  await a.addresses.delete('br0', '10.0.1.1/24');
  t.false((await a.addresses.list({ dev: 'br0' })).some((x) => x.cidr === '10.0.1.1/24'));
  t.false(JSON.stringify(ipj(A, 'addr', 'show', 'dev', 'br0')).includes('10.0.1.1'));
});

serial('routes: main and table 1234, metric, replace, route get, IPv6, delete', async (t) => {
  await a.routes.add({ dst: '10.9.0.0/16', gateway: '10.0.0.2', metric: 100 });
  await a.routes.add({ dst: '10.8.0.0/16', gateway: '10.0.0.2', table: 1234, metric: 50 });
  await a.routes.add({ dst: '10.7.0.0/16', dev: 'br0', table: 1234 });
  await a.routes.add({ dst: 'fd01::/64', gateway: 'fd00::2', dev: 'br0' });
  const br = (await a.links.get('br0')).index;

  const main = await a.routes.list({ table: 254 });
  t.like(main.find((r) => r.dst === '10.9.0.0/16'), { gateway: '10.0.0.2', metric: 100, dev: br, proto: 3 });
  const t1234 = await a.routes.list({ table: 1234 });
  t.deepEqual(t1234.map((r) => r.dst).sort(), ['10.7.0.0/16', '10.8.0.0/16']);
  const ipT = ipj(A, 'route', 'show', 'table', '1234');
  t.deepEqual(ipT.map((r) => r.dst).sort(), ['10.7.0.0/16', '10.8.0.0/16']);
  t.like(ipT.find((r) => r.dst === '10.8.0.0/16'), { gateway: '10.0.0.2', metric: 50, dev: 'br0' });
  t.like(ipj(A, 'route', 'show', '10.9.0.0/16')[0], { gateway: '10.0.0.2', metric: 100 });
  t.like((await a.routes.list({ family: 6 })).find((r) => r.dst === 'fd01::/64'), { gateway: 'fd00::2', dev: br });
  t.like(ipj(A, '-6', 'route', 'show', 'fd01::/64')[0], { gateway: 'fd00::2', dev: 'br0' });

  await t.throwsAsync(a.routes.add({ dst: '10.9.0.0/16', gateway: '10.0.0.2', metric: 100 }), { instanceOf: NetlinkError, message: /^add route 10\.9\.0\.0\/16: EEXIST/ });
  await a.routes.replace({ dst: '10.9.0.0/16', gateway: '10.0.0.3', metric: 100 });
  t.like(ipj(A, 'route', 'show', '10.9.0.0/16')[0], { gateway: '10.0.0.3' });

  t.like(await a.routes.get('10.9.1.1'), { dev: br, gateway: '10.0.0.3', src: '10.0.0.1' });
  t.like(await a.routes.get('10.0.0.2'), { dev: br, src: '10.0.0.1' });
  t.like(ipj(A, 'route', 'get', '10.9.1.1')[0], { dev: 'br0', gateway: '10.0.0.3', prefsrc: '10.0.0.1' });
  await t.throwsAsync(a.routes.get('192.0.2.1'), { instanceOf: NetlinkError, message: /^get route to 192\.0\.2\.1: ENETUNREACH/ });

  await a.routes.delete({ dst: '10.9.0.0/16', metric: 100 });
  await a.routes.delete({ dst: '10.8.0.0/16', table: 1234 });
  await a.routes.delete({ dst: 'fd01::/64' });
  t.false((await a.routes.list({ table: 254 })).some((r) => r.dst === '10.9.0.0/16'));
  t.deepEqual(ipj(A, 'route', 'show', 'table', '1234').map((r) => r.dst), ['10.7.0.0/16']);
  await t.throwsAsync(a.routes.delete({ dst: '10.8.0.0/16', table: 1234 }), { instanceOf: NetlinkError, message: /^delete route 10\.8\.0\.0\/16 table 1234: ESRCH/ });
});

serial('FIB rules: not fwmark → table, suppress_prefixlength 0', async (t) => {
  const notMark = { family: 4 as const, priority: 1000, fwmark: 0xca6c, invert: true, table: 51820 };
  const suppress = { family: 4 as const, priority: 1001, table: 254, suppressPrefixLength: 0 };
  await a.rules.add(notMark);
  await a.rules.add(suppress);
  const rules = await a.rules.list(4);
  t.like(rules.find((r) => r.priority === 1000), { invert: true, fwmark: 0xca6c, table: 51820 });
  t.like(rules.find((r) => r.priority === 1001), { invert: false, table: 254, suppressPrefixLength: 0 });
  const ipRules = ipj(A, '-4', 'rule', 'show');
  t.like(ipRules.find((r) => r.priority === 1000), { fwmark: '0xca6c', table: '51820' });
  t.true('not' in ipRules.find((r) => r.priority === 1000)!);
  t.like(ipRules.find((r) => r.priority === 1001), { table: 'main', suppress_prefixlen: 0 });
  await a.rules.add({ family: 6, priority: 1000, fwmark: 0xca6c, invert: true, table: 51820 });
  t.true((await a.rules.list(6)).some((r) => r.priority === 1000 && r.invert));
  await a.rules.delete(notMark);
  await a.rules.delete(suppress);
  await a.rules.delete({ family: 6, priority: 1000, fwmark: 0xca6c, invert: true, table: 51820 });
  t.false((await a.rules.list(4)).some((r) => r.priority === 1000 || r.priority === 1001));
  t.false(ipj(A, '-4', 'rule', 'show').some((r) => r.priority === 1000 || r.priority === 1001));
});

serial('bridge FDB append, list, delete on vxlan', async (t) => {
  await a.fdb.append({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.0.0.2' });
  await a.fdb.append({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.0.0.3' });
  const vx = (await a.links.get('vx0')).index;
  const dsts = (await a.fdb.list({ dev: 'vx0' })).filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst);
  t.true(dsts.includes('10.0.0.2') && dsts.includes('10.0.0.3'));
  t.true((await a.fdb.list()).every((e) => typeof e.index === 'number') && (await a.fdb.list({ dev: vx })).length >= 2);
  const ipDsts = bridgej(A, 'fdb', 'show', 'dev', 'vx0').filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst);
  t.true(ipDsts.includes('10.0.0.2') && ipDsts.includes('10.0.0.3'));
  await a.fdb.delete({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.0.0.3' });
  t.false((await a.fdb.list({ dev: 'vx0' })).some((e) => e.dst === '10.0.0.3'));
  t.false(bridgej(A, 'fdb', 'show', 'dev', 'vx0').some((e) => e.dst === '10.0.0.3'));
});

serial('errors: existing link → EEXIST naming the op; unknown parent → ENODEV', async (t) => {
  const e = await t.throwsAsync(a.links.create({ kind: 'bridge', name: 'br0' }), { instanceOf: NetlinkError });
  t.is(e?.code, 'EEXIST');
  t.true(e?.message.startsWith('create link br0 (bridge): EEXIST'));
  const n = await t.throwsAsync(a.links.create({ kind: 'macvlan', name: 'mv9', parent: 'nope0', mode: 'bridge' }), { instanceOf: NetlinkError });
  t.is(n?.code, 'ENODEV');
  t.regex(n?.message ?? '', /^create link mv9 \(macvlan\): parent nope0: ENODEV/);
});

const optionalKinds: LinkSpec[] = [
  { kind: 'vlan', name: 'vl0', parent: 'va', id: 10 },
  { kind: 'ipvlan', name: 'iv0', parent: 'va', mode: 'l2' },
  { kind: 'geneve', name: 'gn0', id: 7, remote: '10.0.0.2' },
];
for (const spec of optionalKinds) {
  serial(`${spec.kind}: created if the kernel has it, else an error with the kernel's ext-ack`, async (t) => {
    try {
      await a.links.create(spec);
    } catch (e) {
      t.true(e instanceof NetlinkError);
      const err = e as NetlinkError;
      t.is(err.code, 'EOPNOTSUPP');
      t.is(err.extack, 'Unknown device type');
      t.is(err.message, `create link ${spec.name} (${spec.kind}): EOPNOTSUPP: Unknown device type`);
      t.log(`${spec.kind} not in this kernel: ${err.message}`);
      return;
    }
    t.log(`${spec.kind} is supported by this kernel: checking it, then deleting it`);
    t.is((await a.links.get(spec.name)).kind, spec.kind);
    await a.links.delete(spec.name);
  });
}

serial('concurrent dumps on one socket all complete correctly', async (t) => {
  const [l1, r1, l2, ad, l3] = await Promise.all([a.links.list(), a.routes.list(), a.links.list(), a.addresses.list(), a.links.list()]);
  const names = (ls: typeof l1) => ls.map((l) => l.name).sort();
  t.deepEqual(names(l1), names(l2));
  t.deepEqual(names(l1), names(l3));
  t.deepEqual(names(l1), (ipLinkNames(A) as string[]).sort());
  t.true(r1.length > 0 && ad.length > 0);
});

serial('delete everything; links go, in both views; the peer goes with its veth', async (t) => {
  for (const name of ['mv0', 'tap0', 'vx0', 'va', 'br0', 've0']) await a.links.delete(name);
  t.deepEqual((await a.links.list()).map((l) => l.name), ['lo']);
  t.deepEqual(ipLinkNames(A), ['lo']);
  t.false(await b.links.exists('ve1'));
  t.deepEqual(ipLinkNames(B), ['lo']);
  await t.throwsAsync(a.links.delete('ve0'), { instanceOf: NetlinkError, message: /^delete link ve0: link ve0: ENODEV/ });
});

serial('a closed Rtnl leaves nothing that keeps the process alive', (t) => {
  // A child opens a socket in A, runs a dump and a failing request, closes, and must then exit on its own
  // (the timeout only guards against hanging the suite).
  const url = new URL('../../src/netlink/index.js', import.meta.url).href;
  const script = `
    const { Rtnl } = await import(${JSON.stringify(url)});
    const r = Rtnl.open({ netns: ${JSON.stringify(A)} });
    const links = await r.links.list();
    const err = await r.links.get('nope0').catch((e) => e.code);
    r.close();
    console.log(JSON.stringify({ n: links.length, err }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  t.deepEqual(JSON.parse(out), { n: 1, err: 'ENODEV' });
});
