/** The [Mesh] section parser: defaults, every key's validation, cross-key rules, and problems with their lines. */
import test from 'ava';
import { formatPrefix } from '../../src/net/ip.js';
import {
  DEFAULT_MESH_PREFIX,
  DEFAULT_MESH_TTL_S,
  etcdUrlValue,
  parseMeshSection,
  type MeshEntry,
  type MeshSettingsResult,
} from '../../src/config/mesh.js';

/** "Key = Value" lines, numbered from 2 (line 1 is the [Mesh] header). */
function entries(...lines: string[]): MeshEntry[] {
  return lines.map((l, i) => {
    const eq = l.indexOf('=');
    return { key: l.slice(0, eq).trim(), value: l.slice(eq + 1).trim(), line: i + 2 };
  });
}

function parse(...lines: string[]): MeshSettingsResult {
  return parseMeshSection(entries(...lines), 1);
}

function errorsOf(r: MeshSettingsResult): string[] {
  return r.ok ? [] : r.errors.map((e) => `${e.line}: ${e.message}`);
}

test('minimal section: defaults for Prefix and TTL, nothing else set', (t) => {
  const r = parse('Etcd = http://10.40.0.1:2379');
  if (!r.ok) return t.fail(errorsOf(r).join('\n'));
  t.deepEqual(r.settings, {
    etcd: [{ scheme: 'http', host: '10.40.0.1', port: 2379, url: 'http://10.40.0.1:2379' }],
    prefix: DEFAULT_MESH_PREFIX,
    ttl: DEFAULT_MESH_TTL_S,
  });
  t.deepEqual(r.warnings, []);
});

test('the issue example parses; keys are case-insensitive; Etcd and AllowedIPs accumulate', (t) => {
  const r = parse(
    'Etcd = http://10.40.0.1:2379, http://10.40.0.2:2379',
    'etcd = http://10.40.0.3:2379',
    'NAME = site-a',
    'Endpoint = 10.40.0.11:51820',
    'AllowedIPs = 10.50.0.11/32, 10.60.1.0/24',
    'allowedips = fd50::11/128',
    'Prefix = /tunvpn/prod/',
    'TTL = 15',
    'PersistentKeepalive = 25',
  );
  if (!r.ok) return t.fail(errorsOf(r).join('\n'));
  const s = r.settings;
  t.deepEqual(s.etcd.map((e) => e.url), ['http://10.40.0.1:2379', 'http://10.40.0.2:2379', 'http://10.40.0.3:2379']);
  t.is(s.name, 'site-a');
  t.deepEqual(s.endpoint, { host: '10.40.0.11', port: 51820 });
  t.deepEqual(s.allowedIPs!.map(formatPrefix), ['10.50.0.11/32', '10.60.1.0/24', 'fd50::11/128']);
  t.is(s.prefix, '/tunvpn/prod/');
  t.is(s.ttl, 15);
  t.is(s.persistentKeepalive, 25);
});

test('Etcd URLs: http/https with host:port, IPv6 in brackets, host names; everything else refused', (t) => {
  t.is(etcdUrlValue('https://[fd00::1]:2379').url, 'https://[fd00::1]:2379');
  t.is(etcdUrlValue('HTTP://Etcd-1.Example.net:2379/').url, 'http://etcd-1.example.net:2379');
  for (const bad of [
    '10.0.0.1:2379',
    'ftp://10.0.0.1:2379',
    'http://10.0.0.1',
    'http://10.0.0.1:0',
    'http://10.0.0.1:65536',
    'http://10.0.0.1:23x9',
    'http://fd00::1:2379',
    'http://[10.0.0.1]:2379',
    'http://[fd00::1]2379',
    'http://user@10.0.0.1:2379',
    'http://10.0.0.1:2379/v3',
    'http://10.0.0.256:2379',
    'http://bad_host:2379',
    'http://:2379',
  ]) {
    t.throws(() => etcdUrlValue(bad), undefined, bad);
  }
});

test('mixed schemes, duplicates, and a missing Etcd', (t) => {
  t.deepEqual(errorsOf(parse('Etcd = http://10.0.0.1:2379, https://10.0.0.2:2379')), [
    '2: Etcd URLs mix http:// and https://; use one scheme for every member',
  ]);
  const dup = parse('Etcd = http://10.0.0.1:2379, http://10.0.0.1:2379/');
  t.true(dup.ok);
  t.deepEqual(dup.warnings.map((w) => w.message), ['Etcd http://10.0.0.1:2379 is listed twice']);
  t.deepEqual(errorsOf(parse('Name = a')), ['1: [Mesh] has no Etcd (the etcd client URLs are required)']);
});

test('Name, Endpoint, Prefix, TTL, PersistentKeepalive: bad values are errors at their line', (t) => {
  const r = parse(
    'Etcd = http://10.0.0.1:2379',
    'Name = -bad-',
    'Endpoint = 10.0.0.1',
    'Prefix = tunvpn/',
    'TTL = 1',
    'PersistentKeepalive = many',
  );
  const errs = errorsOf(r);
  t.is(errs.length, 5, errs.join('\n'));
  t.deepEqual(errs.map((e) => Number(e.split(':')[0])), [3, 4, 5, 6, 7]);
  t.regex(errs[0]!, /Name "-bad-"/);
  t.regex(errs[2]!, /must start and end with '\/'/);
  t.regex(errs[3]!, /TTL must be 2\.\.3600 seconds/);
});

