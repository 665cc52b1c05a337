import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, chmod, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/context.js';
import { decodeKey } from '../../src/crypto/keys.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../../../package.json', import.meta.url));
// RFC 7748 §6.1 Alice: private key and its public key, in base64.
const ALICE_PRIVATE = 'dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=';
const ALICE_PUBLIC = 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=';
const PEER = '3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=';
const PSK = 'AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=';
const KEY_LINE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=\n$/;
const STACK_FRAME = /^\s+at /m;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function tunvpn(args: string[], stdin = '', env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: 'pipe', env: { ...process.env, TUNVPN_LOG_LEVEL: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const hasWg = spawnSync('wg', ['--version'], { stdio: 'ignore' }).status === 0;

let dir = '';
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tunvpn-cli-test-'));
});
test.after.always(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
async function conf(name: string, text: string, mode = 0o600): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
}

test('genkey prints a fresh clamped base64 private key', async (t) => {
  const [a, b] = await Promise.all([tunvpn(['genkey']), tunvpn(['genkey'])]);
  for (const r of [a, b]) {
    t.is(r.code, 0);
    t.is(r.stderr, '');
    t.regex(r.stdout, KEY_LINE);
    const key = decodeKey(r.stdout.trim());
    t.is(key[0]! & 7, 0);
    t.is(key[31]! & 0xc0, 0x40);
  }
  t.not(a.stdout, b.stdout);
});

test('genpsk prints a fresh base64 key', async (t) => {
  const [a, b] = await Promise.all([tunvpn(['genpsk']), tunvpn(['genpsk'])]);
  t.is(a.code, 0);
  t.regex(a.stdout, KEY_LINE);
  t.regex(b.stdout, KEY_LINE);
  t.not(a.stdout, b.stdout);
});

test('pubkey matches the RFC 7748 vector; trailing whitespace is fine', async (t) => {
  for (const input of [ALICE_PRIVATE, `${ALICE_PRIVATE}\n`, `${ALICE_PRIVATE} \t\r\n\n`]) {
    const r = await tunvpn(['pubkey'], input);
    t.is(r.code, 0, JSON.stringify(input));
    t.is(r.stdout, `${ALICE_PUBLIC}\n`);
    t.is(r.stderr, '');
  }
});

test('pubkey rejects bad input with exit 1, a reason, and no stack trace', async (t) => {
  const cases: [string, string][] = [
    ['', 'expected 44 base64 characters, got 0'],
    [ALICE_PRIVATE.slice(1), 'expected 44 base64 characters, got 43'],
    [`${ALICE_PRIVATE}A`, 'expected 44 base64 characters, got 45'],
    [`${ALICE_PRIVATE.slice(0, 10)}*${ALICE_PRIVATE.slice(11)}`, 'character 11 is not in the base64 alphabet'],
    [`${ALICE_PRIVATE}\n${ALICE_PRIVATE}\n`, 'expected 44 base64 characters, got 89'],
  ];
  for (const [input, reason] of cases) {
    const r = await tunvpn(['pubkey'], input);
    t.is(r.code, 1, JSON.stringify(input));
    t.is(r.stdout, '');
    t.is(r.stderr, `tunvpn pubkey: stdin is not a valid private key: ${reason}\n`);
  }
});

test('--log-level debug adds the stack trace to user errors', async (t) => {
  const r = await tunvpn(['--log-level', 'debug', 'pubkey'], 'nope');
  t.is(r.code, 1);
  t.regex(r.stderr, /^tunvpn pubkey: stdin is not a valid private key/);
  t.regex(r.stderr, STACK_FRAME);
});

test('genkey | pubkey is byte-identical to wg', async (t) => {
  if (!hasWg) {
    t.log('wg is not installed: checked against the RFC 7748 vector only (previous test)');
    const r = await tunvpn(['pubkey'], `${ALICE_PRIVATE}\n`);
    t.is(r.stdout, `${ALICE_PUBLIC}\n`);
    return;
  }
  for (let i = 0; i < 5; i++) {
    const ours = await tunvpn(['genkey']);
    const wgKey = spawnSync('wg', ['genkey'], { encoding: 'utf8' }).stdout;
    t.regex(wgKey, KEY_LINE);
    for (const priv of [ours.stdout, wgKey]) {
      const expected = spawnSync('wg', ['pubkey'], { input: priv, encoding: 'utf8' });
      t.is(expected.status, 0);
      const got = await tunvpn(['pubkey'], priv);
      t.is(got.code, 0);
      t.is(got.stdout, expected.stdout);
    }
  }
  // A non-canonical key: wg refuses it, so do we.
  const nonCanonical = `${ALICE_PUBLIC.slice(0, 42)}p=\n`;
  t.not(spawnSync('wg', ['pubkey'], { input: nonCanonical }).status, 0);
  t.is((await tunvpn(['pubkey'], nonCanonical)).code, 1);
});

