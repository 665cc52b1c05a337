/**
 * `tunvpn strip CONF`: print the `wg`-only part of a configuration (quick/strip.ts), as `wg-quick strip` does:
 *
 *   wg syncconf wg0 <(tunvpn strip /etc/tunvpn/wg0.conf)
 *
 * The file is validated first: a file with errors prints nothing and every FILE:LINE problem goes to stderr.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { stripConfig } from '../../quick/strip.js';
import type { CliContext } from '../context.js';

export function registerStrip(program: Command, ctx: CliContext): void {
  program
    .command('strip')
    .description('print the part of a wg-quick configuration that `wg setconf`/`wg syncconf` read (as wg-quick strip)')
    .argument('<conf>', 'path to INTERFACE.conf')
    .action(async (conf: string) => {
      const config = await loadConfig(conf);
      for (const w of config.warnings) ctx.io.err(`warning: ${w}\n`);
      ctx.io.out(stripConfig(await readFile(conf, 'utf8')));
    });
}
