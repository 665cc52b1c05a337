/**
 * Errors of `tunvpn up` name the interface, never its index: in a namespace where IPv6 is disabled, the kernel
 * refuses the interface's IPv6 address, and the error reads "add address fd42:42:42::1/64 to IFACE", as
 * `ip address add ... dev IFACE` would say it; then everything is undone.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';
import { collect, ipJson, makeNs, sh, spawnInNs, waitExit } from './harness.js';
import { skipReason, testWhen } from '../helpers/skip.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const rootTest = testWhen(skipReason({ root: true, files: ['/dev/net/tun', CLI] }), { concurrent: true });

rootTest('a refused address names the interface, not its index, and up leaves nothing behind', async (t) => {
  const ns = makeNs(t, 'noip6');
  sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  const dir = mkdtempSync(join(tmpdir(), 'tunvpn-uperr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const name = `tve${randomBytes(3).toString('hex')}`;
  const conf = join(dir, `${name}.conf`);
  const peer = encodeKey(publicKeyOf(generatePrivateKey(systemRng)));
  writeFileSync(
    conf,
    `[Interface]\nPrivateKey = ${encodeKey(generatePrivateKey(systemRng))}\nAddress = 10.42.0.1/24, fd42:42:42::1/64\n\n` +
      `[Peer]\nPublicKey = ${peer}\nAllowedIPs = 10.43.0.0/16\n`,
    { mode: 0o600 },
  );
  const child = spawnInNs(t, ns, process.execPath, [CLI, 'up', conf]);
  const out = collect(child);
  t.is(await waitExit(child), 1, out.text());
  t.regex(out.text(), new RegExp(`add address fd42:42:42::1/64 to ${name}: `), out.text());
  t.notRegex(out.text(), /add address \S+ to \d+/);
  t.deepEqual(ipJson<Array<{ ifname: string }>>(ns, 'link').map((l) => l.ifname), ['lo']);
  t.false(existsSync(`/var/run/wireguard/${name}.sock`));
});
