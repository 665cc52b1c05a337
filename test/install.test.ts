/**
 * The install path README gives: `npm pack` then `npm install -g` of the tarball, into a temporary prefix. Both
 * commands land on PATH (prefix/bin) as executable scripts, the native addon is built during the install and
 * loads, the compiled code and the systemd unit are in the package, and nothing of the tests or build output is.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { skipReason, testWhen } from './helpers/skip.js';

const installTest = testWhen(skipReason({ commands: ['npm', 'tar'], files: ['dist/src/cli/main.js'] }));

installTest('npm pack + npm install -g puts tunvpn and tunvpnd on PATH with a working native addon', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tv-install-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const run = (cmd: string, args: string[], cwd = process.cwd()) =>
    execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  // dist/ is already compiled by the test run: pack it as it is.
  const tarball = join(dir, run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir]).trim().split('\n').at(-1)!);
  const listed = run('tar', ['tzf', tarball]).split('\n');
  t.true(listed.includes('package/dist/src/cli/main.js'));
  t.true(listed.includes('package/native/binding.gyp'));
  t.true(listed.includes('package/config/tunvpn@.service'));
  t.false(listed.some((f) => f.startsWith('package/dist/test/') || f.startsWith('package/native/build/') || f.startsWith('package/test/')));

  const prefix = join(dir, 'prefix');
  // As README gives it: the tarball's own install script (the addon build) and protobufjs's are allowed by name, so
  // npm has nothing to warn about.
  const install = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund',
    `--allow-scripts=${tarball},protobufjs`, tarball], { encoding: 'utf8', timeout: 600_000 });
  t.is(install.status, 0, install.stderr);
  t.notRegex(install.stderr, /install-scripts|not yet covered/);
  for (const [bin, version] of [['tunvpn', /^tunvpn 0\.1\.0\n$/], ['tunvpnd', /^tunvpnd 0\.1\.0\b/]] as const) {
    const path = join(prefix, 'bin', bin);
    t.true(existsSync(path), `${bin} is not on PATH`);
    t.true(readFileSync(realpathSync(path), 'utf8').startsWith('#!/usr/bin/env node\n'), `${bin} has no node shebang`);
    t.regex(run(path, ['--version']), version);
  }
  const pkg = join(prefix, 'lib', 'node_modules', 'tunvpn');
  t.true(existsSync(join(pkg, 'native', 'build', 'Release', 'tunvpn.node')), 'the native addon was not built at install');
  const addon = pathToFileURL(join(pkg, 'dist', 'src', 'native', 'tun.js')).href;
  t.is(run(process.execPath, ['-e', `import(${JSON.stringify(addon)}).then((m) => console.log(typeof m.nativeTun().tunOpen))`]).trim(), 'function');
});
