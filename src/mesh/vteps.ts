/**
 * VXLAN devices that follow the mesh (a site's `Remote = mesh`): the daemon owns their head-end replication
 * entries. `tunvpn site up` creates the vxlan and registers it over the UAPI (`vtep=1`, uapi/mesh-format.ts);
 * from then on the daemon keeps one all-zeros FDB entry per member VTEP on it,
 *
 *     bridge fdb append 00:00:00:00:00:00 dst <member VTEP> dev <vxlan>
 *
 * added and removed as members come and go (the mesh agent's add-vtep/remove-vtep actions arrive here through
 * deviceMeshTarget's `vteps` callbacks), and announces this node's VTEP (the vxlan's local address) in its member
 * record so the others add it to theirs. `site down` unregisters the device first (its entries are deleted).
 *
 * One VTEP address per node: every following device shares it (the member record holds one). Every FDB change is
 * logged as the others are ("[#] bridge fdb append ..."). A failure is logged and thrown, so the agent retries it;
 * a device that has vanished (ENODEV: deleted without `site down`) stops being followed.
 */
import { formatIp, type IpAddress } from '../net/ip.js';
import type { Logger } from '../log.js';
import { ignoreGone, isNetlinkError, type Rtnl } from '../netlink/index.js';

/** The all-zeros MAC: on a vxlan FDB entry, "flood broadcast, unknown unicast and multicast to this dst". */
export const ZERO_MAC = '00:00:00:00:00:00';

/** FDB operations on vxlan devices in the daemon's network namespace. */
export interface VtepFdb {
  /** IFLA_INFO_KIND of link `device` ('vxlan', ...), null when it has none, undefined when there is no such link. */
  linkKind(device: string): Promise<string | null | undefined>;
  /** Appends the all-zeros entry towards `dst`; an entry that exists already counts as added. */
  append(device: string, dst: IpAddress): Promise<void>;
  /** Deletes it; one that is gone (or whose device is gone) counts as deleted. */
  remove(device: string, dst: IpAddress): Promise<void>;
}

/** VtepFdb over our rtnetlink module. */
export function netlinkVtepFdb(rtnl: Rtnl): VtepFdb {
  return {
    async linkKind(device) {
      try {
        const link = await rtnl.links.get(device);
        return link.kind ?? null;
      } catch (e) {
        if (isNetlinkError(e, 'ENODEV')) return undefined;
        throw e;
      }
    },
    async append(device, dst) {
      try {
        await rtnl.fdb.append({ dev: device, mac: ZERO_MAC, dst: formatIp(dst) });
      } catch (e) {
        if (!isNetlinkError(e, 'EEXIST')) throw e;
      }
    },
    remove: (device, dst) => ignoreGone(rtnl.fdb.delete({ dev: device, mac: ZERO_MAC, dst: formatIp(dst) })),
  };
}

/**
 * The vxlan devices following the mesh, this node's VTEP while any does, and the member VTEPs known: keeps one
 * all-zeros FDB entry per member VTEP on every followed device (see the file comment). Without `fdb`, every device
 * is refused (check).
 */
export class VtepFollowers {
  private readonly devices = new Set<string>();
  private readonly remotes = new Map<string, IpAddress>();
  private address: IpAddress | undefined;

  constructor(
    private readonly fdb: VtepFdb | undefined,
    private readonly log: Logger,
  ) {}

  /** This node's VTEP while any device follows the mesh. */
  get vtep(): IpAddress | undefined {
    return this.address;
  }

  get followed(): string[] {
    return [...this.devices].sort();
  }

  /** The callbacks deviceMeshTarget calls for the agent's add-vtep / remove-vtep actions. */
  readonly callbacks = {
    add: async (address: IpAddress): Promise<void> => {
      this.remotes.set(formatIp(address), address);
      for (const device of [...this.devices]) await this.append(device, address);
    },
    remove: async (address: IpAddress): Promise<void> => {
      this.remotes.delete(formatIp(address));
      for (const device of [...this.devices]) await this.delete(device, address);
    },
  };

  /** Whether `device` may follow with `address` as this node's VTEP; a reason when not. Changes nothing. */
  async check(device: string, address: IpAddress): Promise<string | undefined> {
    if (!this.fdb) return 'this daemon cannot change FDB entries';
    if (this.address && formatIp(this.address) !== formatIp(address) && !(this.devices.size === 1 && this.devices.has(device))) {
      return `this node's VTEP is already ${formatIp(this.address)} (for ${this.followed.join(', ')}); every vxlan that follows the mesh must use it as Local`;
    }
    const kind = await this.fdb.linkKind(device);
    if (kind === undefined) return `there is no link ${device} in this daemon's network namespace`;
    if (kind !== 'vxlan') return `${device} is ${kind === null ? 'not a vxlan' : `a ${kind}, not a vxlan`}`;
    return undefined;
  }

  /** Starts following `device` (after check): every known member VTEP gets its entry now. */
  async follow(device: string, address: IpAddress): Promise<void> {
    this.address = address;
    this.devices.add(device);
    for (const remote of [...this.remotes.values()]) await this.append(device, remote);
  }

  /** Stops following `device` and deletes its entries. Returns whether it was followed. */
  async unfollow(device: string): Promise<boolean> {
    if (!this.devices.delete(device)) return false;
    for (const remote of [...this.remotes.values()]) await this.delete(device, remote).catch(() => undefined);
    if (this.devices.size === 0) this.address = undefined;
    return true;
  }

  /** Member VTEPs currently known (entries every followed device has). */
  get remoteVteps(): IpAddress[] {
    return [...this.remotes.values()];
  }

  private async append(device: string, dst: IpAddress): Promise<void> {
    this.log.info(`[#] bridge fdb append ${ZERO_MAC} dst ${formatIp(dst)} dev ${device}`);
    try {
      await this.fdb!.append(device, dst);
    } catch (e) {
      if (isNetlinkError(e, 'ENODEV')) {
        this.log.warn(`mesh: ${device} is gone; it no longer follows the mesh`);
        this.devices.delete(device);
        if (this.devices.size === 0) this.address = undefined;
        return;
      }
      throw e;
    }
  }

  private async delete(device: string, dst: IpAddress): Promise<void> {
    this.log.info(`[#] bridge fdb del ${ZERO_MAC} dst ${formatIp(dst)} dev ${device}`);
    await this.fdb!.remove(device, dst);
  }
}
