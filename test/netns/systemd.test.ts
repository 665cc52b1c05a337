/**
 * Running under systemd, without systemd: the notification protocol against a simulated $NOTIFY_SOCKET (READY=1
 * only once the interface exists, STOPPING=1 at shutdown), `up` as an unprivileged user holding only
 * CAP_NET_ADMIN (what the unit's capabilities allow), clear errors from a read-only file system (the unit's
 * ProtectSystem=strict), and `systemd-analyze verify` of config/tunvpn@.service with tunvpn where `npm install -g`
 * puts it. Mount changes happen in private mount namespaces (unshare -m), never on the host.
 */
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { systemRng } from '../../src/crypto/random.js';
import { skipReason, testWhen } from '../helpers/skip.js';
import { collect, ipJson, makeNs, sh, spawnInNs, waitExit } from './harness.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const UNIT = join(process.cwd(), 'config/tunvpn@.service');
const NOBODY = 65534;

const notifyTest = testWhen(skipReason({ root: true, commands: ['python3', 'ip'], files: ['/dev/net/tun'] }), { concurrent: true });
const sandboxTest = testWhen(skipReason({ root: true, commands: ['unshare', 'setpriv', 'mknod', 'ip'], files: ['/dev/net/tun'] }), { concurrent: true });
const verifyTest = testWhen(skipReason({ root: true, commands: ['systemd-analyze', 'unshare'] }));

function tempDir(t: ExecutionContext, mode = 0o700): string {
  const dir = mkdtempSync(join(tmpdir(), 'tv-systemd-'));
  chmodSync(dir, mode);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeConf(dir: string, name: string): string {
  const path = join(dir, `${name}.conf`);
  const peer = encodeKey(publicKeyOf(generatePrivateKey(systemRng)));
  writeFileSync(path, `[Interface]\nPrivateKey = ${encodeKey(generatePrivateKey(systemRng))}\nAddress = 10.46.0.1/24\nListenPort = 51820\n\n` +
    `[Peer]\nPublicKey = ${peer}\nAllowedIPs = 10.47.0.0/16\nEndpoint = 192.0.2.1:51820\n`, { mode: 0o600 });
  return path;
}

const uniqueIf = () => `tvn${randomBytes(3).toString('hex')}`;
const links = (ns: string) => ipJson<Array<{ ifname: string }>>(ns, 'link').map((l) => l.ifname);

/** A receiver for sd_notify datagrams: prints each one, and whether the interface exists at that moment. */
const RECEIVER = `
import socket, subprocess, sys
path, ns, ifname = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("LISTENING", flush=True)
while True:
    data = s.recv(4096).decode()
    exists = subprocess.run(["ip", "-n", ns, "link", "show", "dev", ifname], capture_output=True).returncode == 0
    print(("LINK " if exists else "NOLINK ") + data.replace("\\n", ";"), flush=True)
    if "STOPPING=1" in data:
        break
`;

notifyTest('READY=1 reaches $NOTIFY_SOCKET once the interface exists; STOPPING=1 when it goes down', async (t) => {
  const ns = makeNs(t, 'notify');
  const dir = tempDir(t);
  const name = uniqueIf();
  const conf = writeConf(dir, name);
  const socketPath = join(dir, 'notify.sock');
  const receiver = spawn('python3', ['-c', RECEIVER, socketPath, ns, name], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void receiver.kill());
  const heard = collect(receiver);
  await heard.wait(/LISTENING/);
  // The unit's ExecStart, with the environment systemd gives a Type=notify service.
  const daemon = spawnInNs(t, ns, 'env', [`NOTIFY_SOCKET=${socketPath}`, 'TUNVPN_LOG_LEVEL=info', process.execPath, CLI, 'up', conf]);
  const out = collect(daemon);
  await heard.wait(/READY=1/);
  const ready = heard.text().split('\n').find((l) => l.includes('READY=1'))!;
  t.true(ready.startsWith('LINK '), `READY=1 came before the interface existed: ${ready}`);
  t.regex(ready, new RegExp(`STATUS=${name} is up: UDP port 51820`));
  // Addresses and routes are in place by then too.
  t.true(ipJson<Array<{ dst: string }>>(ns, 'route', 'show', 'dev', name).some((r) => r.dst === '10.47.0.0/16'));
  await out.wait(/is up/);
  daemon.kill('SIGTERM');
  await heard.wait(/STOPPING=1/);
  t.is(await waitExit(daemon), 0);
  t.deepEqual(links(ns), ['lo']);
});

/**
 * The unit's sandbox in miniature, inside a private mount namespace: /run/wireguard a fresh tmpfs owned by the
 * service user (what RuntimeDirectory= gives a User= service), and /dev/net/tun with Debian's usual mode 0666
 * (bind-mounted, in case this machine's is tighter). Then `up` as nobody with CAP_NET_ADMIN only.
 */
sandboxTest('up runs as an unprivileged user holding only CAP_NET_ADMIN', async (t) => {
  const ns = makeNs(t, 'cap');
  const dir = tempDir(t, 0o755);
  const name = uniqueIf();
  const conf = writeConf(dir, name);
  chownSync(conf, NOBODY, NOBODY);
  const tunNode = join(dir, 'tun');
  const script = [
    `mount -t tmpfs -o uid=${NOBODY},gid=${NOBODY},mode=0755 tmpfs /run/wireguard`,
    `mknod -m 666 ${tunNode} c 10 200 && mount --bind ${tunNode} /dev/net/tun`,
    `exec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups --inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin ` +
      `--bounding-set=-all,+net_admin ${process.execPath} ${CLI} up ${conf}`,
  ].join(' && ');
  const daemon = spawnInNs(t, ns, 'unshare', ['-m', 'sh', '-c', script]);
  const out = collect(daemon);
  await out.wait(/is up \(UDP port 51820\)/);
  const status = readFileSync(`/proc/${await childPid(daemon.pid!)}/status`, 'utf8');
  t.regex(status, /^Uid:\s+65534\s/m);
  t.regex(status, /^CapEff:\s+0000000000001000$/m, 'CAP_NET_ADMIN (bit 12) and nothing else');
  const addrs = ipJson<Array<{ addr_info: Array<{ local: string }> }>>(ns, 'address', 'show', 'dev', name)[0]!.addr_info.map((a) => a.local);
  t.true(addrs.includes('10.46.0.1'));
  t.regex(out.text(), /cannot write the pid file .*: permission denied/);
  daemon.kill('SIGTERM');
  t.is(await waitExit(daemon), 0, out.text());
  t.deepEqual(links(ns), ['lo']);
});

/** The pid of the process that `ip netns exec ... unshare ... exec node` became (unshare forks once). */
async function childPid(pid: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (comm === 'node' || comm.startsWith('MainThread')) return pid;
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    if (kids.length) pid = kids[0]!;
    else await new Promise((r) => setTimeout(r, 50));
  }
  return pid;
}

