/**
 * `up`'s plan (config → steps) and its transactional apply, against a recording fake of the netlink operations:
 * wg-quick's rules for routes, tables and MTU, and undo in reverse order on failure.
 */
import test from 'ava';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/index.js';
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import { silentLogger } from '../../src/log.js';
import { applySteps, type InterfaceOps, type RuleSpec } from '../../src/quick/apply.js';
import { autoMtu, planUp, type Step } from '../../src/quick/plan.js';
import { Transaction } from '../../src/system/transaction.js';
import { formatPrefix, parseIp, type IpAddress, type Prefix } from '../../src/net/ip.js';
import { systemRng } from '../../src/crypto/random.js';

const key = () => encodeKey(generatePrivateKey(systemRng));
const pub = () => encodeKey(publicKeyOf(generatePrivateKey(systemRng)));

function conf(iface: string, ...peers: string[]): ReturnType<typeof parseConfig> {
  const text = `[Interface]\nPrivateKey = ${key()}\n${iface}\n` + peers.map((p) => `\n[Peer]\nPublicKey = ${pub()}\n${p}\n`).join('');
  return parseConfig(text, 'wg0.conf');
}

const describeSteps = (steps: Step[]) =>
  steps.map((s) => {
    switch (s.op) {
      case 'address':
      case 'default-route':
        return `${s.op} ${formatPrefix(s.prefix)}`;
      case 'route':
        return `route ${formatPrefix(s.prefix)}${s.table !== undefined ? ` table ${s.table}` : ''}`;
      case 'mtu':
        return `mtu ${s.mtu}`;
      default:
        return s.op;
    }
  });

test('routes: longest prefix first, own-address prefixes skipped, then MTU and up before them', (t) => {
  const c = conf('Address = 10.0.0.1/24, fd00::1/64', 'AllowedIPs = 10.0.0.2/32, 10.8.0.0/16', 'AllowedIPs = 10.9.9.0/24, fd09::/48');
  t.deepEqual(describeSteps(planUp(c)), [
    'address 10.0.0.1/24',
    'address fd00::1/64',
    'mtu-auto',
    'up',
    'route fd09::/48',
    'route 10.9.9.0/24',
    'route 10.8.0.0/16',
  ]);
});

test('Table = off adds no routes; Table = 1234 puts every prefix, covered or not, in table 1234', (t) => {
  t.deepEqual(describeSteps(planUp(conf('Address = 10.0.0.1/24\nTable = off', 'AllowedIPs = 10.8.0.0/16'))), [
    'address 10.0.0.1/24',
    'mtu-auto',
    'up',
  ]);
  t.deepEqual(describeSteps(planUp(conf('Address = 10.0.0.1/24\nTable = 1234\nMTU = 1380', 'AllowedIPs = 10.0.0.2/32, 0.0.0.0/0'))), [
    'address 10.0.0.1/24',
    'mtu 1380',
    'up',
    'route 10.0.0.2/32 table 1234',
    'route 0.0.0.0/0 table 1234',
  ]);
});

test('a /0 with Table = auto becomes a full-tunnel step', (t) => {
  const steps = planUp(conf('Address = 10.0.0.1/24', 'AllowedIPs = 0.0.0.0/0, ::/0'));
  t.deepEqual(describeSteps(steps).slice(-2), ['default-route 0.0.0.0/0', 'default-route ::/0']);
});

test('a prefix two peers list gets one route (it belongs to the last peer), as wg-quick adds it once', (t) => {
  const full = planUp(conf('Address = 10.0.0.1/24', 'AllowedIPs = 0.0.0.0/0', 'AllowedIPs = 0.0.0.0/0'));
  t.deepEqual(describeSteps(full), ['address 10.0.0.1/24', 'mtu-auto', 'up', 'default-route 0.0.0.0/0']);
  // wg-quick + wireguard-go on this input: routes 10.9.0.0/16, 10.60.0.0/16, 10.1.0.0/16 and fd00::/8, once each.
  const shared = planUp(conf('Address = 10.55.0.1/24', 'AllowedIPs = 10.60.0.0/16, 10.9.0.0/16, fd00::/8, 10.1.0.0/16', 'AllowedIPs = 10.60.0.0/16'));
  t.deepEqual(describeSteps(shared).filter((s) => s.startsWith('route')), [
    'route 10.60.0.0/16',
    'route 10.9.0.0/16',
    'route 10.1.0.0/16',
    'route fd00::/8',
  ]);
});

test('automatic MTU: the largest route MTU towards the endpoints, else the default route, else 1500; minus 80', (t) => {
  t.is(autoMtu([1500, 9000], 1500), 8920);
  t.is(autoMtu([], 1400), 1320);
  t.is(autoMtu([], undefined), 1420);
});

