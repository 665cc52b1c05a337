/**
 * The daemon's MeshService without root: real Devices over the in-memory network, one MemoryStore as etcd, route
 * and FDB operations recorded. What a reload asks of the mesh (in place, restart, Table moved, [Mesh] removed),
 * the vxlan devices that follow it, and a record that cannot be built until the network is there.
 */
import test, { type ExecutionContext } from 'ava';
import { MemoryNetwork } from '../../src/conn/memory-bind.js';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { Device } from '../../src/device/device.js';
import { silentLogger } from '../../src/log.js';
import { MemoryRegistry, MemoryStore } from '../../src/mesh/memory-registry.js';
import { MeshSelfError } from '../../src/mesh/self.js';
import { MeshService } from '../../src/mesh/service.js';
import type { MeshInputs } from '../../src/mesh/inputs.js';
import type { VtepFdb } from '../../src/mesh/vteps.js';
import { parseMeshSection, type MeshSettings } from '../../src/config/mesh.js';
import { formatIp, formatPrefix, parseIp, parsePrefix, type IpAddress, type Prefix } from '../../src/net/ip.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { systemRng } from '../../src/crypto/random.js';
import { ManualClock, settle } from '../mesh/fakes.js';

function settings(...lines: string[]): MeshSettings {
  const r = parseMeshSection(
    ['Etcd = http://192.0.2.100:2379', ...lines].map((l, i) => ({ key: l.slice(0, l.indexOf('=')).trim(), value: l.slice(l.indexOf('=') + 1).trim(), line: i + 2 })),
    1,
  );
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.settings;
}

class RecordingRoutes {
  readonly routes = new Set<string>();
  readonly calls: string[] = [];
  addRoute(_ifindex: number, prefix: Prefix, table?: number): Promise<void> {
    const text = `${formatPrefix(prefix)} table ${table ?? 'main'}`;
    this.routes.add(text);
    this.calls.push(`+ ${text}`);
    return Promise.resolve();
  }
  deleteRoute(_ifindex: number, prefix: Prefix, table?: number): Promise<void> {
    const text = `${formatPrefix(prefix)} table ${table ?? 'main'}`;
    this.routes.delete(text);
    this.calls.push(`- ${text}`);
    return Promise.resolve();
  }
}

class RecordingFdb implements VtepFdb {
  readonly entries = new Set<string>();
  readonly links = new Map<string, string | null>([['vx-lan', 'vxlan'], ['br-lan', 'bridge']]);
  linkKind(device: string): Promise<string | null | undefined> {
    return Promise.resolve(this.links.get(device));
  }
  append(device: string, dst: IpAddress): Promise<void> {
    this.entries.add(`${device} ${formatIp(dst)}`);
    return Promise.resolve();
  }
  remove(device: string, dst: IpAddress): Promise<void> {
    this.entries.delete(`${device} ${formatIp(dst)}`);
    return Promise.resolve();
  }
}

interface Node {
  n: number;
  device: Device;
  service: MeshService;
  routes: RecordingRoutes;
  fdb: RecordingFdb;
  inputs: MeshInputs;
  registries: MemoryRegistry[];
}

const net = new MemoryNetwork();
let nextNode = 1;

async function node(t: ExecutionContext, store: MemoryStore, clock: ManualClock, mesh: MeshSettings, opts: { start?: boolean; sourceAddress?: () => Promise<IpAddress> } = {}): Promise<Node> {
  const n = nextNode++;
  const privateKey = generatePrivateKey(systemRng);
  const device = new Device({ tun: new MemoryTun({ name: `d${n}` }), bind: net.createBind(`192.0.2.${n}`), privateKey, listenPort: 51820, log: silentLogger });
  await device.start();
  const routes = new RecordingRoutes();
  const fdb = new RecordingFdb();
  const registries: MemoryRegistry[] = [];
  const service = new MeshService({
    ifname: `tv${n}`,
    device,
    log: silentLogger,
    routeOps: routes,
    ifindex: 7,
    fdb,
    clock,
    openRegistry: () => {
      const r = new MemoryRegistry(store, `node${n}`);
      registries.push(r);
      return Promise.resolve(r);
    },
    selfContext: { hostname: `node-${n}`, sourceAddress: opts.sourceAddress ?? (() => Promise.resolve(parseIp(`192.0.2.${n}`)!)) },
  });
  t.teardown(async () => {
    await service.stop();
    await device.close();
  });
  const inputs: MeshInputs = { settings: mesh, staticPeers: [], addresses: [parsePrefix(`10.50.0.${n}/24`)!], routes: {} };
  if (opts.start !== false) await service.start(inputs);
  return { n, device, service, routes, fdb, inputs, registries };
}

async function quiet(...nodes: Node[]): Promise<void> {
  await settle();
  for (const x of nodes) await x.service.meshAgent?.settled();
  await settle();
}

