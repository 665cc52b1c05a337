/**
 * The device side of the mesh: what the agent changes (MeshTarget), and how one reconcile action reaches it.
 * device-target.ts implements it over a running Device, route operations and the VTEP followers; tests record it.
 */
import type { IpAddress, Prefix } from '../net/ip.js';
import type { MeshAction, MeshPeer, PeerChanges } from './reconcile.js';

/** What the agent changes. Methods may be async; a throw/rejection is logged and retried later. */
export interface MeshTarget {
  /** A new peer with exactly these settings (device: setPeer). */
  addPeer(peer: MeshPeer): void | Promise<void>;
  /**
   * The peer exists; change it in place, keeping its session: set the endpoint if `changed.endpoint`, replace its
   * AllowedIPs by `peer.allowedIPs` if `changed.allowedIPs` (UAPI replace_allowed_ips), set the keepalive if
   * `changed.persistentKeepalive`.
   */
  updatePeer(peer: MeshPeer, changed: PeerChanges): void | Promise<void>;
  removePeer(peer: MeshPeer): void | Promise<void>;
  /** A route for `prefix` through the interface (the table is the target's business: Table = N). */
  addRoute(prefix: Prefix): void | Promise<void>;
  removeRoute(prefix: Prefix): void | Promise<void>;
  /** VXLAN head-end replication: an all-zeros FDB entry towards `address` (site `Remote = mesh`). Optional. */
  addVtep?(address: IpAddress): void | Promise<void>;
  removeVtep?(address: IpAddress): void | Promise<void>;
}

/** Carries out one reconcile action on `target`; resolves once done, rejects with the target's error. */
export async function performAction(target: MeshTarget, action: MeshAction): Promise<void> {
  switch (action.type) {
    case 'add-peer':
      return target.addPeer(action.peer);
    case 'update-peer':
      return target.updatePeer(action.peer, action.changed);
    case 'remove-peer':
      return target.removePeer(action.peer);
    case 'add-route':
      return target.addRoute(action.prefix);
    case 'remove-route':
      return target.removeRoute(action.prefix);
    case 'add-vtep':
      return target.addVtep?.(action.address);
    case 'remove-vtep':
      return target.removeVtep?.(action.address);
  }
}
