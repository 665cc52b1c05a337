/**
 * `tunvpn reload IFACE|CONF`: ask the `tunvpn up` running IFACE to re-read its configuration file and apply the
 * difference (quick/reload.ts). The request goes over the interface's UAPI socket (tunvpn's `reload=1`
 * extension), so the answer comes back to the caller: what changed (exit 0), or every FILE:LINE problem of a
 * refused file, nothing having changed (exit 1). SIGHUP to the daemon does the same, reporting to its log only.
 *
 * The daemon re-reads the file it was started with; with CONF, only the interface name is taken from it.
 */
import type { Command } from 'commander';
import { withClient } from '../../uapi/client.js';
import { EINVAL, EIO, EOPNOTSUPP, EPROTO, UapiError } from '../../uapi/errors.js';
import { DEFAULT_SOCKET_DIR } from '../../uapi/paths.js';
import type { CliContext } from '../context.js';
import { nameFromArgument } from './down.js';

/**
 * How long `tunvpn reload` waits for the daemon's answer (ms). Reading the file is quick, but resolving its
 * Endpoint names retries temporary failures as wg-quick does: 15 tries over about 73 s by default.
 */
export const RELOAD_TIMEOUT_MS = 120_000;

export function registerReload(program: Command, ctx: CliContext): void {
  program
    .command('reload')
    .description('re-read the configuration of an interface brought up by `tunvpn up` and apply the difference')
    .argument('<iface|conf>', 'interface name, or the configuration file it was brought up from')
    .option('--socket-dir <dir>', 'UAPI socket directory', DEFAULT_SOCKET_DIR)
    .action(async (arg: string, opts: { socketDir: string }) => {
      let name: string;
      try {
        name = nameFromArgument(arg);
      } catch (e) {
        return ctx.fail((e as Error).message);
      }
      let reply: { errno: number; messages: string[] };
      try {
        reply = await withClient(name, { dir: opts.socketDir, timeoutMs: RELOAD_TIMEOUT_MS }, (c) => c.reload());
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ECONNREFUSED') return ctx.fail(`${name} is not up (no daemon answers on its configuration socket)`);
        if (e instanceof UapiError && e.errno === EPROTO) return ctx.fail(`${name}: the daemon does not support reload (not tunvpn up?): ${e.message}`);
        if (e instanceof UapiError && e.errno === EIO) {
          return ctx.fail(`${name}: no answer within ${RELOAD_TIMEOUT_MS / 1000} s (still resolving an Endpoint name?); the daemon may yet apply the file or refuse it: its log says which`);
        }
        if (e instanceof UapiError) return ctx.fail(`${name}: reload: ${e.message}`);
        throw e;
      }
      if (reply.errno === 0) {
        ctx.io.err(reply.messages.length ? `${reply.messages.map((m) => `[#] ${m}`).join('\n')}\n${name} reloaded\n` : `${name}: no changes\n`);
        return;
      }
      if (reply.errno === EOPNOTSUPP) return ctx.fail(`${name}: ${reply.messages.join('; ')}`);
      if (reply.errno === EINVAL) return ctx.fail(`${name}: reload refused, nothing changed:\n${reply.messages.join('\n')}`);
      return ctx.fail(`${name}: reload failed, its changes were undone: ${reply.messages.join('\n')}`);
    });
}
