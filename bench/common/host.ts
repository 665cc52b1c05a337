/** The machine a benchmark ran on, as every report records it. */
import { cpus, release } from 'node:os';

/** CPU count, kernel release (uname -r) and node version of this host. */
export interface HostInfo {
  cpus: number;
  kernel: string;
  node: string;
}

/** This host's HostInfo. */
export function hostInfo(): HostInfo {
  return { cpus: cpus().length, kernel: release(), node: process.version };
}
