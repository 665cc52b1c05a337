/**
 * The SiteSystem over rtnetlink (src/netlink). The "host" is the namespace given as `host` (a name under
 * /run/netns: how tests keep off the real root namespace) or, without it, the process's own namespace. Links
 * inside a site namespace are configured from inside: one Rtnl opened in that namespace, cached until the
 * namespace is deleted (an open socket would keep a deleted namespace, and its veth ends, alive).
 */
import { closeNetnsFd, createNetns, deleteNetns, ignoreGone, openSelfNetnsFd, isNetlinkError, netnsExists, Rtnl, type LinkInfo, type NetnsRef } from '../netlink/index.js';
import { formatIp, formatPrefix, parseIp, parsePrefix, type IpAddress } from '../net/ip.js';
import type { Action } from './actions.js';
import { kindOfKernelKind, linkKind } from './kinds/index.js';
import type { FdbState, LinkState, NetnsState, RouteState, SystemState } from './state.js';
import type { SiteSystem } from './system.js';
import { withClient } from '../uapi/client.js';
import { EOPNOTSUPP, EPROTO, UapiError } from '../uapi/errors.js';
import { DEFAULT_SOCKET_DIR } from '../uapi/paths.js';

/** The main routing table (RT_TABLE_MAIN): the only one a site writes to. */
const RT_TABLE_MAIN = 254;
/** The process's own network namespace, for moving a link back to a host that is not under /run/netns. */
/** errno names that mean "already gone" when deleting. */

export interface NetlinkSiteSystemOptions {
  /** Treat this /run/netns namespace as the host (default: the process's own namespace). */
  host?: string;
  /** Where the tunvpn daemons' UAPI sockets are (`Remote = mesh`); default /var/run/wireguard. */
  socketDir?: string;
}

/** Connection errors that mean "no daemon serves this interface". */
const NO_DAEMON = new Set(['ENOENT', 'ECONNREFUSED']);

export class NetlinkSiteSystem implements SiteSystem {
  private readonly host: string | undefined;
  private readonly socketDir: string;
  private readonly sockets = new Map<string, Rtnl>();

  constructor(opts: NetlinkSiteSystemOptions = {}) {
    this.host = opts.host;
    this.socketDir = opts.socketDir ?? DEFAULT_SOCKET_DIR;
  }

  /** The Rtnl for a site namespace (undefined = the host). */
  private rtnl(netns: string | undefined): Rtnl {
    const target = netns ?? this.host;
    const key = target ?? '';
    let r = this.sockets.get(key);
    if (!r) {
      r = Rtnl.open(target === undefined ? {} : { netns: target });
      this.sockets.set(key, r);
    }
    return r;
  }

  private release(netns: string): void {
    this.sockets.get(netns)?.close();
    this.sockets.delete(netns);
  }

  async snapshot(namespaces: readonly string[], underlay: readonly IpAddress[] = [], meshes: readonly string[] = []): Promise<SystemState> {
    const { state: host, byIndex } = await this.readNetns(undefined, true);
    const netns = new Map<string, NetnsState>();
    for (const name of namespaces) if (netnsExists(name)) netns.set(name, (await this.readNetns(name, false)).state);
    const underlayMtu = new Map<string, number>();
    for (const addr of underlay) {
      const text = formatIp(addr);
      try {
        const route = await this.rtnl(undefined).routes.get(text);
        const mtu = route.mtu ?? (route.dev === undefined ? undefined : byIndex.get(route.dev)?.mtu);
        if (mtu !== undefined) underlayMtu.set(text, mtu);
      } catch (e) {
        if (!isNetlinkError(e)) throw e; // no route: the default MTU applies
      }
    }
    const state: SystemState = { host, netns, underlayMtu };
    if (meshes.length) {
      state.meshes = new Map();
      for (const tunnel of meshes) state.meshes.set(tunnel, await this.askMesh(tunnel));
    }
    return state;
  }

  /** Which vxlans the daemon of `tunnel` keeps the FDB of (tunvpn's `mesh=1`), or why that cannot be asked. */
  private async askMesh(tunnel: string): Promise<{ following: string[] } | { problem: string }> {
    try {
      const status = await withClient(tunnel, { dir: this.socketDir }, (c) => c.mesh());
      if (status === null) return { problem: `${tunnel} is in no mesh (its configuration has no [Mesh] section)` };
      return { following: status.vtepDevices };
    } catch (e) {
      if (NO_DAEMON.has((e as NodeJS.ErrnoException).code ?? '')) return { problem: `${tunnel} is not a running tunvpn interface (no daemon answers on its socket)` };
      if (e instanceof UapiError && e.errno === EPROTO) return { problem: `the daemon of ${tunnel} does not keep meshes (not tunvpn up?)` };
      return { problem: `asking the daemon of ${tunnel}: ${(e as Error).message}` };
    }
  }

  /** Tells the daemon of `tunvpn` to keep (or stop keeping) the FDB of vxlan `dev` (tunvpn's `vtep=1`). */
  private async meshFollow(tunnel: string, dev: string, vtep: IpAddress | undefined): Promise<void> {
    let reply: { errno: number; messages: string[] };
    try {
      reply = await withClient(tunnel, { dir: this.socketDir }, (c) => c.vtep(vtep ? { device: dev, remove: false, address: vtep } : { device: dev, remove: true }));
    } catch (e) {
      // Unfollowing where no daemon runs any more: nothing is kept, which is what was asked.
      if (!vtep && NO_DAEMON.has((e as NodeJS.ErrnoException).code ?? '')) return;
      throw e;
    }
    if (reply.errno === 0 || (!vtep && reply.errno === EOPNOTSUPP)) return;
    throw new Error(`the daemon of ${tunnel}: ${reply.messages.join('; ')}`);
  }

