#!/usr/bin/env node
/**
 * `tunvpnd [-f|--foreground] IFACE`: tunvpn with wireguard-go's command line, so stock wg-quick can drive it:
 *
 *   WG_QUICK_USERSPACE_IMPLEMENTATION=tunvpnd wg-quick up wg0
 *
 * It creates the TUN device IFACE and serves /var/run/wireguard/IFACE.sock; everything else (keys, peers, port,
 * addresses, routes) is set by `wg` and `ip`, as wg-quick does. Like wireguard-go it daemonizes unless -f or
 * WG_PROCESS_FOREGROUND=1 is given (the parent returns once the interface and socket exist), logs nothing unless
 * LOG_LEVEL is set (verbose|debug|error|silent), and exits when its TUN device or its socket is removed, or on
 * SIGINT/SIGTERM.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isMainModule } from './entry.js';
import { realpathSync, createWriteStream } from 'node:fs';
import { NativeBind } from '../conn/native-bind.js';
import { Device } from '../device/device.js';
import { DeviceControlAdapter } from '../device/control.js';
import { createLogger, silentLogger, type Logger } from '../log.js';
import { isWgQuickIfname } from '../net/ifname.js';
import { LinuxTun } from '../tun/linux-tun.js';
import { UapiServer } from '../uapi/server.js';

const READY = 'ready\n';
const LOG_LEVELS: Record<string, string> = { verbose: 'debug', debug: 'debug', error: 'error', silent: 'silent' };

function usage(): string {
  return 'Usage: tunvpnd [-f/--foreground] INTERFACE-NAME\n';
}

/** Runs the interface in this process until it is told to stop; resolves with the exit status. */
async function serve(ifname: string, log: Logger, notifyReady: (error?: string) => void): Promise<number> {
  let tun: LinuxTun;
  try {
    tun = LinuxTun.open({ name: ifname, logger: log });
  } catch (e) {
    notifyReady((e as Error).message);
    return 1;
  }
  // No key until `wg` sets one (all zeros, as wireguard-go starts): nothing can complete a handshake before then.
  const device = new Device({ tun, bind: new NativeBind({ logger: log }), privateKey: new Uint8Array(32), log });
  const uapi = new UapiServer({ iface: ifname, control: new DeviceControlAdapter(device, log), logger: log });
  try {
    await device.start();
    await uapi.listen();
  } catch (e) {
    await uapi.close().catch(() => undefined);
    await device.close();
    notifyReady((e as Error).message);
    return 1;
  }
  notifyReady();
  const reason = await new Promise<string>((resolve) => {
    tun.once('closed', (why) => resolve(`TUN device closed: ${why}`));
    uapi.once('removed', () => resolve('configuration socket removed'));
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve(`received ${s}`));
  });
  log.info(`${ifname}: shutting down (${reason})`);
  await uapi.close();
  await device.close();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a) => a !== '-f' && a !== '--foreground');
  const foreground = args.length !== argv.length || process.env.WG_PROCESS_FOREGROUND === '1';
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write('tunvpnd (tunvpn) speaking the WireGuard cross-platform interface\n');
    return 0;
  }
  if (args.length !== 1 || !isWgQuickIfname(args[0]!)) {
    process.stderr.write(usage());
    return 2;
  }
  const ifname = args[0]!;
  const level = LOG_LEVELS[process.env.LOG_LEVEL ?? ''] ?? (foreground ? 'info' : 'silent');
  const log = level === 'silent' ? silentLogger : createLogger(level, 'tunvpnd');

  if (foreground) {
    // A daemonized child reports readiness on fd 3 (a pipe from its parent); in a real foreground run there is none.
    const child = process.env.TUNVPND_READY_FD === '3';
    const notify = (error?: string) => {
      if (!child) {
        if (error) process.stderr.write(`tunvpnd: ${error}\n`);
        return;
      }
      const pipe = createWriteStream('', { fd: 3 });
      pipe.end(error ? `error ${error}\n` : READY);
    };
    return serve(ifname, log, notify);
  }

  // Daemonize: run ourselves detached in the foreground mode and wait for it to say it is ready.
  const self = realpathSync(fileURLToPath(import.meta.url));
  const keepLogs = level !== 'silent';
  const child = spawn(process.execPath, [self, '--foreground', ifname], {
    detached: true,
    stdio: ['ignore', keepLogs ? 'inherit' : 'ignore', keepLogs ? 'inherit' : 'ignore', 'pipe'],
    env: { ...process.env, WG_PROCESS_FOREGROUND: '1', TUNVPND_READY_FD: '3' },
  });
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.on('data', (d: Buffer) => (text += d.toString()));
    pipe.on('end', () => resolve(text));
    child.once('exit', (code) => resolve(text || `error the daemon exited with status ${code}`));
  });
  if (answer === READY) {
    child.unref();
    (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();
    return 0;
  }
  process.stderr.write(`tunvpnd: ${answer.replace(/^error /, '').trim()}\n`);
  return 1;
}

if (isMainModule(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