const keyOf = (x: Node) => publicKeyOf(x.device.privateKeyCopy());
const peerOf = (on: Node, of: Node) => on.device.peer(keyOf(of));
const allowed = (on: Node, of: Node) => {
  const p = peerOf(on, of);
  return p ? on.device.core.allowedIps.entriesFor(p).map((e) => formatPrefix({ family: e.family, bytes: e.address, bits: e.cidr })).sort() : undefined;
};

test('start: the nodes become peers with routes; status lists the members; stop revokes and the others drop it', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = await node(t, store, clock, settings('AllowedIPs = 10.60.1.0/24'));
  const b = await node(t, store, clock, settings('AllowedIPs = 10.60.2.0/24'));
  await quiet(a, b);
  t.deepEqual(allowed(a, b), ['10.60.2.0/24']);
  t.deepEqual(allowed(b, a), ['10.60.1.0/24']);
  t.deepEqual([...a.routes.routes], ['10.60.2.0/24 table main']);
  const status = a.service.status()!;
  t.is(status.state, 'synced');
  t.is(status.self?.name, `node-${a.n}`);
  t.deepEqual(status.members.map((m) => [m.name, m.status, m.endpoint, m.allowedIPs]), [[`node-${b.n}`, 'peer', `192.0.2.${b.n}:51820`, ['10.60.2.0/24']]]);
  t.deepEqual(a.service.ownedPeers(), new Set([encodeKey(keyOf(b))]));

  await b.service.stop();
  await quiet(a, b);
  t.is(peerOf(a, b), undefined);
  t.deepEqual([...a.routes.routes], []);
  t.truthy(peerOf(b, a), 'a stopped node keeps its peers (the interface goes down with them)');
});

test('reload in place: a new AllowedIPs is announced under the same lease; the others update the same Peer', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = await node(t, store, clock, settings('AllowedIPs = 10.61.1.0/24'));
  const b = await node(t, store, clock, settings('AllowedIPs = 10.61.2.0/24'));
  await quiet(a, b);
  const peerOnB = peerOf(b, a);
  const leases = store.liveLeases();
  const next: MeshInputs = { ...a.inputs, settings: settings('AllowedIPs = 10.61.1.0/24, 10.71.0.0/16', 'PersistentKeepalive = 5') };
  const prepared = await a.service.prepare(next, keyOf(a));
  t.false(prepared.restart);
  t.deepEqual(prepared.plan, ["mesh: this node's record updated in place (Name, Endpoint or AllowedIPs)", 'mesh: PersistentKeepalive 5 for every mesh peer']);
  await a.service.apply(prepared);
  await quiet(a, b);
  t.is(peerOf(b, a), peerOnB, 'the same Peer object: its session survives');
  t.deepEqual(allowed(b, a), ['10.61.1.0/24', '10.71.0.0/16']);
  t.deepEqual(store.liveLeases(), leases, 'no new lease');
  t.is(peerOf(a, b)!.timers.persistentKeepaliveIntervalMs, 5000);
});

test('reload with new etcd settings restarts the agent: the same key is handed over, nobody drops anybody', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = await node(t, store, clock, settings('AllowedIPs = 10.62.1.0/24'));
  const b = await node(t, store, clock, settings('AllowedIPs = 10.62.2.0/24'));
  await quiet(a, b);
  const peerOnA = peerOf(a, b);
  const peerOnB = peerOf(b, a);
  const prepared = await a.service.prepare({ ...a.inputs, settings: settings('AllowedIPs = 10.62.1.0/24', 'TTL = 5') }, keyOf(a));
  t.true(prepared.restart);
  t.true(prepared.handOver);
  await a.service.apply(prepared);
  await quiet(a, b);
  t.is(a.registries.length, 2, 'a second registry client');
  t.is(peerOf(a, b), peerOnA, 'the new agent took over the peer');
  t.is(peerOf(b, a), peerOnB, 'b never lost a');
  t.is(a.service.status()!.state, 'synced');
});

test('reload with another Table moves the mesh routes; removing [Mesh] leaves the mesh and removes its peers and routes', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = await node(t, store, clock, settings('AllowedIPs = 10.63.1.0/24'));
  const b = await node(t, store, clock, settings('AllowedIPs = 10.63.2.0/24'));
  await quiet(a, b);
  const moved = await a.service.prepare({ ...a.inputs, routes: { table: 1234 } }, keyOf(a));
  t.true(moved.routesMoved);
  await a.service.apply(moved);
  await quiet(a, b);
  t.deepEqual([...a.routes.routes], ['10.63.2.0/24 table 1234']);
  t.true(a.routes.calls.includes('- 10.63.2.0/24 table main'));
  t.truthy(peerOf(a, b));

  const gone = await a.service.prepare(undefined, keyOf(a));
  t.deepEqual(gone.plan, ['left the mesh: lease revoked, 1 mesh peer(s) and their routes removed']);
  await a.service.apply(gone);
  await quiet(a, b);
  t.is(peerOf(a, b), undefined);
  t.deepEqual([...a.routes.routes], []);
  t.is(peerOf(b, a), undefined, 'b dropped a at once (lease revoked)');
  t.is(a.service.status(), null);
});

