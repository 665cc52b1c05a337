/**
 * Carries out the steps of plan.ts on one interface, inside a Transaction, through the narrow `InterfaceOps`
 * (implemented over our rtnetlink module by netlink-ops.ts, and by a recording fake in tests).
 */
import { spawnSync } from 'node:child_process';
import type { Logger } from '../log.js';
import { RT_TABLE_MAIN } from '../netlink/constants.js';
import type { Family, IpAddress, Prefix } from '../net/ip.js';
import { autoMtu, describe, DEFAULT_TUNNEL_TABLE, ipAddress, ipLinkSetDown, ipRoute, stepKey, type Step } from './plan.js';
import type { Transaction } from '../system/transaction.js';

export interface RuleSpec {
  family: Family;
  table: number;
  fwMark?: number;
  /** `not fwmark`: the rule matches packets WITHOUT the mark. */
  invert?: boolean;
  suppressPrefixLength?: number;
}

/**
 * `ip rule` as iproute2 spells it: "ip -4 rule add not fwmark 51820 table 51820",
 * "ip -4 rule delete table main suppress_prefixlength 0".
 */
export function ipRule(verb: 'add' | 'delete', rule: RuleSpec): string {
  const table = rule.table === RT_TABLE_MAIN ? 'main' : String(rule.table);
  const mark = rule.fwMark !== undefined ? `${rule.invert ? 'not ' : ''}fwmark ${rule.fwMark} ` : '';
  const suppress = rule.suppressPrefixLength !== undefined ? ` suppress_prefixlength ${rule.suppressPrefixLength}` : '';
  return `ip -${rule.family} rule ${verb} ${mark}table ${table}${suppress}`;
}

/** The rtnetlink operations `up` needs, on the interface with index `ifindex`. */
export interface InterfaceOps {
  addAddress(ifindex: number, prefix: Prefix): Promise<void>;
  deleteAddress(ifindex: number, prefix: Prefix): Promise<void>;
  setMtu(ifindex: number, mtu: number): Promise<void>;
  setUp(ifindex: number, up: boolean): Promise<void>;
  addRoute(ifindex: number, prefix: Prefix, table?: number): Promise<void>;
  deleteRoute(ifindex: number, prefix: Prefix, table?: number): Promise<void>;
  /** Whether table `table` has any route of either family. */
  tableInUse(table: number): Promise<boolean>;
  addRule(rule: RuleSpec): Promise<void>;
  deleteRule(rule: RuleSpec): Promise<void>;
  /** The MTU of the route towards `dst` (route MTU metric, else the outgoing device's MTU), if there is a route. */
  routeMtuTowards(dst: IpAddress): Promise<number | undefined>;
  /** The MTU of the main table's default route (metric or device MTU), if there is one. */
  defaultRouteMtu(): Promise<number | undefined>;
  /** net.ipv4.conf.all.src_valid_mark = 1, so replies to marked packets pass reverse-path filtering. */
  enableSrcValidMark(): Promise<void>;
}

export interface ApplyContext {
  ifname: string;
  ifindex: number;
  ops: InterfaceOps;
  log: Logger;
  tx: Transaction;
  /** Resolved endpoint addresses (for the automatic MTU). */
  endpoints: IpAddress[];
  /** Called with the fwmark the full tunnel needs on the UDP socket (applied by the daemon). */
  setFwMark: (mark: number) => void;
  /** The fwmark already configured (FwMark key), if any. */
  fwMark?: number;
}

export interface ApplyResult {
  mtu?: number;
  fwMark?: number;
  table?: number;
  srcValidMark?: boolean;
}

async function chooseTable(ctx: ApplyContext): Promise<number> {
  if (ctx.fwMark) return ctx.fwMark;
  let table = DEFAULT_TUNNEL_TABLE;
  while (await ctx.ops.tableInUse(table)) table++;
  return table;
}

/**
 * Applies `steps` in order. Each undo is registered in ctx.tx under the step's key (plan.ts stepKey), so a reload
 * can undo one step alone. `prior` is what earlier steps of the same interface chose (a reload continues from the
 * `up` that made the interface: the full tunnel's table and fwmark).
 */