sandboxTest('a read-only file system is named as such: a read-only /run/tunvpn only loses the pid file, a read-only socket directory stops up', async (t) => {
  const ns = makeNs(t, 'rofs');
  const dir = tempDir(t);
  const name = uniqueIf();
  const conf = writeConf(dir, name);
  sh('mkdir', ['-p', '/run/tunvpn']);
  const pidRo = spawnInNs(t, ns, 'unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs /run/tunvpn && exec ${process.execPath} ${CLI} up ${conf}`]);
  const out = collect(pidRo);
  await out.wait(/is up/);
  t.regex(out.text(), new RegExp(`cannot write the pid file /run/tunvpn/${name}\\.pid: read-only file system: /run/tunvpn`));
  pidRo.kill('SIGTERM');
  t.is(await waitExit(pidRo), 0);

  const sockRo = spawnInNs(t, ns, 'unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs /run/wireguard && exec ${process.execPath} ${CLI} up ${conf}`]);
  const out2 = collect(sockRo);
  t.is(await waitExit(sockRo), 1);
  t.regex(out2.text(), /cannot create the socket in (\/var)?\/run\/wireguard: read-only file system: (\/var)?\/run\/wireguard/);
  t.deepEqual(links(ns), ['lo']);
});

verifyTest('systemd-analyze verify: config/tunvpn@.service is clean with tunvpn where npm install -g puts it', (t) => {
  const unit = readFileSync(UNIT, 'utf8');
  t.regex(unit, /^Type=notify$/m);
  t.regex(unit, /^ExecStart=tunvpn up \/etc\/tunvpn\/%i\.conf$/m);
  t.regex(unit, /^ExecReload=tunvpn reload %i$/m);
  t.regex(unit, /^RuntimeDirectory=wireguard tunvpn$/m);
  t.regex(unit, /^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE$/m);
  const dir = tempDir(t, 0o755);
  const instance = join(dir, 'tunvpn@wg0.service');
  writeFileSync(instance, unit);
  // /usr/local/bin (Debian npm's global bin) replaced, in a private mount namespace, by one holding `tunvpn`.
  const out = sh('unshare', ['-m', 'sh', '-c',
    `mount -t tmpfs tmpfs /usr/local/bin && ln -s ${CLI} /usr/local/bin/tunvpn && chmod +x ${CLI} && systemd-analyze verify ${instance} 2>&1; echo "exit $?"`]);
  t.is(out.trim(), 'exit 0', out);
});
