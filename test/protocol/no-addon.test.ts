/**
 * The protocol core runs with the addon absent (src/protocol/README.md: "nothing from the addon"): a child process in
 * which no module of src/native/ can be loaded does a full handshake and exchanges data (no-addon-fixture.ts). The
 * import rule protocol-cannot-reach-the-addon (.dependency-cruiser.cjs) keeps it so statically; this proves it at
 * run time, for the core and the reference suites the protocol tests use.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./no-addon-fixture.js', import.meta.url));

test('a full handshake and data both ways between two cores on the reference suites, with the addon unloadable', (t) => {
  const out = execFileSync(process.execPath, [FIXTURE], { encoding: 'utf8', timeout: 60_000 });
  const r = JSON.parse(out.trim()) as { kinds: string[]; replyKind: string | null; addonLoaded: boolean };
  t.false(r.addonLoaded, 'the addon really is unloadable in the child');
  t.deepEqual(r.kinds, ['A:done', 'B:done', 'A:tunnel'], 'initiation, response, the staged packet');
  t.is(r.replyKind, 'tunnel', 'and data back from the responder');
});
