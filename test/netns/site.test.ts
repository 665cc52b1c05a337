/**
 * `site up|show|down` against the kernel, all inside namespaces this test makes:
 *
 *      host namespace (a test netns standing in for the root namespace)
 *      +--------------------------------------------------------------+
 *      |  br-lan 192.168.50.1/24  (mtu 1450 = vx-lan's)               |
 *      |   |-- vx-lan  vxlan id 42, local 10.213.0.1 -> fdb 10.213.0.2 |
 *      |   |-- tap-lan (persistent TAP)                               |
 *      |   |-- ve-…c1 ===veth=== eth0 192.168.50.11 [netns …-c1]      |
 *      |   `-- ve-…c2 ===veth=== eth0 192.168.50.12 [netns …-c2]      |
 *      |  br-keep (not the site's: must survive `down`)               |
 *      +--------------------------------------------------------------+
 */
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { createNetns, listNetns, Rtnl } from '../../src/netlink/index.js';
import { siteDown, siteShow, siteUp, SiteApplyError } from '../../src/site/apply.js';
import { NetlinkSiteSystem } from '../../src/site/netlink-system.js';
import { parseSite } from '../../src/site/parse.js';
import type { Action } from '../../src/site/actions.js';
import type { SiteSystem } from '../../src/site/system.js';
import { deleteNs, RUN_TAG, sh } from './harness.js';
import { Command } from 'commander';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerSite } from '../../src/cli/commands/site.js';
import { silentLogger } from '../../src/log.js';
import { skipReason, testWhen } from '../helpers/skip.js';

/** `tunvpn site ...` in-process; returns stdout, throws the ctx.fail message. */
async function cli(argv: string[]): Promise<string> {
  let out = '';
  const program = new Command('tunvpn').exitOverride();
  registerSite(program, {
    io: { out: (s) => void (out += s), err: () => undefined, readStdin: async () => '' },
    logger: () => silentLogger,
    fail: (message) => {
      throw new Error(message);
    },
  });
  await program.parseAsync(argv, { from: 'user' });
  return out;
}

const SITE = `
[Bridge]
Name = br-lan
Address = 192.168.50.1/24

[Vxlan]
Name = vx-lan
Id = 42
Local = 10.213.0.1
Remote = 10.213.0.2
Bridge = br-lan

[Tap]
Name = tap-lan
Bridge = br-lan

[Namespace]
Name = c1
Bridge = br-lan
Address = 192.168.50.11/24
Gateway = 192.168.50.1

[Namespace]
Name = c2
Bridge = br-lan
Address = 192.168.50.12/24
`;

function canRun(): string | undefined {
  const why = skipReason({ root: true, addon: true });
  if (why !== undefined) return why;
  try {
    Rtnl.open().close();
  } catch (e) {
    return `netlink unavailable: ${(e as Error).message}`;
  }
  return undefined;
}

const serial = testWhen(canRun());

function capture() {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push((JSON.parse(s) as { msg: string }).msg) });
  return { log, lines };
}

interface World {
  tag: string;
  host: string;
  system: NetlinkSiteSystem;
  site: ReturnType<typeof parseSite>;
}

/** A fresh host namespace and a per-run namespace prefix; everything with the tag is removed at teardown. */
function world(t: ExecutionContext): World {
  const tag = `tv-site-${RUN_TAG}-${randomBytes(2).toString('hex')}`;
  const host = `${tag}-h`;
  createNetns(host);
  const system = new NetlinkSiteSystem({ host });
  t.teardown(async () => {
    await system.close();
    for (const ns of listNetns()) if (ns.startsWith(tag)) deleteNs(ns);
  });
  return { tag, host, system, site: parseSite(SITE, 'lab.site', { namespacePrefix: `${tag}-` }) };
}

async function hostLinks(host: string): Promise<string[]> {
  const r = Rtnl.open({ netns: host });
  try {
    return (await r.links.list()).map((l) => `${l.name}:${l.kind ?? ''}`).sort();
  } finally {
    r.close();
  }
}

