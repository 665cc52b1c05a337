/**
 * PreUp/PostUp/PreDown/PostDown: shell commands run like wg-quick runs them, through /bin/sh with `%i` replaced by
 * the interface name. Their output goes to our stderr (stdout is kept for command results). A hook that exits
 * non-zero fails the phase it belongs to: during `up` that undoes everything done so far.
 */
import { spawn } from 'node:child_process';

export type HookPhase = 'PreUp' | 'PostUp' | 'PreDown' | 'PostDown';

export function expandHook(command: string, ifname: string): string {
  return command.replaceAll('%i', ifname);
}

export function runHook(phase: HookPhase, command: string, ifname: string): Promise<void> {
  const expanded = expandHook(command, ifname);
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', expanded], { stdio: ['ignore', 2, 2] });
    child.once('error', (e) => reject(new Error(`${phase} hook could not start: ${e.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${phase} hook failed (${signal ? `signal ${signal}` : `exit ${code}`}): ${expanded}`));
    });
  });
}
