/**
 * Run by no-addon.test.ts in a child process: makes the addon unloadable (no module of src/native/ resolves, and
 * process.dlopen throws), then runs a full handshake and transport data both ways between two protocol cores on the
 * reference suites (test/protocol/helpers.ts). Prints one JSON line: what happened, and whether the addon could be
 * loaded after all (it must not).
 */
import { register } from 'node:module';

register(new URL('./no-addon-hooks.js', import.meta.url));
process.dlopen = () => {
  throw new Error('the addon is absent here (process.dlopen)');
};

const { deliver, encap, handshake, ipv4, makePair } = await import('./helpers.js');
const T0 = 1_000_000;
const { a, b } = makePair();
const log = handshake(a, b, T0);
const kinds = log.map((d) => `${d.from === a ? 'A' : 'B'}:${d.result.kind}`);
const reply = encap(b, ipv4([10, 9, 0, 2], [10, 9, 0, 1], 32), T0 + 1);
const back = reply === null ? null : deliver(b, a, reply, T0 + 1);
let addonLoaded = true;
try {
  const { loadAddon } = await import('../../src/native/load.js');
  loadAddon();
} catch {
  addonLoaded = false;
}
process.stdout.write(`${JSON.stringify({ kinds, replyKind: back?.result.kind ?? null, addonLoaded })}\n`);
