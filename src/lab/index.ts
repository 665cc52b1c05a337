/** The namespace lab (a — b — c with a WireGuard tunnel a ⇄ b) and its measurement helpers. */
export { Lab, type LabOptions } from './lab.js';
export { makePlan, randomTag, nsPrefix, LAB_NODES, type LabNode, type LabPlan } from './plan.js';
export { labDiagram, type EndKind } from './diagram.js';
export { DAEMONS, isDaemon, type Daemon, type RunningDaemon } from './daemons.js';
export { parsePing, type PingResult } from './ping.js';
export { parseIperfJson, IPERF_PORT, type IperfOptions, type IperfResult } from './iperf.js';
export { parseProcStat, cpuSeconds, clockTicksPerSecond, type CpuTicks } from './cpu.js';
export { quickConfig, wgConfig, allowedIps, type TunnelEnd } from './configs.js';
export { onPath, ExecError } from './exec.js';
export { formatBitsPerSecond, formatPing, formatIperf } from './format.js';
