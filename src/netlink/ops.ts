/** Address, route, FIB rule and bridge FDB operations over an RtnlContext. */
import { addAddressRequest, deleteAddressRequest, dumpAddressesRequest, parseAddress, type AddressInfo, type AddressOptions } from './addr-codec.js';
import type { RtnlContext } from './context.js';
import { NetlinkError } from './errors.js';
import { dumpFdbRequest, fdbRequest, parseFdb, type FdbEntry } from './fdb-codec.js';
import { linkName, type LinkRef } from './link-ref.js';
import { dumpRoutesRequest, getRouteRequest, parseRoute, routeRequest, type RouteCommand, type RouteInfo, type RouteSpec } from './route-codec.js';
import { dumpRulesRequest, parseRule, ruleRequest, type RuleInfo, type RuleSpec } from './rule-codec.js';


export class AddressOps {
  constructor(private readonly ctx: RtnlContext) {}

  /** `ip addr add CIDR dev DEV [nodad]`. EEXIST if present. */
  async add(dev: LinkRef, cidr: string, opts: AddressOptions = {}): Promise<void> {
    const index = await this.ctx.index(dev, `add address ${cidr} to ${linkName(dev)}`);
    await this.ctx.socket.request(addAddressRequest(index, cidr, opts, linkName(dev)));
  }

  async delete(dev: LinkRef, cidr: string): Promise<void> {
    const index = await this.ctx.index(dev, `delete address ${cidr} from ${linkName(dev)}`);
    await this.ctx.socket.request(deleteAddressRequest(index, cidr, linkName(dev)));
  }

  /** Addresses, optionally of one link and/or one family. */
  async list(filter: { dev?: LinkRef; family?: 4 | 6 } = {}): Promise<AddressInfo[]> {
    const index = filter.dev === undefined ? undefined : await this.ctx.index(filter.dev, `list addresses of ${linkName(filter.dev)}`);
    const replies = await this.ctx.socket.request(dumpAddressesRequest(filter.family ?? 0));
    return replies.map(parseAddress).filter((a) => index === undefined || a.index === index);
  }
}

/** A route as callers give it: dev by name or index. */
export type RouteParams = Omit<RouteSpec, 'dev'> & { dev?: LinkRef };

export class RouteOps {
  constructor(private readonly ctx: RtnlContext) {}

  private async send(cmd: RouteCommand, r: RouteParams): Promise<void> {
    const { dev, ...rest } = r;
    const spec: RouteSpec = rest;
    if (dev !== undefined) spec.dev = await this.ctx.index(dev, `${cmd} route ${r.dst}`, 'dev');
    await this.ctx.socket.request(routeRequest(cmd, spec, dev === undefined ? undefined : linkName(dev)));
  }

  /** `ip route add`: EEXIST if an identical route exists. */
  add(r: RouteParams): Promise<void> {
    return this.send('add', r);
  }
  /** `ip route replace`. */
  replace(r: RouteParams): Promise<void> {
    return this.send('replace', r);
  }
  /** `ip route del`: ESRCH if no route matches. */
  delete(r: RouteParams): Promise<void> {
    return this.send('delete', r);
  }

  /** Routes of a family, of one table (default: every table) and/or one output link. Cached clones excluded. */
  async list(filter: { family?: 4 | 6; table?: number; dev?: LinkRef } = {}): Promise<RouteInfo[]> {
    const family = filter.family ?? 4;
    const index = filter.dev === undefined ? undefined : await this.ctx.index(filter.dev, `list routes via ${linkName(filter.dev)}`);
    const replies = await this.ctx.socket.request(dumpRoutesRequest(family));
    return replies
      .map(parseRoute)
      .filter((r) => (filter.table === undefined || r.table === filter.table) && (index === undefined || r.dev === index));
  }

  /** `ip route get ADDRESS`: the output link, gateway and source the kernel would use. */
  async get(address: string): Promise<RouteInfo> {
    const req = getRouteRequest(address);
    const [first] = await this.ctx.socket.request(req);
    if (!first) throw new NetlinkError(req.what, 61 /* ENODATA */, 'the kernel sent no route');
    return parseRoute(first);
  }
}

export class RuleOps {
  constructor(private readonly ctx: RtnlContext) {}

  /** `ip rule add ...`: EEXIST if an identical rule exists. */
  async add(r: RuleSpec): Promise<void> {
    await this.ctx.socket.request(ruleRequest('add', r));
  }
  /** `ip rule del ...`: the first rule matching every given field goes. ENOENT if none. */
  async delete(r: RuleSpec): Promise<void> {
    await this.ctx.socket.request(ruleRequest('delete', r));
  }
  async list(family: 4 | 6 = 4): Promise<RuleInfo[]> {
    return (await this.ctx.socket.request(dumpRulesRequest(family))).map(parseRule);
  }
}

export interface FdbParams {
  dev: LinkRef;
  mac: string;
  dst?: string;
  vni?: number;
  port?: number;
}

export class FdbOps {
  constructor(private readonly ctx: RtnlContext) {}

  private async send(cmd: 'append' | 'delete', p: FdbParams): Promise<void> {
    const index = await this.ctx.index(p.dev, `${cmd} fdb ${p.mac} dev ${linkName(p.dev)}`);
    const { dev, ...rest } = p;
    await this.ctx.socket.request(fdbRequest(cmd, { ...rest, index }, linkName(dev)));
  }

  /** `bridge fdb append MAC dev DEV dst IP` (several dsts per MAC are allowed: flooding to each). */
  append(p: FdbParams): Promise<void> {
    return this.send('append', p);
  }
  delete(p: FdbParams): Promise<void> {
    return this.send('delete', p);
  }
  /** FDB entries, optionally of one device. */
  async list(filter: { dev?: LinkRef } = {}): Promise<FdbEntry[]> {
    const index = filter.dev === undefined ? undefined : await this.ctx.index(filter.dev, `list fdb of ${linkName(filter.dev)}`);
    const entries = (await this.ctx.socket.request(dumpFdbRequest())).map(parseFdb);
    return entries.filter((e) => index === undefined || e.index === index);
  }
}
