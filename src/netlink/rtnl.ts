/**
 * Rtnl: the rtnetlink operations on one NETLINK_ROUTE socket, optionally inside a named namespace.
 *
 *   const rtnl = Rtnl.open({ netns: 'site-a' });
 *   await rtnl.links.create({ kind: 'vxlan', name: 'vx0', id: 42, dstPort: 4789, remote: '10.0.0.2' });
 *   await rtnl.links.set('vx0', { up: true, mtu: 1400 });
 *   await rtnl.addresses.add('vx0', '10.42.0.1/24');
 *   rtnl.close();
 *
 * Requests on one Rtnl run one at a time, in call order. Errors are NetlinkError (kernel refusals, code = errno
 * name, message names the operation) or NetlinkArgumentError (refused before sending).
 */
import type { LinkRef } from './link-ref.js';
import { getLinkRequest, parseLink } from './link-codec.js';
import { LinkOps } from './links.js';
import { netnsPath } from './netns.js';
import { AddressOps, FdbOps, RouteOps, RuleOps } from './ops.js';
import { NetlinkSocket } from './socket.js';
import type { RtnlContext } from './context.js';
import { checkInt } from './validate.js';
import { NetlinkError } from './errors.js';

export interface RtnlOptions {
  /** Open the socket inside /run/netns/NAME; every operation then acts in that namespace. */
  netns?: string;
}

export class Rtnl {
  readonly links: LinkOps;
  readonly addresses: AddressOps;
  readonly routes: RouteOps;
  readonly rules: RuleOps;
  readonly fdb: FdbOps;

  constructor(
    readonly socket: NetlinkSocket,
    readonly netns?: string,
  ) {
    const ctx: RtnlContext = { socket, netns, index: (ref, op, role) => this.index(ref, op, role) };
    this.links = new LinkOps(ctx);
    this.addresses = new AddressOps(ctx);
    this.routes = new RouteOps(ctx);
    this.rules = new RuleOps(ctx);
    this.fdb = new FdbOps(ctx);
  }

  /** Opens a socket in the caller's namespace, or in `netns`. Close it with close(). */
  static open(opts: RtnlOptions = {}): Rtnl {
    if (opts.netns === undefined) return new Rtnl(NetlinkSocket.open());
    return new Rtnl(NetlinkSocket.open({ netnsPath: netnsPath(opts.netns) }), opts.netns);
  }

  /**
   * An ifindex as is; a name resolved in this namespace. Errors name both: "create link mv0 (macvlan): parent
   * eth9: ENODEV: no such device".
   */
  async index(ref: LinkRef, op: string, role = 'link'): Promise<number> {
    if (typeof ref !== 'string') return checkInt(op, `${role} index`, typeof ref === 'number' ? ref : ref.index, 1, 0x7fffffff);
    const what = `${op}: ${role} ${ref}`;
    const [reply] = await this.socket.request(getLinkRequest(ref, what));
    if (!reply) throw new NetlinkError(what, 61 /* ENODATA */, 'the kernel sent no link');
    return parseLink(reply).index;
  }

  /** Rejects pending requests and releases the socket. */
  close(): void {
    this.socket.close();
  }
}
