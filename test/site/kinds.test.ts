/**
 * The link-kind extension point: every kind in the registry (src/site/kinds/index.ts) goes the whole way — parse,
 * desired state, plan, the in-memory system, show and down — and has a netlink codec; and the registry is the
 * only list of kinds: no other site file switches over kind names.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinkRequest, type LinkSpec } from '../../src/netlink/index.js';
import { linkKindCodec } from '../../src/netlink/link-kinds.js';
import { describeSpec } from '../../src/site/actions.js';
import { deriveSite } from '../../src/site/desired.js';
import { LINK_KINDS, kindOfKernelKind, kindOfSection, linkKind, type LinkKindName } from '../../src/site/kinds/index.js';
import { MemorySiteSystem } from '../../src/site/memory.js';
import { parseSite } from '../../src/site/parse.js';
import { findConflicts, planDown, planUp } from '../../src/site/plan.js';
import { compareSite } from '../../src/site/show.js';
import { findLink } from '../../src/site/state.js';

/** What every example may refer to: a bridge and a namespace. */
const PREAMBLE = '[Bridge]\nName = k-br\n[Namespace]\nName = k-ns\n';

/** One section per kind. A Record over the registry's names: a new kind does not compile without its example. */
const EXAMPLES: Record<LinkKindName, string> = {
  bridge: '[Bridge]\nName = k-br2\nAddress = 10.9.0.1/24\n',
  vxlan: '[Vxlan]\nName = k-vx\nId = 9\nLocal = 10.213.0.1\nRemote = 10.213.0.2\nDev = tun0\nBridge = k-br\n',
  geneve: '[Geneve]\nName = k-gn\nId = 9\nRemote = 10.213.0.2\nBridge = k-br\n',
  tap: '[Tap]\nName = k-tap\nBridge = k-br\nMTU = 1400\n',
  veth: '[Veth]\nName = k-va\nPeer = k-vb\nPeerNamespace = k-ns\nPeerAddress = 10.9.1.2/24\n',
  macvlan: '[Macvlan]\nName = k-mv\nParent = eth0\nNamespace = k-ns\n',
  ipvlan: '[Ipvlan]\nName = k-iv\nParent = eth0\nMode = l3\n',
  vlan: '[Vlan]\nName = k-vl\nParent = eth0\nId = 10\nNamespace = k-ns\nAddress = 10.9.2.1/24\n',
};

function system(): MemorySiteSystem {
  const sys = new MemorySiteSystem();
  sys.addHostLink({ name: 'tun0', kind: 'tun', mtu: 1420 });
  sys.addHostLink({ name: 'eth0', kind: undefined, mtu: 1500 });
  return sys;
}

for (const kind of LINK_KINDS) {
  test(`${kind.kind}: parse → desired → plan → memory system → show → down`, async (t) => {
    const site = parseSite(PREAMBLE + EXAMPLES[kind.kind], `${kind.kind}.conf`);
    const decl = site.links.at(-1)!;
    t.is(decl.kind, kind.kind);
    t.is(kindOfSection(kind.label.toLowerCase()), linkKind(kind.kind));

    const sys = system();
    const before = await sys.snapshot(['k-ns']);
    const desired = deriveSite(site, before);
    const own = desired.links.filter((l) => l.kind === kind.kind && l.origin.startsWith(`[${kind.label}] ${decl.name} `));
    t.true(own.length > 0, 'the declaration stands for at least one link');
    t.deepEqual(findConflicts(desired, before), []);

    const ops = planUp(desired, before);
    const create = ops.find((o) => o.action.op === 'link-add' && o.action.name === own[0]!.hostName);
    t.truthy(create, 'its link is created');
    if (create?.action.op === 'link-add') t.is(create.description, `create ${describeSpec(create.action.name, create.action.spec)}`);
    for (const o of ops) await sys.perform(o.action);

    const after = await sys.snapshot(['k-ns']);
    for (const l of own) {
      const s = findLink(after, l.netns, l.name);
      t.truthy(s, `${l.name} exists where it belongs`);
      t.is(s?.kind, kind.kernelKind);
      t.is(kindOfKernelKind(s?.kind), linkKind(kind.kind));
    }
    const again = deriveSite(site, after);
    t.deepEqual(planUp(again, after), [], 'a second up plans nothing');
    t.deepEqual(compareSite(again, after).filter((r) => r.status !== 'present'), []);

    for (const o of planDown(again, after).operations) await sys.perform(o.action);
    const gone = await sys.snapshot(['k-ns']);
    t.deepEqual(gone.host.links.map((l) => l.name), ['tun0', 'eth0']);
    t.deepEqual(sys.namespaceNames(), []);
  });
}

test('every kind reads Name, Address and MTU (the common fields), has a unique section and a netlink codec', (t) => {
  const sections = new Set<string>();
  for (const kind of LINK_KINDS) {
    for (const key of ['name', 'address', 'mtu']) t.true(kind.keys.includes(key), `${kind.label} allows ${key}`);
    t.false(sections.has(kind.label.toLowerCase()), `${kind.label} is registered once`);
    sections.add(kind.label.toLowerCase());
    t.truthy(linkKindCodec(kind.kernelKind), `${kind.kernelKind} has a codec in src/netlink/link-kinds.ts`);
  }
});

test('every kind created by the plan encodes as an rtnetlink request, or is a tun device', async (t) => {
  const site = parseSite(PREAMBLE + Object.values(EXAMPLES).join(''), 'all.conf');
  const sys = system();
  const state = await sys.snapshot(['k-ns']);
  const seen = new Set<string>();
  for (const o of planUp(deriveSite(site, state), state)) {
    if (o.action.op !== 'link-add') continue;
    const spec: LinkSpec = linkKind(o.action.spec.kind).toNetlink(o.action.name, o.action.spec);
    seen.add(o.action.spec.kind);
    if (linkKindCodec(spec.kind)?.createdBy === 'tunsetiff') continue;
    const req = createLinkRequest(spec, { parent: 2, dev: 1 });
    t.is(req.what, `create link ${o.action.name} (${spec.kind})`);
  }
  t.deepEqual([...seen].sort(), LINK_KINDS.map((k) => k.kind).sort());
});

/** Source files of src/site outside the registry's own folder. */
function siteSources(): string[] {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'kinds') walk(path);
      } else if (e.name.endsWith('.ts')) out.push(relative(root, path));
    }
  };
  walk(join(root, 'src/site'));
  out.push('src/netlink/link-codec.ts');
  return out.map((p) => join(root, p));
}

test('the registry is the only list of kinds: no other site file switches over kind names', (t) => {
  const names = [...new Set(LINK_KINDS.flatMap((k) => [k.kind, k.kernelKind]))].join('|');
  const patterns = [
    new RegExp(`case\\s+'(${names})'`),
    new RegExp(`kind\\s*[!=]==?\\s*'(${names})'`),
    new RegExp(`'(${names})'\\s*[!=]==?\\s*[\\w.]*kind\\b`),
    new RegExp(`kind:\\s*'(${names})'`),
    new RegExp(`^\\s*(${names})\\s*:\\s*['"{\\w]`, 'm'),
  ];
  const files = siteSources();
  t.true(files.length > 10);
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const re of patterns) t.notRegex(text, re, `${file} names a link kind; read its descriptor (src/site/kinds/) instead`);
  }
});
