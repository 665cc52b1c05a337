/** tunvpn's `mesh=1` and `vtep=1` extensions of the configuration protocol: framing, formats, server and client. */
import test from 'ava';
import { UapiClient } from '../../src/uapi/client.js';
import { EINVAL, EOPNOTSUPP } from '../../src/uapi/errors.js';
import { RequestFramer } from '../../src/uapi/framing.js';
import { MemoryDeviceControl } from '../../src/uapi/memory-control.js';
import {
  formatMeshReply,
  formatVtepRequest,
  parseMeshReply,
  parseVtepRequest,
  type MeshStatus,
  type VtepRequest,
} from '../../src/uapi/mesh-format.js';
import { UapiServer, VtepRefused } from '../../src/uapi/server.js';
import { formatIp, parseIp } from '../../src/net/ip.js';
import { converse, tempDir } from './helpers.js';

const STATUS: MeshStatus = {
  state: 'synced',
  since: 1_767_225_600_000,
  vtepDevices: ['vx-lan'],
  self: {
    name: 'site-a',
    publicKey: 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=',
    status: 'self',
    endpoint: '10.40.0.11:51820',
    allowedIPs: ['10.50.0.11/32'],
    refusedAllowedIPs: [],
    vtep: '10.50.0.11',
    leaseAgeSeconds: 12,
  },
  members: [
    {
      name: 'site-b',
      publicKey: '3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=',
      status: 'peer',
      endpoint: '[fd00::2]:51820',
      allowedIPs: ['10.50.0.12/32', '10.60.2.0/24'],
      refusedAllowedIPs: ['10.50.0.11/32'],
      leaseAgeSeconds: 3,
      createRevision: '17',
      latestHandshake: 1_767_225_611_000,
    },
  ],
  invalid: [{ key: '/tunvpn/members/x', reason: 'key does not end in a base64url public key' }],
  refusals: ['member site-b (3p7b…IK08=): AllowedIPs 10.50.0.11/32 refused: overlaps 10.50.0.11/32 of this node'],
};

test('mesh=1 is framed like get=1; vtep=1 carries a short body like set=1', (t) => {
  const f = new RequestFramer();
  f.push(Buffer.from('mesh=1\n\nvtep=1\ndevice=vx-lan\naddress=10.50.0.11\n\nget=1\n\n'));
  t.deepEqual(f.next(), { kind: 'mesh' });
  t.deepEqual(f.next(), { kind: 'vtep', lines: ['device=vx-lan', 'address=10.50.0.11'] });
  t.deepEqual(f.next(), { kind: 'get' });
  const trailing = new RequestFramer();
  trailing.push(Buffer.from('mesh=1\nx=1\n'));
  t.is(trailing.next()?.kind, 'error');
  const long = new RequestFramer();
  long.push(Buffer.from(`vtep=1\n${'device=a\n'.repeat(20)}\n`));
  t.is(long.next()?.kind, 'error');
});

test('the mesh reply (UTF-8 values, one line each) parses back to the same status; a daemon without a mesh answers errno 95', (t) => {
  const text = formatMeshReply(STATUS);
  t.true(text.includes('refusal=member site-b (3p7b…IK08=): '));
  t.true(text.startsWith('state=synced\nsince=1767225600000\nvtep_device=vx-lan\nself=hSDw'));
  t.true(text.endsWith('errno=0\n\n'));
  t.deepEqual(parseMeshReply(text), STATUS);
  t.is(parseMeshReply(`errno=${EOPNOTSUPP}\n\n`), null);
  t.is(parseMeshReply('errno=0\n'), undefined);
  t.is(parseMeshReply('bogus\nerrno=0\n\n'), undefined);
  t.is(parseMeshReply('lease_age=12\nunknown_key=1\nerrno=0\n\n'), undefined);
});

