/** Resident memory of a process from /proc/PID/status (proc(5): VmRSS, VmHWM, in KiB). */
import { readFileSync } from 'node:fs';

export interface ResidentMemory {
  /** Resident set size now, KiB (VmRSS). */
  rssKiB: number;
  /** Peak resident set size since the process started, KiB (VmHWM, "high water mark"). */
  peakKiB: number;
}

const FIELD_RE = (name: string) => new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm');

/** VmRSS and VmHWM from the text of /proc/PID/status; throws when either is missing (a kernel thread has none). */
export function parseProcStatus(text: string): ResidentMemory {
  const rss = FIELD_RE('VmRSS').exec(text);
  const hwm = FIELD_RE('VmHWM').exec(text);
  if (!rss || !hwm) throw new Error('/proc/PID/status: no VmRSS/VmHWM lines');
  return { rssKiB: Number(rss[1]), peakKiB: Number(hwm[1]) };
}

/** Resident memory of `pid`. Throws if the process is gone. */
export function residentMemory(pid: number): ResidentMemory {
  return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
}
