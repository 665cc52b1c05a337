import test from 'ava';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerSite } from '../../src/cli/commands/site.js';
import type { CliContext } from '../../src/cli/context.js';
import { silentLogger } from '../../src/log.js';

class Failure extends Error {}

async function runSite(argv: string[]): Promise<{ out: string; failure?: string }> {
  let out = '';
  const ctx: CliContext = {
    io: { out: (s) => void (out += s), err: () => undefined, readStdin: async () => '' },
    logger: () => silentLogger,
    fail: (message) => {
      throw new Failure(message);
    },
  };
  const program = new Command('tunvpn').exitOverride();
  registerSite(program, ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { out };
  } catch (e) {
    if (e instanceof Failure) return { out, failure: e.message };
    throw e;
  }
}

test('site up/down/show report config errors as FILE:LINE before touching the system', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tv-site-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.site');
  writeFileSync(file, '[Bridge]\nName = br-lan\n\n[Vxlan]\nName = vx\nId = 99999999\n');
  for (const sub of ['up', 'down', 'show']) {
    const r = await runSite(['site', sub, file]);
    t.is(r.failure, `${file}:6: Id 99999999 out of range (0..16777215)`);
  }
  const missing = await runSite(['site', 'show', join(dir, 'nope.site')]);
  t.regex(missing.failure ?? '', /nope\.site: no such file/);
});
