/** CPU time of a process from /proc/PID/stat (all its threads: the kernel sums them for the thread group). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Fields of /proc/PID/stat after the ")" that closes comm: state is field 3, utime 14, stime 15 (1-based). */
const UTIME_AFTER_COMM = 11;
const STIME_AFTER_COMM = 12;
/** Linux's USER_HZ almost everywhere; used when getconf is missing. */
const DEFAULT_CLK_TCK = 100;

export interface CpuTicks {
  utime: number;
  stime: number;
}

/** utime and stime (clock ticks) from the text of /proc/PID/stat; comm may hold spaces and parentheses. */
export function parseProcStat(text: string): CpuTicks {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('/proc/PID/stat: no ")" after comm');
  const fields = text.slice(close + 1).trim().split(/\s+/);
  const utime = Number(fields[UTIME_AFTER_COMM]);
  const stime = Number(fields[STIME_AFTER_COMM]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime) || utime < 0 || stime < 0) {
    throw new Error('/proc/PID/stat: utime/stime are not non-negative integers');
  }
  return { utime, stime };
}

let clkTck: number | undefined;
/** Clock ticks per second (`getconf CLK_TCK`), cached. */
export function clockTicksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clkTck = Number.isInteger(n) && n > 0 ? n : DEFAULT_CLK_TCK;
    } catch {
      clkTck = DEFAULT_CLK_TCK;
    }
  }
  return clkTck;
}

/** utime+stime of `pid` in seconds. Throws if the process is gone. */
export function cpuSeconds(pid: number): number {
  const t = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return (t.utime + t.stime) / clockTicksPerSecond();
}
