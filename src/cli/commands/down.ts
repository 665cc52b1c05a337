/**
 * `tunvpn down IFACE|CONF`: ask the daemon running IFACE to take it down (SIGTERM to the pid it recorded, so it
 * runs PreDown/PostDown and removes what it added), and wait until it has. Without a pid file, a tunvpn TUN device
 * of that name is deleted instead; its daemon notices and cleans up as wireguard-go's does.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Rtnl } from '../../netlink/index.js';
import { interfaceName, PID_DIR } from '../../quick/up.js';
import type { CliContext } from '../context.js';

const POLL_MS = 100;
const DEFAULT_TIMEOUT_S = 15;

/** Whether the process runs (a zombie, exited but not yet reaped by its parent, counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitGone(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!(await check())) return true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return false;
}

export function nameFromArgument(arg: string): string {
  return arg.endsWith('.conf') || arg.includes('/') ? interfaceName(arg) : interfaceName('', arg);
}

export function registerDown(program: Command, ctx: CliContext): void {
  program
    .command('down')
    .description('take down an interface brought up by `tunvpn up`')
    .argument('<iface|conf>', 'interface name, or the configuration file it was brought up from')
    .option('--timeout <seconds>', 'how long to wait for the daemon', String(DEFAULT_TIMEOUT_S))
    .action(async (arg: string, opts: { timeout: string }) => {
      let name: string;
      try {
        name = nameFromArgument(arg);
      } catch (e) {
        return ctx.fail((e as Error).message);
      }
      const timeoutMs = Number(opts.timeout) * 1000;
      const pidFile = join(PID_DIR, `${name}.pid`);
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        if (Number.isInteger(pid) && pid > 1 && alive(pid)) {
          ctx.io.err(`[#] kill -TERM ${pid} (tunvpn up ${name})\n`);
          process.kill(pid, 'SIGTERM');
          if (!(await waitGone(() => alive(pid), timeoutMs))) ctx.fail(`${name}: the daemon (pid ${pid}) did not exit in ${opts.timeout} s`);
          ctx.io.err(`${name} is down\n`);
          return;
        }
      }
      const rtnl = Rtnl.open();
      try {
        if (!(await rtnl.links.exists(name))) return ctx.fail(`${name} is not up`);
        const link = await rtnl.links.get(name);
        if (link.kind !== 'tun') return ctx.fail(`${name} is a ${link.kind ?? 'non-tunnel'} device, not one of tunvpn's; not touching it`);
        ctx.io.err(`[#] ip link delete dev ${name}\n`);
        await rtnl.links.delete(name);
        const socket = `/var/run/wireguard/${name}.sock`;
        await waitGone(() => existsSync(socket), timeoutMs);
        ctx.io.err(`${name} is down\n`);
      } finally {
        rtnl.close();
      }
    });
}
