/**
 * Reload of an interface in a mesh, without root: reloadInterface over a Device on the in-memory network, a fake
 * InterfaceOps recording routes, and the mesh on a MemoryStore. The file's peers and the mesh's never fight: a
 * reload leaves mesh peers alone, a static [Peer] with a member's key takes it over (the mesh steps back first),
 * and removing it hands it back to the mesh.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { MemoryNetwork } from '../../src/conn/memory-bind.js';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';
import { MeshService } from '../../src/mesh/service.js';
import { Transaction } from '../../src/system/transaction.js';
import { DeviceControlAdapter } from '../../src/device/control.js';
import { Device } from '../../src/device/device.js';
import { silentLogger } from '../../src/log.js';
import { MemoryRegistry, MemoryStore } from '../../src/mesh/memory-registry.js';
import { formatPrefix, parseIp, type Prefix } from '../../src/net/ip.js';
import type { InterfaceOps } from '../../src/quick/apply.js';
import { meshInputs } from '../../src/mesh/inputs.js';
import { reloadInterface, type LiveInterface } from '../../src/quick/reload.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { ManualClock, settle } from '../mesh/fakes.js';

function recordingOps(routes: Set<string>): InterfaceOps {
  const ok = () => Promise.resolve();
  return {
    addAddress: ok, deleteAddress: ok, setMtu: ok, setUp: ok, addRule: ok, deleteRule: ok, enableSrcValidMark: ok,
    addRoute: (_i: number, p: Prefix, table?: number) => {
      const text = `${formatPrefix(p)}${table ? ` table ${table}` : ''}`;
      if (routes.has(text)) return Promise.reject(Object.assign(new Error(`route ${text} exists`), { code: 'EEXIST' }));
      routes.add(text);
      return ok();
    },
    deleteRoute: (_i: number, p: Prefix, table?: number) => {
      routes.delete(`${formatPrefix(p)}${table ? ` table ${table}` : ''}`);
      return ok();
    },
    tableInUse: () => Promise.resolve(false),
    routeMtuTowards: () => Promise.resolve(undefined),
    defaultRouteMtu: () => Promise.resolve(undefined),
  };
}

const net = new MemoryNetwork();
let n = 0;

async function meshNode(t: ExecutionContext, store: MemoryStore, clock: ManualClock, dir: string, extra = '') {
  const i = ++n;
  const privateKey = generatePrivateKey(systemRng);
  const device = new Device({ tun: new MemoryTun({ name: `r${i}` }), bind: net.createBind(`192.0.2.${i}`), privateKey, listenPort: 51820, log: silentLogger });
  await device.start();
  const routes = new Set<string>();
  const ops = recordingOps(routes);
  const mesh = new MeshService({
    ifname: `tr${i}`, device, log: silentLogger, routeOps: ops, ifindex: 9, clock,
    openRegistry: () => Promise.resolve(new MemoryRegistry(store, `r${i}`)),
    selfContext: {
      hostname: `node-${i}`,
      sourceAddress: () => Promise.resolve(parseIp(`192.0.2.${i}`)!),
      lookup: (host) => Promise.reject(Object.assign(new Error(`${host}: not found`), { code: 'ENOTFOUND' })),
    },
  });
  t.teardown(async () => {
    await mesh.stop();
    await device.close();
  });
  const path = join(dir, `tr${i}.conf`);
  const write = (peers = '') =>
    writeFileSync(
      path,
      `[Interface]\nPrivateKey = ${encodeKey(privateKey)}\nAddress = 10.80.0.${i}/24\nListenPort = 51820\n\n[Mesh]\nEtcd = http://192.0.2.100:2379\nAllowedIPs = 10.80.0.${i}/32, 10.81.${i}.0/24\n${extra}\n${peers}`,
      { mode: 0o600 },
    );
  write();
  const config = await loadConfig(path);
  await mesh.start(meshInputs(config)!);
  const live: LiveInterface = {
    configPath: path, ifname: `tr${i}`, ifindex: 9, config, resolved: config.peers.map(() => undefined), applied: {},
    tx: new Transaction(silentLogger), ops, device, control: new DeviceControlAdapter(device, silentLogger), log: silentLogger, mesh,
  };
  return { i, device, mesh, live, routes, write, publicKey: publicKeyOf(privateKey) };
}

async function quiet(...nodes: { mesh: MeshService }[]) {
  await settle();
  for (const x of nodes) await x.mesh.meshAgent?.settled();
  await settle();
}

test('a reload leaves mesh peers alone; a static [Peer] takes a member over and gives it back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tv-reload-mesh-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = await meshNode(t, store, clock, dir);
  const b = await meshNode(t, store, clock, dir);
  await quiet(a, b);
  const bOnA = a.device.peer(b.publicKey);
  t.truthy(bOnA);
  t.true(a.routes.has(`10.81.${b.i}.0/24`));

  // Nothing changed in the file: nothing happens, the mesh peer stays.
  t.deepEqual(await reloadInterface(a.live), []);
  t.is(a.device.peer(b.publicKey), bOnA);

  // A static [Peer] with b's key and other AllowedIPs: the file wins, the mesh steps back, routes follow.
  a.write(`[Peer]\nPublicKey = ${encodeKey(b.publicKey)}\nAllowedIPs = 10.99.0.0/24\n`);
  const changes = await reloadInterface(a.live);
  await quiet(a, b);
  t.true(changes.some((c) => /peer .* added/.test(c)), changes.join('\n'));
  const entries = (p: typeof bOnA) => a.device.core.allowedIps.entriesFor(p!).map((e) => formatPrefix({ family: e.family, bytes: e.address, bits: e.cidr })).sort();
  t.deepEqual(entries(a.device.peer(b.publicKey)), ['10.99.0.0/24']);
  t.true(a.routes.has('10.99.0.0/24'));
  t.false(a.routes.has(`10.81.${b.i}.0/24`));
  t.deepEqual(a.mesh.status()!.members.map((m) => m.status), ['refused']);
  t.deepEqual(a.mesh.ownedPeers(), new Set());

  // The [Peer] goes again: b is a mesh peer once more, with its announced AllowedIPs and route.
  a.write();
  await reloadInterface(a.live);
  await quiet(a, b);
  t.deepEqual(entries(a.device.peer(b.publicKey)), [`10.80.0.${b.i}/32`, `10.81.${b.i}.0/24`]);
  t.true(a.routes.has(`10.81.${b.i}.0/24`));
  t.false(a.routes.has('10.99.0.0/24'));
  t.deepEqual(a.mesh.ownedPeers(), new Set([encodeKey(b.publicKey)]));
});

test('a [Mesh] whose record cannot be built refuses the reload and changes nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tv-reload-mesh-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new MemoryStore();
  const clock = new ManualClock();
  const a = await meshNode(t, store, clock, dir);
  const before = a.mesh.status();
  writeFileSync(a.live.configPath, readFileSync(a.live.configPath, 'utf8').replace('[Mesh]', '[Mesh]\nEndpoint = no-such-host.invalid:51820'));
  const err = await t.throwsAsync(reloadInterface(a.live));
  t.regex(err.message, /\[Mesh\]: cannot resolve the mesh Endpoint host "no-such-host.invalid": ENOTFOUND/);
  t.deepEqual(a.mesh.status(), before);
});