function ping(ns: string, addr: string): boolean {
  try {
    sh('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '3', addr]);
    return true;
  } catch {
    return false;
  }
}

serial('up builds a bridge with two container namespaces that ping each other; up again is a no-op; down removes exactly it', async (t) => {
  const w = world(t);
  const keep = Rtnl.open({ netns: w.host });
  await keep.links.create({ kind: 'bridge', name: 'br-keep' });
  keep.close();
  const baseline = await hostLinks(w.host);
  const c1 = `${w.tag}-c1`;
  const c2 = `${w.tag}-c2`;

  const first = capture();
  const up = await siteUp(w.site, w.system, first.log);
  t.true(up.changes.length > 20, up.changes.join('\n'));
  t.true(first.lines.includes('[#] create vxlan vx-lan id 42 local 10.213.0.1 dstport 4789'));
  t.true(first.lines.includes('[#] set mtu 1450 on br-lan'));
  t.deepEqual(listNetns().filter((n) => n === c1 || n === c2).sort(), [c1, c2]);

  t.true(ping(c1, '192.168.50.12'), 'c1 → c2 over the bridge');
  t.true(ping(c2, '192.168.50.11'), 'c2 → c1 over the bridge');
  t.true(ping(c1, '192.168.50.1'), 'c1 → the host address on the bridge');

  const second = capture();
  t.deepEqual((await siteUp(w.site, w.system, second.log)).changes, []);
  t.deepEqual(second.lines, ['site up to date: 0 changes']);

  const show = await siteShow(w.site, w.system);
  t.deepEqual(show.filter((r) => r.status !== 'present'), []);
  t.true(show.some((r) => r.object === 'fdb 00:00:00:00:00:00 dst 10.213.0.2 on vx-lan'));

  // The same through the CLI, with the file on disk and the test namespace as the host.
  const dir = mkdtempSync(join(tmpdir(), 'tv-site-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'lab.site');
  writeFileSync(file, SITE);
  const common = [file, '--host-netns', w.host, '--ns-prefix', `${w.tag}-`];
  const json = JSON.parse(await cli(['site', 'show', ...common, '--json'])) as { objects: Array<{ status: string }> };
  t.is(json.objects.length, show.length);
  t.true(json.objects.every((o) => o.status === 'present'));
  await cli(['site', 'up', ...common]);
  t.deepEqual(await siteShow(w.site, w.system), show, 'CLI up on a complete site changes nothing');

  const down = await siteDown(w.site, w.system, capture().log);
  t.true(down.changes.length > 0);
  t.deepEqual(listNetns().filter((n) => n === c1 || n === c2), []);
  t.deepEqual(await hostLinks(w.host), baseline);
  t.deepEqual((await siteShow(w.site, w.system)).filter((r) => r.status !== 'missing'), []);
  t.deepEqual((await siteDown(w.site, w.system, capture().log)).changes, [], 'down again: nothing to do');
});

/** Delegates to the real system but fails one chosen action, as a kernel refusal half-way would. */
class FailingSystem implements SiteSystem {
  constructor(
    private readonly inner: SiteSystem,
    private readonly fails: (a: Action) => boolean,
  ) {}
  snapshot(...args: Parameters<SiteSystem['snapshot']>) {
    return this.inner.snapshot(...args);
  }
  async perform(a: Action): Promise<void> {
    if (this.fails(a)) throw new Error('injected failure');
    return this.inner.perform(a);
  }
  close() {
    return this.inner.close();
  }
}

serial('a failure half-way undoes everything this run made, in the kernel too', async (t) => {
  const w = world(t);
  const baseline = await hostLinks(w.host);
  const sys = new FailingSystem(w.system, (a) => a.op === 'fdb-add');
  const { log, lines } = capture();
  const err = await t.throwsAsync(siteUp(w.site, sys, log), { instanceOf: SiteApplyError });
  t.regex(err.message, /failed to append fdb .* injected failure; undone$/);
  t.true(lines.some((l) => l.startsWith('[#] delete link br-lan')));
  t.deepEqual(listNetns().filter((n) => n.startsWith(`${w.tag}-c`)), []);
  t.deepEqual(await hostLinks(w.host), baseline);
});

serial('a kernel refusal (vlan where 8021q is missing, or a missing parent) also rolls back', async (t) => {
  const w = world(t);
  const baseline = await hostLinks(w.host);
  const site = parseSite(`${SITE}\n[Vlan]\nName = vl10\nParent = br-lan\nId = 10\n`, 'lab.site', { namespacePrefix: `${w.tag}-` });
  try {
    await siteUp(site, w.system, capture().log);
    t.log('this kernel has 8021q: vlan creation succeeded, rollback not exercised here');
    t.deepEqual((await siteShow(site, w.system)).filter((r) => r.status !== 'present'), []);
    await siteDown(site, w.system, capture().log);
  } catch (e) {
    t.log(`rolled back after: ${(e as Error).message}`);
    t.true(e instanceof SiteApplyError, String(e));
    t.regex((e as Error).message, /create vlan vl10 link br-lan id 10: .*undone$/);
  }
  t.deepEqual(listNetns().filter((n) => n.startsWith(`${w.tag}-c`)), []);
  t.deepEqual(await hostLinks(w.host), baseline);
});

serial('veth with both ends in namespaces (same name on each side) and a macvlan moved into a namespace', async (t) => {
  const w = world(t);
  const baseline = await hostLinks(w.host);
  const site = parseSite(
    `[Bridge]
Name = br0
[Namespace]
Name = n1
[Namespace]
Name = n2
[Veth]
Name = eth1
Peer = eth1
Namespace = n1
PeerNamespace = n2
Address = 10.88.0.1/30
PeerAddress = 10.88.0.2/30
MTU = 1400
[Macvlan]
Name = mv0
Parent = br0
Namespace = n2
Address = 10.77.0.5/24
`,
    'pair.site',
    { namespacePrefix: `${w.tag}-` },
  );
  const up = await siteUp(site, w.system, capture().log);
  t.true(up.changes.some((c) => /^move tvm-[0-9a-f]{8} into netns .*-n2 as mv0$/.test(c)), up.changes.join('\n'));
  t.deepEqual((await siteShow(site, w.system)).filter((r) => r.status !== 'present'), []);
  t.true(ping(`${w.tag}-n1`, '10.88.0.2'), 'n1 → n2 over the veth pair');
  t.deepEqual((await siteUp(site, w.system, capture().log)).changes, []);
  await siteDown(site, w.system, capture().log);
  t.deepEqual(listNetns().filter((n) => n.startsWith(`${w.tag}-n`)), []);
  t.deepEqual(await hostLinks(w.host), baseline);
});
