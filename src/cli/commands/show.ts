/**
 * `tunvpn show [IFACE] [--json]`: the configuration and counters of running interfaces, read over the UAPI socket,
 * printed like `wg show`. Without IFACE every live socket in the socket directory is shown.
 */
import type { Command } from 'commander';
import type { DeviceSnapshot } from '../../uapi/control.js';
import { UapiError } from '../../uapi/errors.js';
import { listInterfaces, withClient } from '../../uapi/client.js';
import { ansi, formatInterface, interfaceJson, plain, type InterfaceJson } from '../../uapi/format.js';
import { ifnameProblem } from '../../net/ifname.js';
import { DEFAULT_SOCKET_DIR } from '../../uapi/paths.js';

export interface ShowArgs {
  iface?: string;
  json: boolean;
  dir: string;
  color: boolean;
  /** Current Unix time in seconds. */
  nowSec: number;
}

export interface ShowResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

function describe(err: unknown): string {
  if (err instanceof UapiError) return `${err.message} (errno ${err.errno})`;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'no such interface (no UAPI socket; is the daemon running?)';
  if (e?.code === 'ECONNREFUSED') return 'the daemon is not answering (stale socket)';
  if (e?.code === 'EACCES') return 'permission denied (try as root)';
  return err instanceof Error ? err.message : String(err);
}

/** The whole command without process side effects (tests call this directly). */
export async function runShow(args: ShowArgs): Promise<ShowResult> {
  if (args.iface !== undefined) {
    const problem = ifnameProblem(args.iface);
    if (problem) return { stdout: '', stderr: `tunvpn show: ${problem}\n`, exitCode: 1 };
  }
  const names = args.iface !== undefined ? [args.iface] : await listInterfaces(args.dir);
  const shown: { name: string; snap: DeviceSnapshot; stats?: Record<string, number> }[] = [];
  let stderr = '';
  for (const name of names) {
    try {
      const { snap, stats } = await withClient(name, { dir: args.dir }, async (c) => {
        const snap = await c.get();
        // Only for --json, and only from daemons that speak the extension (wireguard-go answers with an error).
        const stats = args.json ? await c.stats().catch(() => undefined) : undefined;
        return { snap, stats };
      });
      shown.push({ name, snap, stats });
    } catch (err) {
      stderr += `Unable to access interface ${name}: ${describe(err)}\n`;
    }
  }
  let stdout: string;
  if (args.json) {
    const doc: { interfaces: InterfaceJson[] } = {
      interfaces: shown.map((s) => {
        const hasStats = s.stats !== undefined && Object.keys(s.stats).length > 0;
        return { ...interfaceJson(s.name, s.snap), ...(hasStats ? { stats: s.stats } : {}) };
      }),
    };
    stdout = `${JSON.stringify(doc, null, 2)}\n`;
  } else {
    const style = args.color ? ansi : plain;
    stdout = shown.map((s) => formatInterface(s.name, s.snap, { nowSec: args.nowSec, style })).join('\n');
  }
  return { stdout, stderr, exitCode: stderr === '' ? 0 : 1 };
}

export function registerShow(program: Command): void {
  program
    .command('show')
    .description('show the configuration and state of running interfaces (like wg show)')
    .argument('[iface]', 'interface name; all interfaces when omitted')
    .option('--json', 'print a JSON document instead of text', false)
    .option('--socket-dir <dir>', 'UAPI socket directory', DEFAULT_SOCKET_DIR)
    .action(async (iface: string | undefined, opts: { json: boolean; socketDir: string }) => {
      const result = await runShow({
        iface,
        json: opts.json,
        dir: opts.socketDir,
        color: Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined,
        nowSec: Math.floor(Date.now() / 1000),
      });
      process.stdout.write(result.stdout);
      process.stderr.write(result.stderr);
      process.exitCode = result.exitCode;
    });
}
