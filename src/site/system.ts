/**
 * The effects a site needs from the system, behind one small interface: read a snapshot, perform one action.
 * The real one speaks rtnetlink (netlink-system.ts); the in-memory one (memory.ts) lets the planner and the
 * transactional apply be tested without root.
 *
 * Contract for implementations:
 * - `netns` undefined means the host: the namespace the system was opened for (not necessarily the process's).
 * - Deleting what does not exist (link, address, route, FDB entry, namespace) succeeds: `down` and undo must be
 *   able to run over partial state.
 * - Any other failure throws an Error whose message says what failed.
 */
import type { IpAddress } from '../net/ip.js';
import type { Action } from './actions.js';
import type { SystemState } from './state.js';

export interface SiteSystem {
  /**
   * The host and those of `namespaces` that exist; `underlay` are tunnel remotes whose routed device MTU the
   * snapshot should report in `underlayMtu` (best effort); `meshes` are tunvpn interfaces whose daemons are asked
   * which vxlan devices follow their mesh (`meshes` in the state).
   */
  snapshot(namespaces: readonly string[], underlay?: readonly IpAddress[], meshes?: readonly string[]): Promise<SystemState>;
  perform(action: Action): Promise<void>;
  close(): Promise<void>;
}