test('check prints a valid config with keys hidden, warnings on stderr, exit 0', async (t) => {
  const path = await conf(
    'wg0.conf',
    `[Interface]\nPrivateKey = ${ALICE_PRIVATE}\nAddress = 10.9.0.1/24\nListenPort = 51820\nSaveConfig = true\n\n[Peer]\nPublicKey = ${PEER}\nPresharedKey = ${PSK}\nAllowedIPs = 10.9.0.2/32\nEndpoint = [::1]:51820\n`,
    0o644,
  );
  const r = await tunvpn(['check', path]);
  t.is(r.code, 0, r.stderr);
  t.is(
    r.stdout,
    [
      `# ${path} (interface wg0)`,
      '[Interface]',
      'PrivateKey = (hidden)',
      `# PublicKey = ${ALICE_PUBLIC}`,
      'Address = 10.9.0.1/24',
      'ListenPort = 51820',
      'SaveConfig = true',
      '',
      '[Peer]',
      `PublicKey = ${PEER}`,
      'PresharedKey = (hidden)',
      'AllowedIPs = 10.9.0.2/32',
      'Endpoint = [::1]:51820',
      '',
    ].join('\n'),
  );
  t.false(r.stdout.includes(ALICE_PRIVATE) || r.stderr.includes(ALICE_PRIVATE));
  t.false(r.stdout.includes(PSK) || r.stderr.includes(PSK));
  t.is(
    r.stderr,
    `warning: ${path}: mode 0644 lets group or others read it, but it holds a private key; chmod 600 ${path}\n` +
      `warning: ${path}:5: SaveConfig is not supported: tunvpn never rewrites the configuration file\n`,
  );
});

test('check reports every error as FILE:LINE: message on stderr and exits 1', async (t) => {
  const path = await conf('bad.conf', `[Interface]\nPrivateKey = abc\nListenPort = 99999\nAddress = 10.0.0.300/24\nColour = blue\n`);
  const r = await tunvpn(['check', path]);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.is(
    r.stderr,
    [
      `${path}:2: PrivateKey is not a valid key: expected 44 base64 characters, got 3`,
      `${path}:3: ListenPort must be 0..65535 (0 picks a random port), got 99999`,
      `${path}:4: Address "10.0.0.300/24": "10.0.0.300" is not an IPv4 or IPv6 address`,
      `${path}:5: unknown key "Colour" in [Interface]`,
      '',
    ].join('\n'),
  );
});

test('check shows the [Mesh] section, and strip leaves it out', async (t) => {
  const text = `[Interface]\nPrivateKey = ${ALICE_PRIVATE}\nAddress = 10.9.0.1/24\n\n[Mesh]\nEtcd = https://10.40.0.1:2379\nEtcdCA = /etc/tunvpn/ca.pem\nEtcdCert = /etc/tunvpn/c.pem\nEtcdKey = /etc/tunvpn/c.key\n`;
  const path = await conf('wg1.conf', text);
  const r = await tunvpn(['check', path]);
  t.is(r.code, 0, r.stderr);
  t.true(
    r.stdout.endsWith(
      '\n[Mesh]\nEtcd = https://10.40.0.1:2379\nEtcdCA = /etc/tunvpn/ca.pem\nEtcdCert = /etc/tunvpn/c.pem\nEtcdKey = /etc/tunvpn/c.key\n',
    ),
    r.stdout,
  );
  const s = await tunvpn(['strip', path]);
  t.is(s.code, 0, s.stderr);
  t.is(s.stdout, `[Interface]\nPrivateKey = ${ALICE_PRIVATE}\n\n`);
});