test('a vxlan follows the mesh: our VTEP is announced, every member VTEP gets an FDB entry; unfollowing removes them', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = await node(t, store, clock, settings('AllowedIPs = 10.64.1.1/32'));
  const b = await node(t, store, clock, settings('AllowedIPs = 10.64.2.1/32'));
  await quiet(a, b);
  await t.throwsAsync(a.service.vtep({ device: 'vx-lan', remove: false, address: parseIp('10.64.9.9')! }), { message: /not inside this node's mesh AllowedIPs \(10.64.1.1\/32\)/ });
  await t.throwsAsync(a.service.vtep({ device: 'br-lan', remove: false, address: parseIp('10.64.1.1')! }), { message: 'br-lan is a bridge, not a vxlan' });
  await t.throwsAsync(a.service.vtep({ device: 'vx-none', remove: false, address: parseIp('10.64.1.1')! }), { message: /no link vx-none/ });

  t.deepEqual(await b.service.vtep({ device: 'vx-lan', remove: false, address: parseIp('10.64.2.1')! }), [`vx-lan follows the mesh of tv${b.n}: VTEP 10.64.2.1, 0 member VTEP(s)`]);
  await quiet(a, b);
  await a.service.vtep({ device: 'vx-lan', remove: false, address: parseIp('10.64.1.1')! });
  await quiet(a, b);
  t.deepEqual([...a.fdb.entries], ['vx-lan 10.64.2.1']);
  t.deepEqual([...b.fdb.entries], ['vx-lan 10.64.1.1']);
  t.deepEqual(a.service.status()!.vtepDevices, ['vx-lan']);
  t.is(a.service.status()!.self?.vtep, '10.64.1.1');

  await a.service.vtep({ device: 'vx-lan', remove: true });
  await quiet(a, b);
  t.deepEqual([...a.fdb.entries], []);
  t.deepEqual([...b.fdb.entries], [], 'a no longer announces a VTEP');
  t.deepEqual(await a.service.vtep({ device: 'vx-lan', remove: true }), ['vx-lan was not following the mesh']);
});

test('no route towards etcd yet: the interface comes up, the record is retried until it can be built', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  let routed = false;
  const sourceAddress = () => (routed ? Promise.resolve(parseIp('192.0.2.200')!) : Promise.reject(Object.assign(new Error('no route'), { code: 'ENETUNREACH' })));
  const a = await node(t, store, clock, settings('AllowedIPs = 10.65.1.0/24'), { sourceAddress });
  const b = await node(t, store, clock, settings('AllowedIPs = 10.65.2.0/24'));
  await quiet(a, b);
  const waiting = a.service.status()!;
  t.is(waiting.state, 'idle');
  t.regex(waiting.note ?? '', /no route towards any Etcd URL .*ENETUNREACH/);
  t.is(peerOf(b, a), undefined);
  routed = true;
  await clock.advance(2000);
  await quiet(a, b);
  t.is(a.service.status()!.state, 'synced');
  t.is(peerOf(b, a)?.endpoint?.format(), '192.0.2.200:51820');
  t.truthy(peerOf(a, b));
});

test('an invalid host name as the default Name is a failure, not a retry', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = await node(t, store, clock, settings('AllowedIPs = 10.66.1.0/24'), { start: false });
  const bad = new MeshService({
    ifname: 'tvbad', device: a.device, log: silentLogger, routeOps: a.routes, ifindex: 7, clock,
    openRegistry: () => Promise.resolve(new MemoryRegistry(store)),
    selfContext: { hostname: 'not_a_name' },
  });
  await t.throwsAsync(bad.start(a.inputs), { instanceOf: MeshSelfError, message: /host name "not_a_name" is not a valid mesh Name/ });
});

test('a configuration request that removes or changes a mesh peer: the mesh puts it back as etcd has it', async (t) => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = await node(t, store, clock, settings('AllowedIPs = 10.67.1.0/24'));
  const b = await node(t, store, clock, settings('AllowedIPs = 10.67.2.0/24'));
  await quiet(a, b);
  a.device.removePeer(peerOf(a, b)!);
  await a.service.deviceChanged();
  await quiet(a, b);
  t.deepEqual(allowed(a, b), ['10.67.2.0/24']);

  // Its AllowedIPs replaced behind the mesh's back (as `wg set ... allowed-ips` would).
  const peer = peerOf(a, b)!;
  a.device.core.allowedIps.removeByValue(peer);
  a.device.setPeer({ publicKey: keyOf(b), allowedIPs: [parsePrefix('10.99.9.0/24')!] });
  await a.service.deviceChanged();
  await quiet(a, b);
  t.is(peerOf(a, b), peer, 'changed in place');
  t.deepEqual(allowed(a, b), ['10.67.2.0/24']);

  // Nothing to correct: nothing happens.
  const calls = a.routes.calls.length;
  await a.service.deviceChanged();
  t.is(a.routes.calls.length, calls);
});
