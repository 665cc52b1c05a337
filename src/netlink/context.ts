/** What the operation groups (links, addresses, ...) share: the socket and name → index resolution. */
import type { LinkRef } from './link-ref.js';
import type { NetlinkSocket } from './socket.js';

export interface RtnlContext {
  readonly socket: NetlinkSocket;
  /** The namespace the socket lives in (a name under /run/netns), or undefined for the caller's own. */
  readonly netns: string | undefined;
  /** An ifindex as is; a name looked up with RTM_GETLINK. ENODEV reads "<op>: <role> <ref>: ENODEV: ...". */
  index(ref: LinkRef, op: string, role?: string): Promise<number>;
}