export async function applySteps(steps: Step[], ctx: ApplyContext, prior: ApplyResult = {}): Promise<ApplyResult> {
  const { ops, ifindex, tx, ifname } = ctx;
  const result: ApplyResult = { ...prior };
  for (const step of steps) {
    const group = stepKey(step);
    switch (step.op) {
      case 'address':
        await tx.step(describe(step, ifname), async () => {
          await ops.addAddress(ifindex, step.prefix);
          return { value: undefined, undo: () => ops.deleteAddress(ifindex, step.prefix), undoWhat: ipAddress('delete', step.prefix, ifname) };
        }, group);
        break;
      case 'mtu':
        await tx.step(describe(step, ifname), async () => ({ value: await ops.setMtu(ifindex, step.mtu) }));
        result.mtu = step.mtu;
        break;
      case 'mtu-auto': {
        const mtus: number[] = [];
        for (const ep of ctx.endpoints) {
          const m = await ops.routeMtuTowards(ep);
          if (m) mtus.push(m);
        }
        const mtu = autoMtu(mtus, mtus.length ? undefined : await ops.defaultRouteMtu());
        await tx.step(`ip link set mtu ${mtu} dev ${ifname}`, async () => ({ value: await ops.setMtu(ifindex, mtu) }));
        result.mtu = mtu;
        break;
      }
      case 'up':
        await tx.step(describe(step, ifname), async () => {
          await ops.setUp(ifindex, true);
          return { value: undefined, undo: () => ops.setUp(ifindex, false), undoWhat: ipLinkSetDown(ifname) };
        }, group);
        break;
      case 'route':
        await tx.step(describe(step, ifname), async () => {
          await ops.addRoute(ifindex, step.prefix, step.table);
          return { value: undefined, undo: () => ops.deleteRoute(ifindex, step.prefix, step.table), undoWhat: ipRoute('delete', step.prefix, ifname, step.table) };
        }, group);
        break;
      case 'default-route': {
        const table = result.table ?? (await chooseTable(ctx));
        const fam = step.prefix.family;
        if (result.fwMark === undefined) {
          await tx.step(`set fwmark ${table} on the tunnel's UDP socket`, () => ({ value: ctx.setFwMark(table) }));
          result.fwMark = table;
        }
        if (fam === 4 && !result.srcValidMark) {
          await tx.step('sysctl -q net.ipv4.conf.all.src_valid_mark=1', async () => ({ value: await ops.enableSrcValidMark() }));
          result.srcValidMark = true;
        }
        result.table = table;
        const rules: RuleSpec[] = [
          { family: fam, table, fwMark: table, invert: true },
          { family: fam, table: RT_TABLE_MAIN, suppressPrefixLength: 0 },
        ];
        for (const rule of rules) {
          await tx.step(ipRule('add', rule), async () => {
            await ops.addRule(rule);
            return { value: undefined, undo: () => ops.deleteRule(rule), undoWhat: ipRule('delete', rule) };
          }, group);
        }
        await tx.step(ipRoute('add', step.prefix, ifname, table), async () => {
          await ops.addRoute(ifindex, step.prefix, table);
          return { value: undefined, undo: () => ops.deleteRoute(ifindex, step.prefix, table), undoWhat: ipRoute('delete', step.prefix, ifname, table) };
        }, group);
        break;
      }
      case 'dns':
        applyDns(step, ctx, group);
        break;
    }
  }
  return result;
}

/** DNS through resolvconf, as wg-quick does; without resolvconf, a warning and nothing else. */
function applyDns(step: Extract<Step, { op: 'dns' }>, ctx: ApplyContext, group: string): void {
  const probe = spawnSync('sh', ['-c', 'command -v resolvconf'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    ctx.log.warn(`DNS is set but resolvconf is not installed: nameservers ${step.servers.join(', ')} not applied`);
    return;
  }
  const lines = [...step.servers.map((s) => `nameserver ${s}`), ...(step.search.length ? [`search ${step.search.join(' ')}`] : [])];
  const name = `tun.${ctx.ifname}`;
  ctx.log.info(`[#] ${describe(step, ctx.ifname)}`);
  const add = spawnSync('resolvconf', ['-a', name, '-m', '0', '-x'], { input: lines.join('\n') + '\n', encoding: 'utf8' });
  if (add.status !== 0) {
    ctx.log.warn(`resolvconf failed: ${(add.stderr || '').trim()}`);
    return;
  }
  ctx.tx.onRollback(`resolvconf -d ${name} -f`, () => {
    spawnSync('resolvconf', ['-d', name, '-f'], { encoding: 'utf8' });
  }, group);
}