test('values from etcd cannot break the reply: newlines and control characters become ?, one line each', (t) => {
  const hostile: MeshStatus = {
    ...STATUS,
    invalid: [{ key: '/tunvpn/members/a b\nerrno=0\n\n', reason: 'bad\r\nvalue\u0000' }],
    refusals: ['x\nstate=evil'],
  };
  const text = formatMeshReply(hostile);
  t.is(text.split('\n\n').length, 2, 'one reply only');
  const back = parseMeshReply(text)!;
  t.deepEqual(back.invalid, [{ key: '/tunvpn/members/a?b?errno=0??', reason: 'bad??value?' }]);
  t.deepEqual(back.refusals, ['x?state=evil']);
  t.is(back.state, 'synced');
});

test('vtep requests: device and address, or remove; anything else is refused with a reason', (t) => {
  const add: VtepRequest = { device: 'vx-lan', remove: false, address: parseIp('10.50.0.11')! };
  t.is(formatVtepRequest(add), 'vtep=1\ndevice=vx-lan\naddress=10.50.0.11\n\n');
  t.deepEqual(parseVtepRequest(['device=vx-lan', 'address=10.50.0.11']), { ok: true, value: add });
  t.deepEqual(parseVtepRequest(['device=vx-lan', 'remove=true']), { ok: true, value: { device: 'vx-lan', remove: true } });
  const refused = (lines: string[]) => {
    const r = parseVtepRequest(lines);
    return r.ok ? 'accepted' : r.message;
  };
  t.is(refused(['address=10.50.0.11']), 'a vtep request needs device=');
  t.is(refused(['device=vx-lan']), 'a vtep request needs address= (or remove=true)');
  t.is(refused(['device=vx-lan', 'address=10.50.0.300']), 'address "10.50.0.300" is not an IP address');
  t.is(refused(['device=vx-lan', 'remove=yes']), 'remove must be "true"');
  t.is(refused(['device=vx-lan', 'remove=true', 'address=10.50.0.11']), 'remove=true takes no address');
  t.regex(refused(['device=a/b', 'remove=true']), /^device: /);
  t.is(refused(['device=vx-lan', 'colour=blue']), 'unknown key "colour" in a vtep request');
});

test('server and client: status and vtep requests reach the handler; without one, both say there is no mesh', async (t) => {
  const dir = await tempDir(t);
  const server = new UapiServer({ iface: 'tvmesh', control: new MemoryDeviceControl(), dir });
  await server.listen();
  t.teardown(() => server.close());
  const c = await UapiClient.connect('tvmesh', { dir });
  t.teardown(() => c.close());

  t.is(await c.mesh(), null);
  t.deepEqual(await c.vtep({ device: 'vx-lan', remove: true }), {
    errno: EOPNOTSUPP,
    messages: ['tvmesh is in no mesh (its configuration has no [Mesh] section)'],
  });

  const seen: string[] = [];
  server.setMeshHandler({
    status: () => STATUS,
    vtep: (req) => {
      seen.push(req.remove ? `remove ${req.device}` : `add ${req.device} ${formatIp(req.address)}`);
      if (!req.remove && req.device === 'vx-bad') return Promise.reject(new VtepRefused('vx-bad is not a vxlan'));
      return Promise.resolve([`${req.device} follows the mesh`]);
    },
  });
  t.deepEqual(await c.mesh(), STATUS);
  t.deepEqual(await c.vtep({ device: 'vx-lan', remove: false, address: parseIp('10.50.0.11')! }), { errno: 0, messages: ['vx-lan follows the mesh'] });
  t.deepEqual(await c.vtep({ device: 'vx-bad', remove: false, address: parseIp('10.50.0.11')! }), { errno: EINVAL, messages: ['vx-bad is not a vxlan'] });
  t.deepEqual(seen, ['add vx-lan 10.50.0.11', 'add vx-bad 10.50.0.11']);
  const { text } = await converse(server.path, 'vtep=1\ndevice=vx-lan\n\n', { replies: 1 });
  t.is(text, `message=a vtep request needs address= (or remove=true)\nerrno=${EINVAL}\n\n`);
  t.is((await c.get()).peers.length, 0, 'the connection stays usable for ordinary requests');
});