test('Prefix: no empty, "." or ".." elements, only safe characters', (t) => {
  for (const bad of ['/', '//', '/a//b/', '/a/../b/', '/a b/', '/a/./', '/tunvpn']) {
    t.false(parse('Etcd = http://10.0.0.1:2379', `Prefix = ${bad}`).ok, bad);
  }
  t.true(parse('Etcd = http://10.0.0.1:2379', 'Prefix = /org.example/tunvpn-1_a/').ok);
});

test('TTL bounds: 2 and 3600 accepted, 3601 and 0 refused', (t) => {
  t.true(parse('Etcd = http://10.0.0.1:2379', 'TTL = 2').ok);
  t.true(parse('Etcd = http://10.0.0.1:2379', 'TTL = 3600').ok);
  t.false(parse('Etcd = http://10.0.0.1:2379', 'TTL = 3601').ok);
  t.false(parse('Etcd = http://10.0.0.1:2379', 'TTL = 0').ok);
});

test('AllowedIPs: host bits cleared with a warning, duplicates warned, /0 refused', (t) => {
  const r = parse('Etcd = http://10.0.0.1:2379', 'AllowedIPs = 10.60.1.7/24, 10.60.1.0/24');
  if (!r.ok) return t.fail(errorsOf(r).join('\n'));
  t.deepEqual(r.settings.allowedIPs!.map(formatPrefix), ['10.60.1.0/24']);
  t.deepEqual(r.warnings.map((w) => w.message), [
    'AllowedIPs 10.60.1.7/24 has host bits set; using 10.60.1.0/24',
    'AllowedIPs 10.60.1.0/24 is listed twice (also at line 3)',
  ]);
  t.deepEqual(errorsOf(parse('Etcd = http://10.0.0.1:2379', 'AllowedIPs = 0.0.0.0/0')), [
    '3: AllowedIPs 0.0.0.0/0: a mesh member may not claim a default route (the others refuse it)',
  ]);
  t.deepEqual(errorsOf(parse('Etcd = http://10.0.0.1:2379', 'AllowedIPs = 10.0.0.300/32')), [
    '3: AllowedIPs "10.0.0.300/32": "10.0.0.300" is not an IPv4 or IPv6 address',
  ]);
});

test('TLS: absolute paths, https only, EtcdCert and EtcdKey together', (t) => {
  const ok = parse('Etcd = https://10.0.0.1:2379', 'EtcdCA = /etc/tunvpn/ca.pem', 'EtcdCert = /etc/tunvpn/c.pem', 'EtcdKey = /etc/tunvpn/k.pem');
  if (!ok.ok) return t.fail(errorsOf(ok).join('\n'));
  t.deepEqual(ok.settings.tls, { ca: '/etc/tunvpn/ca.pem', cert: '/etc/tunvpn/c.pem', key: '/etc/tunvpn/k.pem' });
  t.deepEqual(errorsOf(parse('Etcd = https://10.0.0.1:2379', 'EtcdCA = ca.pem')), ['3: EtcdCA must be an absolute path, got "ca.pem"']);
  t.deepEqual(errorsOf(parse('Etcd = http://10.0.0.1:2379', 'EtcdCA = /ca.pem')), ['3: EtcdCA needs https:// Etcd URLs']);
  t.deepEqual(errorsOf(parse('Etcd = https://10.0.0.1:2379', 'EtcdKey = /k.pem')), [
    '3: EtcdKey needs EtcdCert too (a client certificate and its key)',
  ]);
  // https with neither CA nor client certificate: the system's roots; fine.
  t.true(parse('Etcd = https://etcd.example.net:2379').ok);
});

test('auth: EtcdUser and EtcdPasswordFile go together', (t) => {
  const ok = parse('Etcd = http://10.0.0.1:2379', 'EtcdUser = tunvpn', 'EtcdPasswordFile = /etc/tunvpn/etcd.pass');
  if (!ok.ok) return t.fail(errorsOf(ok).join('\n'));
  t.deepEqual(ok.settings.auth, { user: 'tunvpn', passwordFile: '/etc/tunvpn/etcd.pass' });
  t.deepEqual(errorsOf(parse('Etcd = http://10.0.0.1:2379', 'EtcdUser = tunvpn')), [
    '3: EtcdUser needs EtcdPasswordFile too (etcd password authentication)',
  ]);
  t.deepEqual(errorsOf(parse('Etcd = http://10.0.0.1:2379', 'EtcdPasswordFile = /p')), [
    '3: EtcdPasswordFile needs EtcdUser too (etcd password authentication)',
  ]);
});

test('unknown keys get a suggestion; repeated keys and empty values are errors', (t) => {
  t.deepEqual(errorsOf(parse('Etcd = http://10.0.0.1:2379', 'Prefx = /a/', 'TTL = 5', 'TTL = 6', 'Name =')), [
    '3: unknown key "Prefx" in [Mesh]; did you mean Prefix?',
    '5: TTL is set twice in [Mesh] (first at line 4)',
    '6: Name has no value',
  ]);
});