  private async readNetns(netns: string | undefined, withFdb: boolean): Promise<{ state: NetnsState; byIndex: Map<number, LinkState> }> {
    const rtnl = this.rtnl(netns);
    const infos = await rtnl.links.list();
    const nameOf = new Map(infos.map((l) => [l.index, l.name]));
    const byIndex = new Map(infos.map((l) => [l.index, toLinkState(l, nameOf)]));
    for (const a of await rtnl.addresses.list()) {
      const p = parsePrefix(`${a.address}/${a.prefixLen}`);
      if (p) byIndex.get(a.index)?.addresses.push(p);
    }
    const routes: RouteState[] = [];
    for (const family of [4, 6] as const) {
      for (const r of await rtnl.routes.list({ family, table: RT_TABLE_MAIN })) {
        const dst = parsePrefix(r.dst);
        if (!dst) continue;
        const gateway = r.gateway === undefined ? undefined : parseIp(r.gateway);
        const dev = r.dev === undefined ? undefined : nameOf.get(r.dev);
        routes.push({ dst, ...(gateway && { gateway }), ...(dev !== undefined && { dev }) });
      }
    }
    const fdb: FdbState[] = [];
    const vteps = new Set(infos.filter((l) => kindOfKernelKind(l.kind)?.vtep).map((l) => l.index));
    if (withFdb && vteps.size > 0) {
      for (const e of await rtnl.fdb.list()) {
        if (!vteps.has(e.index)) continue;
        const dst = e.dst === undefined ? undefined : parseIp(e.dst);
        fdb.push({ dev: nameOf.get(e.index)!, lladdr: e.mac, ...(dst && { dst }) });
      }
    }
    return { state: { links: [...byIndex.values()], routes, fdb }, byIndex };
  }

  async perform(a: Action): Promise<void> {
    switch (a.op) {
      case 'netns-add':
        createNetns(a.name);
        return;
      case 'netns-del':
        this.release(a.name);
        if (netnsExists(a.name)) deleteNetns(a.name);
        return;
      case 'link-add':
        await this.rtnl(undefined).links.create(linkKind(a.spec.kind).toNetlink(a.name, a.spec));
        return;
      case 'link-del':
        if (a.netns !== undefined && !netnsExists(a.netns)) return;
        return ignoreGone(this.rtnl(a.netns).links.delete(a.name));
      case 'link-move':
        return this.move(a.netns, a.name, a.to, a.newName);
      case 'link-set-master':
        return this.rtnl(a.netns).links.set(a.name, { master: a.master });
      case 'link-set-mtu':
        return this.rtnl(a.netns).links.set(a.name, { mtu: a.mtu });
      case 'link-set-up':
        return this.rtnl(a.netns).links.set(a.name, { up: a.up });
      case 'addr-add':
        return this.rtnl(a.netns).addresses.add(a.name, formatPrefix(a.prefix));
      case 'addr-del':
        if (a.netns !== undefined && !netnsExists(a.netns)) return;
        return ignoreGone(this.rtnl(a.netns).addresses.delete(a.name, formatPrefix(a.prefix)));
      case 'route-add':
      case 'route-del': {
        if (a.op === 'route-del' && a.netns !== undefined && !netnsExists(a.netns)) return;
        const r = {
          dst: formatPrefix(a.dst),
          ...(a.gateway && { gateway: formatIp(a.gateway) }),
          ...(a.dev !== undefined && { dev: a.dev }),
        };
        const routes = this.rtnl(a.netns).routes;
        return a.op === 'route-add' ? routes.add(r) : ignoreGone(routes.delete(r));
      }
      case 'fdb-add':
        return this.rtnl(a.netns).fdb.append({ dev: a.dev, mac: a.lladdr, dst: formatIp(a.dst) });
      case 'fdb-del':
        return ignoreGone(this.rtnl(a.netns).fdb.delete({ dev: a.dev, mac: a.lladdr, dst: formatIp(a.dst) }));
      case 'mesh-follow':
        return this.meshFollow(a.tunnel, a.dev, a.vtep);
      case 'mesh-unfollow':
        return this.meshFollow(a.tunnel, a.dev, undefined);
    }
  }

  /** Moves and renames in one RTM_NEWLINK (IFLA_NET_NS_FD + IFLA_IFNAME), so the final name never meets the host. */
  private async move(from: string | undefined, name: string, to: string | undefined, newName: string): Promise<void> {
    const target = to ?? this.host;
    if (target !== undefined) {
      await this.rtnl(from).links.set(name, { netns: target, name: newName });
      return;
    }
    const fd: NetnsRef = openSelfNetnsFd();
    try {
      await this.rtnl(from).links.set(name, { netns: fd, name: newName });
    } finally {
      closeNetnsFd(fd);
    }
  }

  async close(): Promise<void> {
    for (const r of this.sockets.values()) r.close();
    this.sockets.clear();
  }
}


function toLinkState(l: LinkInfo, nameOf: Map<number, string>): LinkState {
  const s: LinkState = { name: l.name, mtu: l.mtu, up: l.up, addresses: [] };
  if (l.kind !== undefined) s.kind = l.kind;
  if (l.master !== undefined) {
    const m = nameOf.get(l.master);
    if (m !== undefined) s.master = m;
  }
  const details = kindOfKernelKind(l.kind)?.fromKernel?.(l, (index) => nameOf.get(index));
  if (details) s.details = details;
  return s;
}
