/** Our own record's defaults (self.ts) and the files a [Mesh] section names (etcdOptionsFromSettings). */
import test from 'ava';
import { generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { etcdOptionsFromSettings } from '../../src/mesh/etcd-registry.js';
import { formatMemberEndpoint } from '../../src/mesh/member.js';
import { buildSelfRecord, MeshSelfError, sourceAddressTowards } from '../../src/mesh/self.js';
import { parseMeshSection, type MeshSettings } from '../../src/config/mesh.js';
import { formatIp, formatPrefix, parseIp, parsePrefix } from '../../src/net/ip.js';
import { systemRng } from '../../src/crypto/random.js';

function settings(...lines: string[]): MeshSettings {
  const r = parseMeshSection(lines.map((l, i) => ({ key: l.split('=')[0]!, value: l.slice(l.indexOf('=') + 1), line: i + 1 })));
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.settings;
}

const publicKey = publicKeyOf(generatePrivateKey(systemRng));
const addresses = [parsePrefix('10.50.0.11/24')!, parsePrefix('fd50::11/64')!];

test('defaults: host name, source address towards etcd with ListenPort, Address entries as host routes', async (t) => {
  const asked: string[] = [];
  const rec = await buildSelfRecord(settings('Etcd = http://10.40.0.1:2379, http://10.40.0.2:2379'), {
    publicKey,
    addresses,
    listenPort: 51820,
    hostname: 'node-7.example.net',
    sourceAddress: async (host, port) => {
      asked.push(`${host}:${port}`);
      if (host === '10.40.0.1') throw Object.assign(new Error('unreachable'), { code: 'ENETUNREACH' });
      return parseIp('10.40.0.11')!;
    },
  });
  t.is(rec.name, 'node-7.example.net');
  t.is(formatMemberEndpoint(rec.endpoint!), '10.40.0.11:51820');
  t.deepEqual(rec.allowedIPs.map(formatPrefix), ['10.50.0.11/32', 'fd50::11/128']);
  t.deepEqual(asked, ['10.40.0.1:2379', '10.40.0.2:2379']);
});

test('explicit values win; an Endpoint host name is resolved once; the VTEP is carried', async (t) => {
  const rec = await buildSelfRecord(
    settings('Etcd = http://10.40.0.1:2379', 'Name = site-a', 'Endpoint = vpn.example.net:4500', 'AllowedIPs = 10.60.1.0/24'),
    { publicKey, addresses, hostname: 'ignored', vtep: parseIp('10.50.0.11')!, lookup: async () => parseIp('198.51.100.4')! },
  );
  t.is(rec.name, 'site-a');
  t.is(formatMemberEndpoint(rec.endpoint!), '198.51.100.4:4500');
  t.deepEqual(rec.allowedIPs.map(formatPrefix), ['10.60.1.0/24']);
  t.is(formatIp(rec.vtep!), '10.50.0.11');
});

test('what cannot be defaulted is a MeshSelfError saying what to set', async (t) => {
  const s = settings('Etcd = http://10.40.0.1:2379');
  await t.throwsAsync(buildSelfRecord(s, { publicKey, addresses, listenPort: 1, hostname: 'under_score' }), {
    instanceOf: MeshSelfError,
    message: /not a valid mesh Name; set Name/,
  });
  await t.throwsAsync(buildSelfRecord(s, { publicKey, addresses, hostname: 'a' }), { instanceOf: MeshSelfError, message: /no Endpoint.*ListenPort/ });
  await t.throwsAsync(
    buildSelfRecord(s, { publicKey, addresses, hostname: 'a', listenPort: 1, sourceAddress: async () => Promise.reject(new Error('no route')) }),
    { instanceOf: MeshSelfError, message: /no route towards any Etcd URL.*set Endpoint/ },
  );
});

test('sourceAddressTowards: the kernel picks 127.0.0.1 towards loopback', async (t) => {
  t.is(formatIp(await sourceAddressTowards('127.0.0.1', 2379)), '127.0.0.1');
});

test('etcd options: PEM files read, password file without its trailing newline, unreadable files named', async (t) => {
  const files: Record<string, string> = { '/ca': 'CA', '/c': 'CERT', '/k': 'KEY', '/pw': 's3cret\n' };
  const readFile = async (p: string) => {
    if (!(p in files)) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return Buffer.from(files[p]!);
  };
  const s = settings('Etcd = https://10.40.0.1:2379', 'EtcdCA = /ca', 'EtcdCert = /c', 'EtcdKey = /k', 'EtcdUser = u', 'EtcdPasswordFile = /pw');
  const opts = await etcdOptionsFromSettings(s, readFile);
  t.deepEqual(opts.endpoints, ['https://10.40.0.1:2379']);
  t.is(opts.tls!.ca!.toString(), 'CA');
  t.is(opts.tls!.key!.toString(), 'KEY');
  t.deepEqual(opts.auth, { username: 'u', password: 's3cret' });
  await t.throwsAsync(etcdOptionsFromSettings({ ...s, tls: { ca: '/missing' } }, readFile), { message: 'cannot read EtcdCA /missing: ENOENT' });
});
