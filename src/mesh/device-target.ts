/**
 * A MeshTarget over a running Device and route operations (MeshRouteOps): what `tunvpn up` / tunvpnd hand the
 * MeshAgent.
 *
 *   add-peer     device.setPeer({ publicKey, endpoint, allowedIPs, persistentKeepalive })
 *   update-peer  the same Peer object (its session and handshake survive): AllowedIPs replaced as UAPI's
 *                replace_allowed_ips does (remove every entry of the peer, insert the new ones), endpoint and
 *                keepalive set only when they changed
 *   remove-peer  device.removePeer(peer)
 *   routes       MeshRouteOps.addRoute/deleteRoute on the interface, in `table` when Table = N; a route that
 *                already exists counts as added (EEXIST: e.g. left by an earlier run)
 *   VTEPs        handed to the optional `vteps` callbacks (the site's FDB, wired by site/)
 */
import { Endpoint } from '../net/endpoint.js';
import type { Device } from '../device/device.js';
import { isNetlinkError } from '../netlink/errors.js';
import type { IpAddress, Prefix } from '../net/ip.js';
import type { MeshTarget } from './target.js';
import type { MemberEndpoint } from './member.js';
import type { MeshPeer, PeerChanges } from './reconcile.js';

/**
 * The route operations the mesh needs, on the interface with index `ifindex`; `table` absent = main. A subset of
 * `up`'s InterfaceOps (quick/apply.ts), which the daemon hands in; stated here so the mesh knows nothing of `up`.
 */
export interface MeshRouteOps {
  addRoute(ifindex: number, prefix: Prefix, table?: number): Promise<void>;
  deleteRoute(ifindex: number, prefix: Prefix, table?: number): Promise<void>;
}

export interface DeviceTargetOptions {
  device: Device;
  /** Route operations and the interface they apply to; absent = no routes (Table = off). */
  routes?: { ops: MeshRouteOps; ifindex: number; table?: number };
  vteps?: { add(address: IpAddress): Promise<void> | void; remove(address: IpAddress): Promise<void> | void };
}

export function deviceMeshTarget(opts: DeviceTargetOptions): MeshTarget {
  const { device, routes, vteps } = opts;
  const endpointOf = (ep: MemberEndpoint) => Endpoint.fromIp(ep.address, ep.port);
  return {
    addPeer(peer: MeshPeer): void {
      device.setPeer({
        publicKey: peer.publicKey,
        endpoint: peer.endpoint && endpointOf(peer.endpoint),
        allowedIPs: peer.allowedIPs,
        persistentKeepalive: peer.persistentKeepalive ?? 0,
      });
    },
    updatePeer(peer: MeshPeer, changed: PeerChanges): void {
      const existing = device.peer(peer.publicKey);
      device.setPeer({
        publicKey: peer.publicKey,
        endpoint: changed.endpoint && peer.endpoint ? endpointOf(peer.endpoint) : undefined,
        allowedIPs: changed.allowedIPs || !existing ? peer.allowedIPs : undefined,
        replaceAllowedIPs: changed.allowedIPs,
        persistentKeepalive: changed.persistentKeepalive || !existing ? (peer.persistentKeepalive ?? 0) : undefined,
      });
    },
    removePeer(peer: MeshPeer): void {
      const existing = device.peer(peer.publicKey);
      if (existing) device.removePeer(existing);
    },
    async addRoute(prefix: Prefix): Promise<void> {
      if (!routes) return;
      try {
        await routes.ops.addRoute(routes.ifindex, prefix, routes.table);
      } catch (e) {
        if (!isNetlinkError(e, 'EEXIST')) throw e;
      }
    },
    async removeRoute(prefix: Prefix): Promise<void> {
      if (routes) await routes.ops.deleteRoute(routes.ifindex, prefix, routes.table);
    },
    addVtep: (address) => vteps?.add(address),
    removeVtep: (address) => vteps?.remove(address),
  };
}
