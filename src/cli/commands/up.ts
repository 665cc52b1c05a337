/**
 * `tunvpn up CONF`: bring the interface up and stay in the foreground until SIGINT/SIGTERM (or until the TUN
 * device or the configuration socket is removed), then take everything down again. SIGHUP re-reads CONF and
 * applies the difference (the outcome goes to the log; `tunvpn reload` reports it to whoever asked).
 */
import type { Command } from 'commander';
import { up } from '../../quick/up.js';
import { parseMetricsAddress, type MetricsAddress } from '../../metrics/prometheus.js';
import { ServiceNotifier } from '../../systemd/notify.js';
import { DEFAULT_AEAD_THREADS, MAX_AEAD_THREADS, parseThreads } from '../../crypto/native-aead.js';
import type { CliContext } from '../context.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function registerUp(program: Command, ctx: CliContext): void {
  program
    .command('up')
    .description('bring up the interface described by a wg-quick file and run it in the foreground')
    .argument('<conf>', 'path to INTERFACE.conf (the interface is named after the file)')
    .option('-i, --interface <name>', 'interface name instead of the file name')
    .option('--metrics <address:port>', 'serve Prometheus metrics at http://ADDRESS:PORT/metrics (a port alone: on 127.0.0.1)')
    .option('--threads <n>', `threads sharing packet encryption and decryption, 1..${MAX_AEAD_THREADS} (default ${DEFAULT_AEAD_THREADS}; see docs/bench.md)`)
    .action(async (conf: string, opts: { interface?: string; metrics?: string; threads?: string }) => {
      const log = ctx.logger();
      let metrics: MetricsAddress | undefined;
      let threads: number | undefined;
      try {
        metrics = opts.metrics === undefined ? undefined : parseMetricsAddress(opts.metrics);
        threads = opts.threads === undefined ? undefined : parseThreads(opts.threads);
      } catch (e) {
        return ctx.fail((e as Error).message);
      }
      const notifier = new ServiceNotifier(log);
      const handle = await up({ configPath: conf, ifname: opts.interface, log, notifier, threads, ...(metrics && { metrics }) });
      const onSignal = (signal: NodeJS.Signals) => void handle.stop(`received ${signal}`);
      const onHangup = () => {
        log.info(`${handle.ifname}: received SIGHUP, reloading ${conf}`);
        handle.reload().then(
          (changes) => { for (const c of changes) log.info(`${handle.ifname}: ${c}`); },
          (e: Error) => log.error(`${handle.ifname}: reload refused, nothing changed:\n${e.message}`),
        );
      };
      for (const s of STOP_SIGNALS) process.on(s, onSignal);
      process.on('SIGHUP', onHangup);
      log.info(`${handle.ifname} is up (UDP port ${handle.listenPort}); SIGINT or SIGTERM takes it down, SIGHUP reloads ${conf}`);
      try {
        const reason = await handle.stopped;
        log.info(`${handle.ifname} is down (${reason})`);
      } finally {
        for (const s of STOP_SIGNALS) process.off(s, onSignal);
        process.off('SIGHUP', onHangup);
      }
    });
}
