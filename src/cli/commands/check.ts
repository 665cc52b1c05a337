/**
 * `tunvpn check CONF`: validate a configuration without touching the system. On success prints it back in
 * wg-quick form with keys hidden (stdout) and any warnings (stderr); on failure every "FILE:LINE: message" goes
 * to stderr and the exit status is 1.
 */
import type { Command } from 'commander';
import { ConfigError, formatConfig, formatEndpoint, interfaceNameFromPath, loadConfig, resolveEndpoints } from '../../config/index.js';
import type { CliContext } from '../context.js';
import { systemZones } from '../../conn/zones.js';

export function registerCheck(program: Command, ctx: CliContext): void {
  program
    .command('check')
    .description('validate a wg-quick configuration file and print it with secrets hidden')
    .argument('<conf>', 'path to INTERFACE.conf')
    .option('--resolve', 'also resolve Endpoint hostnames')
    .action(async (conf: string, opts: { resolve?: boolean }) => {
      const config = await loadConfig(conf);
      const warnings = [...config.warnings];
      let header = `# ${conf}`;
      try {
        header += ` (interface ${interfaceNameFromPath(conf)})`;
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        warnings.push(`${e.message}; \`tunvpn up\` needs such a name`);
      }
      let text = formatConfig(config);
      if (opts.resolve) {
        const resolved = await resolveEndpoints(config, { onRetry: (message) => ctx.io.err(`${message}\n`), zones: systemZones });
        const notes = config.peers.flatMap((p, i) => {
          const r = resolved[i];
          if (!r || !p.endpoint) return [];
          const shown = formatEndpoint({ host: r.address, port: r.port, ...(r.scopeId !== undefined && { zone: String(r.scopeId) }) });
          return [`# peer at line ${p.line}: Endpoint ${formatEndpoint(p.endpoint)} resolves to ${shown}`];
        });
        if (notes.length) text += `\n${notes.join('\n')}\n`;
      }
      ctx.io.out(`${header}\n${text}`);
      for (const w of warnings) ctx.io.err(`warning: ${w}\n`);
    });
}
