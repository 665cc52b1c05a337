/**
 * Opening a Linux TUN device and probing its offloads, apart from the I/O (linux-tun.ts): the interface name is
 * checked, the device opened with IFF_VNET_HDR and TUNSETOFFLOAD CSUM|TSO4|TSO6 (|USO4|USO6 when the kernel takes
 * them, Linux 6.2+), or plainly when it takes none or offloads are off.
 */
import { readFileSync } from 'node:fs';
import type { NativeTun } from '../native/tun.js';
import { ifnameProblem } from '../net/ifname.js';
import { VNET_HDR_BYTES } from './offload/vnet-header.js';

/** What to open: `name` '' (or a pattern like 'tv%d') lets the kernel pick; `netnsPath` opens it in that namespace. */
export interface TunOpenRequest {
  name: string;
  netnsPath: string | undefined;
  /** Try IFF_VNET_HDR with offloads first (the caller can write them: writevBatch). */
  offload: boolean;
}

/** An open TUN fd: the name the kernel gave it and the TUN_F_* offload flags in force (0: plain, no vnet header). */
export interface OpenedTun {
  fd: number;
  name: string;
  offloadFlags: number;
}

/**
 * Opens (creating if needed) the TUN device. Throws Error "cannot open a TUN device: ..." for an unusable name,
 * and "cannot open TUN device NAME: ..." (cause: the NativeError) when /dev/net/tun or the kernel refuses.
 */
export function openTunDevice(addon: NativeTun, req: TunOpenRequest): OpenedTun {
  const { name } = req;
  const problem = name === '' ? undefined : ifnameProblem(name);
  if (problem !== undefined) throw new Error(`cannot open a TUN device: ${problem}`);
  const c = addon.constants;
  const wantOffload = req.offload && addonHasOffloads(addon);
  const doOpen = (): OpenedTun => {
    const plain = c.IFF_TUN | c.IFF_NO_PI;
    if (wantOffload) {
      const opened = addon.tunOpen(name, plain | c.IFF_VNET_HDR);
      const offloadFlags = enableOffloads(addon, opened.fd);
      if (offloadFlags !== 0) return { ...opened, offloadFlags };
      addon.close(opened.fd);
    }
    return { ...addon.tunOpen(name, plain), offloadFlags: 0 };
  };
  try {
    return req.netnsPath ? addon.withNetns(req.netnsPath, doOpen) : doOpen();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`cannot open TUN device "${name || '(any)'}": ${why}`, { cause: e });
  }
}

/** Whether the addon has what offloads need (a fake addon in a test may not). */
function addonHasOffloads(addon: NativeTun): boolean {
  return (
    typeof addon.tunSetOffload === 'function' &&
    typeof addon.tunSetVnetHdrSize === 'function' &&
    typeof addon.constants.IFF_VNET_HDR === 'number'
  );
}

/**
 * Sets the 10-byte virtio header and the offloads on a TUN fd opened with IFF_VNET_HDR: checksum + TSO4/6 (+USO
 * when the kernel has it, Linux 6.2+). Returns the TUN_F_* flags in force, 0 when the kernel took none.
 */
function enableOffloads(addon: NativeTun, fd: number): number {
  const c = addon.constants;
  const tcp = c.TUN_F_CSUM | c.TUN_F_TSO4 | c.TUN_F_TSO6;
  try {
    addon.tunSetVnetHdrSize(fd, VNET_HDR_BYTES);
  } catch {
    return 0;
  }
  for (const flags of [tcp | c.TUN_F_USO4 | c.TUN_F_USO6, tcp]) {
    try {
      addon.tunSetOffload(fd, flags);
      return flags;
    } catch {
      // try the next, smaller set
    }
  }
  return 0;
}

/** TUN_F_* flags as "csum,tso4,tso6,uso4,uso6" (those set), for logs. */
export function describeOffloads(addon: NativeTun, flags: number): string {
  const c = addon.constants;
  const names: Array<[number, string]> = [
    [c.TUN_F_CSUM, 'csum'],
    [c.TUN_F_TSO4, 'tso4'],
    [c.TUN_F_TSO6, 'tso6'],
    [c.TUN_F_USO4, 'uso4'],
    [c.TUN_F_USO6, 'uso6'],
  ];
  return names
    .filter(([f]) => (flags & f) !== 0)
    .map(([, n]) => n)
    .join(',');
}

/** The MTU of interface `name` from /sys/class/net (this process's namespace); undefined when it cannot be read. */
export function readSysMtu(name: string): number | undefined {
  if (ifnameProblem(name) !== undefined) return undefined;
  try {
    const mtu = Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim());
    return Number.isInteger(mtu) && mtu > 0 ? mtu : undefined;
  } catch {
    return undefined;
  }
}
