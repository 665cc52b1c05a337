/** tunvpnd's command line: flags first, so a flag never becomes an interface name. */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMeshFile, parseArgs } from '../../src/cli/userspace.js';

test('help and version win wherever they appear', (t) => {
  t.deepEqual(parseArgs(['--help']), { kind: 'help' });
  t.deepEqual(parseArgs(['-f', 'wg0', '--help']), { kind: 'help' });
  t.deepEqual(parseArgs(['--version']), { kind: 'version' });
});

test('an interface name, with or without -f/--foreground', (t) => {
  t.deepEqual(parseArgs(['wg0']), { kind: 'run', ifname: 'wg0', foreground: false });
  t.deepEqual(parseArgs(['-f', 'wg0']), { kind: 'run', ifname: 'wg0', foreground: true });
  t.deepEqual(parseArgs(['--foreground', 'wg0']), { kind: 'run', ifname: 'wg0', foreground: true });
});

test('unknown flags, missing or extra names and invalid names are usage errors', (t) => {
  for (const argv of [['--bogus'], ['-x', 'wg0'], [], ['-f'], ['wg0', 'wg1'], ['a-name-much-too-long'], ['a/b']]) {
    t.is(parseArgs(argv).kind, 'usage-error', argv.join(' '));
  }
  const bad = parseArgs(['--bogus']);
  t.true(bad.kind === 'usage-error' && bad.message.includes('"--bogus"'));
});

test('--metrics ADDRESS:PORT (or --metrics=...) is parsed with the flags; a bad address is a usage error', (t) => {
  t.deepEqual(parseArgs(['--metrics', '127.0.0.1:9586', '-f', 'wg0']), {
    kind: 'run', ifname: 'wg0', foreground: true, metrics: { host: '127.0.0.1', port: 9586 },
  });
  t.deepEqual(parseArgs(['--metrics=9100', 'wg0']), { kind: 'run', ifname: 'wg0', foreground: false, metrics: { host: '127.0.0.1', port: 9100 } });
  const missing = parseArgs(['wg0', '--metrics']);
  t.true(missing.kind === 'usage-error' && /needs ADDRESS:PORT/.test(missing.message));
  const bad = parseArgs(['--metrics', 'somewhere', 'wg0']);
  t.true(bad.kind === 'usage-error' && /--metrics "somewhere"/.test(bad.message));
});

test('--threads N (or --threads=N) is parsed with the flags; a count outside 1..64 is a usage error', (t) => {
  t.deepEqual(parseArgs(['--threads', '2', '-f', 'wg0']), { kind: 'run', ifname: 'wg0', foreground: true, threads: 2 });
  t.deepEqual(parseArgs(['--threads=4', 'wg0']), { kind: 'run', ifname: 'wg0', foreground: false, threads: 4 });
  for (const bad of ['0', '65', 'two', '1.5', '']) {
    const r = parseArgs([`--threads=${bad}`, 'wg0']);
    t.true(r.kind === 'usage-error' && r.message.includes('--threads must be a whole number 1..64'), bad);
  }
  const missing = parseArgs(['wg0', '--threads']);
  t.true(missing.kind === 'usage-error' && /--threads needs a number/.test(missing.message));
});

test('--mesh FILE (or --mesh=FILE) names a [Mesh] file; without FILE it is a usage error', (t) => {
  t.deepEqual(parseArgs(['--mesh', '/etc/tunvpn/wg0.mesh', 'wg0']), { kind: 'run', ifname: 'wg0', foreground: false, mesh: '/etc/tunvpn/wg0.mesh' });
  t.deepEqual(parseArgs(['-f', '--mesh=m.conf', 'wg0']), { kind: 'run', ifname: 'wg0', foreground: true, mesh: 'm.conf' });
  const missing = parseArgs(['wg0', '--mesh']);
  t.true(missing.kind === 'usage-error' && /--mesh needs FILE/.test(missing.message));
});

test('the --mesh file holds a [Mesh] section with AllowedIPs, and nothing else; problems come as FILE:LINE', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tv-tunvpnd-mesh-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const good = file('good.mesh', '# the mesh\n[Mesh]\nEtcd = http://10.40.0.1:2379\nAllowedIPs = 10.50.0.11/32\n');
  const loaded = loadMeshFile(good);
  t.true('settings' in loaded && loaded.settings.allowedIPs?.length === 1);
  const noAllowed = file('a.mesh', '[Mesh]\nEtcd = http://10.40.0.1:2379\n');
  t.deepEqual(loadMeshFile(noAllowed), { error: `${noAllowed}:1: [Mesh] needs AllowedIPs here: tunvpnd does not know the interface's addresses` });
  const withInterface = file('b.mesh', '[Interface]\nPrivateKey = x\n[Mesh]\nEtcd = http://10.40.0.1:2379\nAllowedIPs = 10.50.0.11/32\n');
  t.deepEqual(loadMeshFile(withInterface), { error: `${withInterface}:1: this file holds a [Mesh] section only; [Interface] belongs in the wg configuration` });
  const missing = join(dir, 'missing.mesh');
  t.deepEqual(loadMeshFile(missing), { error: `${missing}: cannot read: ENOENT` });
});