test('check uses the path as typed, warns about a name `up` cannot use, and fails cleanly on a missing file', async (t) => {
  const path = await conf('my tunnel.txt', `[Interface]\nPrivateKey = ${ALICE_PRIVATE}\n`);
  const r = await tunvpn(['check', path]);
  t.is(r.code, 0);
  t.regex(r.stderr, /the file name must be an interface name .* followed by \.conf; `tunvpn up` needs such a name/);
  const missing = join(dir, 'missing.conf');
  const m = await tunvpn(['check', missing]);
  t.is(m.code, 1);
  t.is(m.stderr, `${missing}: cannot read: no such file (ENOENT)\n`);
  t.notRegex(m.stderr, STACK_FRAME);
});

test('check --resolve shows what hostnames resolve to', async (t) => {
  const path = await conf('res.conf', `[Interface]\nPrivateKey = ${ALICE_PRIVATE}\n[Peer]\nPublicKey = ${PEER}\nAllowedIPs = 10.0.0.0/8\nEndpoint = localhost:4242\n`);
  const r = await tunvpn(['check', '--resolve', path]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^# peer at line 3: Endpoint localhost:4242 resolves to (127\.\d+\.\d+\.\d+:4242|\[::1\]:4242)$/m);
});

test('the example configs all pass check', async (t) => {
  const examples = fileURLToPath(new URL('../../../config/examples/', import.meta.url));
  for (const name of ['server.conf', 'client-laptop.conf', 'split-tunnel.conf']) {
    const r = await tunvpn(['check', join(examples, name)]);
    t.is(r.code, 0, `${name}: ${r.stderr}`);
    t.notRegex(r.stderr, /:\d+: /, `${name} has line warnings`);
  }
});

test('usage errors, --help and --version', async (t) => {
  const noArg = await tunvpn(['check']);
  t.is(noArg.code, 1);
  t.regex(noArg.stderr, /missing required argument 'conf'/);
  const unknown = await tunvpn(['chekc']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /unknown command 'chekc'[\s\S]*Did you mean check\?/);
  const badLevel = await tunvpn(['--log-level', 'loud', 'genkey']);
  t.is(badLevel.code, 1);
  t.regex(badLevel.stderr, /Allowed choices are trace, debug, info, warn, error, fatal, silent/);
  // A level from the environment that names no level is refused, not quietly replaced by info.
  const badEnv = await tunvpn(['genkey'], '', { TUNVPN_LOG_LEVEL: 'bogus' });
  t.is(badEnv.code, 1);
  t.is(badEnv.stdout, '');
  t.regex(badEnv.stderr, /^TUNVPN_LOG_LEVEL=bogus is not a log level: use one of trace, debug, info, warn, error, fatal, silent\n$/);
  const envLevel = await tunvpn(['--help'], '', { TUNVPN_LOG_LEVEL: 'debug' });
  t.is(envLevel.code, 0);
  const help = await tunvpn(['--help']);
  t.is(help.code, 0);
  for (const cmd of ['check', 'genkey', 'pubkey', 'genpsk']) t.regex(help.stdout, new RegExp(`^  ${cmd}\\b`, 'm'));
  // The default is said once (commander's "default:"), with where it comes from.
  t.is(help.stdout.match(/default/g)?.length, 1);
  t.regex(help.stdout.replace(/\s+/g, ' '), /default: \$TUNVPN_LOG_LEVEL or info/);
  const version = await tunvpn(['--version']);
  t.is(version.code, 0);
  const pkg = JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { version: string };
  t.is(version.stdout, `tunvpn ${pkg.version}\n`);
});

test('run() works in-process with fake streams and never exits', async (t) => {
  let out = '';
  let err = '';
  const io = (stdin: string): CliIo => ({
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    readStdin: async () => stdin,
  });
  t.is(await run(['pubkey'], io(`${ALICE_PRIVATE}\n`)), 0);
  t.is(out, `${ALICE_PUBLIC}\n`);
  t.is(await run(['pubkey'], io('garbage')), 1);
  t.is(err, 'tunvpn pubkey: stdin is not a valid private key: expected 44 base64 characters, got 7\n');
  out = '';
  t.is(await run(['genpsk'], io('')), 0);
  t.regex(out, KEY_LINE);
  t.is(await run(['nonsense'], io('')), 1);
});
