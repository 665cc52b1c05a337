/** The namespace lab (a — b — c with a WireGuard tunnel a ⇄ b) and its measurement helpers. */
export { Lab, type LabOptions } from './lab.js';
export { makePlan, randomTag, nsPrefix, LAB_NODES, type LabNode, type LabPlan, type LanHostPlan, type NamespacePlan } from './plan.js';
export { labDiagram, type EndKind } from './diagram.js';
export { DAEMONS, DEFAULT_WIREGUARD_GO, isDaemon, type Daemon, type RunningDaemon } from './daemons.js';
export { againstPlanned, parsePing, parsePingReplies, type PingResult, type PingReplies } from './ping.js';
export { parseIperfJson, parseIperfUdpJson, IPERF_PORT, type IperfOptions, type IperfResult, type IperfUdpOptions, type IperfUdpResult } from './iperf.js';
export { parseProcStat, cpuSeconds, clockTicksPerSecond, type CpuTicks } from './cpu.js';
export { parseProcStatus, residentMemory, type ResidentMemory } from './rss.js';
export { quickConfig, wgConfig, allowedIps, type TunnelEnd } from './configs.js';
export { onPath, ExecError } from './exec.js';
export { formatBitsPerSecond, formatPing, formatIperf } from './format.js';
