/**
 * `tunvpn up CONF`: bring the interface up and stay in the foreground until SIGINT/SIGTERM (or until the TUN
 * device or the configuration socket is removed), then take everything down again.
 */
import type { Command } from 'commander';
import { up } from '../../quick/up.js';
import { parseMetricsAddress, type MetricsAddress } from '../../daemon/metrics.js';
import type { CliContext } from '../context.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export function registerUp(program: Command, ctx: CliContext): void {
  program
    .command('up')
    .description('bring up the interface described by a wg-quick file and run it in the foreground')
    .argument('<conf>', 'path to INTERFACE.conf (the interface is named after the file)')
    .option('-i, --interface <name>', 'interface name instead of the file name')
    .option('--metrics <address:port>', 'serve Prometheus metrics at http://ADDRESS:PORT/metrics (a port alone: on 127.0.0.1)')
    .action(async (conf: string, opts: { interface?: string; metrics?: string }) => {
      const log = ctx.logger();
      let metrics: MetricsAddress | undefined;
      try {
        metrics = opts.metrics === undefined ? undefined : parseMetricsAddress(opts.metrics);
      } catch (e) {
        return ctx.fail((e as Error).message);
      }
      const handle = await up({ configPath: conf, ifname: opts.interface, log, ...(metrics && { metrics }) });
      const onSignal = (signal: NodeJS.Signals) => void handle.stop(`received ${signal}`);
      for (const s of STOP_SIGNALS) process.on(s, onSignal);
      log.info(`${handle.ifname} is up (UDP port ${handle.listenPort}); SIGINT or SIGTERM takes it down`);
      try {
        const reason = await handle.stopped;
        log.info(`${handle.ifname} is down (${reason})`);
      } finally {
        for (const s of STOP_SIGNALS) process.off(s, onSignal);
      }
    });
}