/** Records every operation; `failOn` makes one operation fail. */
class FakeOps implements InterfaceOps {
  log: string[] = [];
  usedTables = new Set<number>([51820]);
  routeMtus = new Map<string, number>();
  constructor(private readonly failOn?: string) {}
  private rec(entry: string): Promise<void> {
    this.log.push(entry);
    return entry === this.failOn ? Promise.reject(new Error(`EPERM: ${entry}`)) : Promise.resolve();
  }
  addAddress = (_i: number, p: Prefix) => this.rec(`addr+ ${formatPrefix(p)}`);
  deleteAddress = (_i: number, p: Prefix) => this.rec(`addr- ${formatPrefix(p)}`);
  setMtu = (_i: number, mtu: number) => this.rec(`mtu ${mtu}`);
  setUp = (_i: number, up: boolean) => this.rec(up ? 'up' : 'down');
  addRoute = (_i: number, p: Prefix, table?: number) => this.rec(`route+ ${formatPrefix(p)}${table ? ` t${table}` : ''}`);
  deleteRoute = (_i: number, p: Prefix, table?: number) => this.rec(`route- ${formatPrefix(p)}${table ? ` t${table}` : ''}`);
  tableInUse = async (table: number) => this.usedTables.has(table);
  addRule = (r: RuleSpec) => this.rec(`rule+ ${ruleText(r)}`);
  deleteRule = (r: RuleSpec) => this.rec(`rule- ${ruleText(r)}`);
  routeMtuTowards = async (dst: IpAddress) => this.routeMtus.get(formatPrefix({ ...dst, bits: 32 }));
  defaultRouteMtu = async () => undefined;
  enableSrcValidMark = () => this.rec('src_valid_mark');
}

const ruleText = (r: RuleSpec) =>
  `v${r.family} ${r.invert ? 'not ' : ''}${r.fwMark !== undefined ? `fwmark ${r.fwMark} ` : ''}${r.suppressPrefixLength !== undefined ? `suppress ${r.suppressPrefixLength} ` : ''}table ${r.table}`;

function ctx(ops: FakeOps, marks: number[], endpoints: IpAddress[] = []) {
  const tx = new Transaction(silentLogger);
  return { tx, c: { ifname: 'wg0', ifindex: 7, ops, log: silentLogger, tx, endpoints, setFwMark: (m: number) => void marks.push(m) } };
}

test('full tunnel: the next free table becomes the fwmark, rules go in before the route; rollback undoes in reverse', async (t) => {
  const ops = new FakeOps();
  const marks: number[] = [];
  const { tx, c } = ctx(ops, marks, [parseIp('192.0.2.1')!]);
  ops.routeMtus.set('192.0.2.1/32', 1500);
  const result = await applySteps(planUp(conf('Address = 10.0.0.1/24', 'AllowedIPs = 0.0.0.0/0\nEndpoint = 192.0.2.1:51820')), c);
  t.deepEqual(marks, [51821]);
  t.deepEqual(result, { mtu: 1420, fwMark: 51821, table: 51821, srcValidMark: true });
  t.deepEqual(ops.log, [
    'addr+ 10.0.0.1/24',
    'mtu 1420',
    'up',
    'src_valid_mark',
    'rule+ v4 not fwmark 51821 table 51821',
    'rule+ v4 suppress 0 table 254',
    'route+ 0.0.0.0/0 t51821',
  ]);
  ops.log = [];
  await tx.rollback();
  t.deepEqual(ops.log, [
    'route- 0.0.0.0/0 t51821',
    'rule- v4 suppress 0 table 254',
    'rule- v4 not fwmark 51821 table 51821',
    'down',
    'addr- 10.0.0.1/24',
  ]);
});

test('each change and each undo is announced in the words of ip; rollback reads as wg-quick down', async (t) => {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push((JSON.parse(s) as { msg: string }).msg) });
  const ops = new FakeOps(); // table 51820 is in use there: the full tunnel takes 51821
  const tx = new Transaction(log);
  const c = { ifname: 'wg0', ifindex: 7, ops, log, tx, endpoints: [], setFwMark: () => undefined };
  await applySteps(planUp(conf('Address = 10.0.0.1/24\nMTU = 1420', 'AllowedIPs = 10.8.0.0/16, 0.0.0.0/0')), c);
  t.deepEqual(lines.splice(0), [
    '[#] ip -4 address add 10.0.0.1/24 dev wg0',
    '[#] ip link set mtu 1420 dev wg0',
    '[#] ip link set up dev wg0',
    '[#] ip -4 route add 10.8.0.0/16 dev wg0',
    "[#] set fwmark 51821 on the tunnel's UDP socket",
    '[#] sysctl -q net.ipv4.conf.all.src_valid_mark=1',
    '[#] ip -4 rule add not fwmark 51821 table 51821',
    '[#] ip -4 rule add table main suppress_prefixlength 0',
    '[#] ip -4 route add 0.0.0.0/0 dev wg0 table 51821',
  ]);
  await tx.rollback();
  t.deepEqual(lines, [
    '[#] ip -4 route delete 0.0.0.0/0 dev wg0 table 51821',
    '[#] ip -4 rule delete table main suppress_prefixlength 0',
    '[#] ip -4 rule delete not fwmark 51821 table 51821',
    '[#] ip -4 route delete 10.8.0.0/16 dev wg0',
    '[#] ip link set down dev wg0',
    '[#] ip -4 address delete 10.0.0.1/24 dev wg0',
  ]);
});

test('a failing step: what was done before it is undone, newest first, and the error propagates', async (t) => {
  const ops = new FakeOps('route+ 10.8.0.0/16');
  const { tx, c } = ctx(ops, []);
  await t.throwsAsync(applySteps(planUp(conf('Address = 10.0.0.1/24\nMTU = 1400', 'AllowedIPs = 10.9.0.0/24, 10.8.0.0/16')), c), {
    message: /EPERM: route\+ 10\.8\.0\.0\/16/,
  });
  ops.log = [];
  await tx.rollback();
  t.deepEqual(ops.log, ['route- 10.9.0.0/24', 'down', 'addr- 10.0.0.1/24']);
});
