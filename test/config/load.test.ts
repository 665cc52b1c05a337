import test from 'ava';
import { mkdtemp, rm, writeFile, chmod, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, interfaceNameFromPath, loadConfig, parseConfig, resolveEndpoints, type LookupFn } from '../../src/config/index.js';

const PRIV = 'dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=';
const PEER1 = '3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=';
const PEER2 = 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=';
const PEER3 = 'AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=';
const GOOD = `[Interface]\nPrivateKey = ${PRIV}\nListenPort = 51820\n`;

let dir = '';
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tunvpn-config-test-'));
});
test.after.always(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string, mode = 0o600): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
}

test('loadConfig reads and parses; no warning for mode 600', async (t) => {
  const path = await file('ok.conf', GOOD);
  const c = await loadConfig(path);
  t.is(c.file, path);
  t.is(c.interface.listenPort, 51820);
  t.deepEqual(c.warnings, []);
});

test('loadConfig warns when group or others can read the file', async (t) => {
  for (const mode of [0o640, 0o604, 0o644]) {
    const path = await file(`open-${mode.toString(8)}.conf`, GOOD, mode);
    const c = await loadConfig(path);
    t.is(c.warnings.length, 1);
    t.is(c.warnings[0], `${path}: mode 0${mode.toString(8)} lets group or others read it, but it holds a private key; chmod 600 ${path}`);
    t.regex(c.warnings[0]!, /holds a private key; chmod 600/);
  }
  const ownerOnly = await loadConfig(await file('owner.conf', GOOD, 0o700));
  t.deepEqual(ownerOnly.warnings, []);
});

test('loadConfig errors: missing file, directory, too large, binary, bad contents (FILE:LINE)', async (t) => {
  const missing = join(dir, 'nope.conf');
  const e1 = await t.throwsAsync(loadConfig(missing), { instanceOf: ConfigError });
  t.is(e1.message, `${missing}: cannot read: no such file (ENOENT)`);
  const sub = join(dir, 'sub.conf');
  await mkdir(sub);
  const e2 = await t.throwsAsync(loadConfig(sub), { instanceOf: ConfigError });
  t.is(e2.message, `${sub}: is a directory, not a configuration file`);
  const big = await file('big.conf', '#'.repeat(1024 * 1024 + 1));
  await t.throwsAsync(loadConfig(big), { instanceOf: ConfigError, message: /is 1048577 bytes; a configuration file is at most 1048576/ });
  const bin = await file('bin.conf', `${GOOD}\0\0`);
  await t.throwsAsync(loadConfig(bin), { instanceOf: ConfigError, message: /contains NUL bytes/ });
  const bad = await file('bad.conf', `${GOOD}MTU = 1\n`);
  const e3 = await t.throwsAsync(loadConfig(bad), { instanceOf: ConfigError });
  t.is(e3.message, `${bad}:4: MTU must be 576..9000 (tunvpn carries packets of up to 9000 bytes), got 1`);
});

test('interfaceNameFromPath follows wg-quick: 1..15 of [a-zA-Z0-9_=+.-] then .conf', (t) => {
  t.is(interfaceNameFromPath('/etc/tunvpn/wg0.conf'), 'wg0');
  t.is(interfaceNameFromPath('wg0.conf'), 'wg0');
  t.is(interfaceNameFromPath('./a_b=c+d.e-f.conf'), 'a_b=c+d.e-f');
  t.is(interfaceNameFromPath('/x/123456789012345.conf'), '123456789012345');
  for (const bad of ['/x/1234567890123456.conf', '/x/.conf', '/x/wg0', '/x/wg 0.conf', '/x/wg0.conf.bak', '/x/wg:0.conf', '/x/wg0.CONF']) {
    const e = t.throws(() => interfaceNameFromPath(bad), { instanceOf: ConfigError }, bad);
    t.is(e.message, `${bad}: the file name must be an interface name (1 to 15 of a-z A-Z 0-9 _ = + . -) followed by .conf`);
  }
});

const withEndpoints = (...endpoints: (string | undefined)[]) =>
  parseConfig(
    `[Interface]\nPrivateKey = ${PRIV}\n` +
      [PEER1, PEER2, PEER3]
        .slice(0, endpoints.length)
        .map((k, i) => `[Peer]\nPublicKey = ${k}\nAllowedIPs = 10.0.${i}.0/24\n${endpoints[i] ? `Endpoint = ${endpoints[i]}\n` : ''}`)
        .join(''),
    'wg0.conf',
  );

test('resolveEndpoints: literals pass through untouched, no endpoint gives undefined, localhost resolves', async (t) => {
  const config = withEndpoints('[::1]:51820', undefined, 'localhost:9');
  const resolved = await resolveEndpoints(config);
  t.deepEqual(resolved[0], { family: 6, address: '::1', port: 51820 });
  t.is(resolved[1], undefined);
  const local = resolved[2]!;
  t.is(local.port, 9);
  t.true(
    (local.family === 4 && local.address.startsWith('127.')) || (local.family === 6 && local.address === '::1'),
    `localhost resolved to ${local.family} ${local.address}`,
  );
});

test('resolveEndpoints does not look up IP literals', async (t) => {
  const asked: string[] = [];
  const lookup: LookupFn = async (host) => {
    asked.push(host);
    return { address: '192.0.2.1', family: 4 };
  };
  const resolved = await resolveEndpoints(withEndpoints('192.0.2.9:1', '[2001:db8::1]:2', 'peer.example:3'), { lookup });
  t.deepEqual(asked, ['peer.example']);
  t.deepEqual(resolved, [
    { family: 4, address: '192.0.2.9', port: 1 },
    { family: 6, address: '2001:db8::1', port: 2 },
    { family: 4, address: '192.0.2.1', port: 3 },
  ]);
});

test('resolveEndpoints failures name every failing peer by line', async (t) => {
  const lookup: LookupFn = async (host) => {
    const e = new Error(`getaddrinfo ENOTFOUND ${host}`) as NodeJS.ErrnoException;
    e.code = 'ENOTFOUND';
    throw e;
  };
  const config = withEndpoints('gone.example:1', '192.0.2.1:2', 'also-gone.example:3');
  const e = await t.throwsAsync(resolveEndpoints(config, { lookup }), { instanceOf: ConfigError });
  t.deepEqual(e.message.split('\n'), [
    'wg0.conf:3: cannot resolve Endpoint host "gone.example" of this peer: ENOTFOUND',
    'wg0.conf:11: cannot resolve Endpoint host "also-gone.example" of this peer: ENOTFOUND',
  ]);
});
