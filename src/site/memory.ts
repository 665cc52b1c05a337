/**
 * An in-memory SiteSystem that behaves like the kernel where a site can tell: names are unique per namespace,
 * a veth pair dies together (also when a namespace holding one end is deleted), masters must be bridges in the
 * same namespace, moves need the target namespace. `failWhen` injects a failure for testing rollback.
 */
import { sameIp } from '../net/ip.js';
import { describeAction, type Action } from './actions.js';
import { samePrefix, emptyNetns, type LinkState, type NetnsState, type SystemState } from './state.js';
import type { SiteSystem } from './system.js';
import { kindOfKernelKind, linkKind } from './kinds/index.js';

interface MemLink extends LinkState {
  id: number;
  peer?: number;
}

interface MemNetns extends Omit<NetnsState, 'links'> {
  links: MemLink[];
}

const HOST = '';
const DEFAULT_MTU = 1500;

export class MemorySiteSystem implements SiteSystem {
  /** Every action performed successfully, in order. */
  readonly performed: Action[] = [];
  failWhen: ((a: Action) => boolean) | undefined;
  private readonly spaces = new Map<string, MemNetns>([[HOST, { ...emptyNetns(), links: [] }]]);
  private nextId = 1;
  private underlay = new Map<string, number>();
  /** tunvpn interfaces with a mesh, and the vxlans whose FDB each keeps. */
  private readonly meshes = new Map<string, Set<string>>();

  /** Adds a pre-existing host link (e.g. the tunnel `tun0`). */
  addHostLink(link: Partial<LinkState> & { name: string }): void {
    this.space(undefined).links.push({ mtu: DEFAULT_MTU, up: true, addresses: [], ...link, id: this.nextId++ });
  }

  setUnderlayMtu(remote: string, mtu: number): void {
    this.underlay.set(remote, mtu);
  }

  /** Makes `tunnel` (a host link added with addHostLink) a tunvpn interface with a [Mesh] section. */
  addMesh(tunnel: string): void {
    this.meshes.set(tunnel, new Set());
  }

  /** The vxlans whose FDB the mesh of `tunnel` keeps. */
  meshFollowing(tunnel: string): string[] {
    return [...(this.meshes.get(tunnel) ?? [])].sort();
  }

  async snapshot(namespaces: readonly string[], _underlay?: readonly unknown[], meshes: readonly string[] = []): Promise<SystemState> {
    const strip = (ns: MemNetns): NetnsState => structuredClone({ ...ns, links: ns.links.map(({ id: _id, peer: _peer, ...rest }) => rest) });
    const netns = new Map<string, NetnsState>();
    for (const name of namespaces) {
      const ns = this.spaces.get(name);
      if (name !== HOST && ns) netns.set(name, strip(ns));
    }
    const state: SystemState = { host: strip(this.space(undefined)), netns, underlayMtu: new Map(this.underlay) };
    if (meshes.length) {
      state.meshes = new Map(
        meshes.map((m) => {
          const following = this.meshes.get(m);
          return [m, following ? { following: [...following].sort() } : { problem: `${m} is not a running tunvpn interface (no daemon answers on its socket)` }];
        }),
      );
    }
    return state;
  }

  async close(): Promise<void> {}

  /** Namespace names that exist (not the host). */
  namespaceNames(): string[] {
    return [...this.spaces.keys()].filter((k) => k !== HOST);
  }

  async perform(a: Action): Promise<void> {
    if (this.failWhen?.(a)) throw new Error(`injected failure: ${describeAction(a)}`);
    this.apply(a);
    this.performed.push(structuredClone(a));
  }

  private space(netns: string | undefined): MemNetns {
    const s = this.spaces.get(netns ?? HOST);
    if (!s) throw new Error(`ENOENT: netns ${netns} does not exist`);
    return s;
  }

  private link(netns: string | undefined, name: string): MemLink {
    const l = this.space(netns).links.find((x) => x.name === name);
    if (!l) throw new Error(`ENODEV: no link ${name}${netns ? ` in netns ${netns}` : ''}`);
    return l;
  }

  private addLink(netns: string | undefined, link: Omit<MemLink, 'id'>): MemLink {
    const space = this.space(netns);
    if (space.links.some((x) => x.name === link.name)) throw new Error(`EEXIST: link ${link.name} exists`);
    const l = { ...link, id: this.nextId++ };
    space.links.push(l);
    return l;
  }

  private removeLink(id: number): void {
    for (const space of this.spaces.values()) {
      const l = space.links.find((x) => x.id === id);
      if (!l) continue;
      space.links = space.links.filter((x) => x.id !== id);
      space.fdb = space.fdb.filter((f) => f.dev !== l.name);
      space.routes = space.routes.filter((r) => r.dev !== l.name);
      for (const x of space.links) if (x.master === l.name) delete x.master;
      for (const following of this.meshes.values()) following.delete(l.name);
      if (l.peer !== undefined) this.removeLink(l.peer);
      return;
    }
  }

  private apply(a: Action): void {
    switch (a.op) {
      case 'netns-add':
        if (this.spaces.has(a.name)) throw new Error(`EEXIST: netns ${a.name} exists`);
        this.spaces.set(a.name, { ...emptyNetns(), links: [{ id: this.nextId++, name: 'lo', mtu: 65536, up: false, addresses: [] }] });
        return;
      case 'netns-del': {
        const ns = this.spaces.get(a.name);
        if (!ns) return;
        for (const l of [...ns.links]) this.removeLink(l.id);
        this.spaces.delete(a.name);
        return;
      }
      case 'link-add': {
        const base = { mtu: DEFAULT_MTU, up: false, addresses: [] };
        const kind = linkKind(a.spec.kind);
        const lower = kind.lowerDevice?.(a.spec);
        if (lower !== undefined) this.link(undefined, lower);
        const peer = kind.pairedWith?.(a.spec);
        if (peer !== undefined) {
          const first = this.addLink(undefined, { ...base, name: a.name, kind: kind.kernelKind });
          const second = this.addLink(undefined, { ...base, name: peer, kind: kind.kernelKind, peer: first.id });
          first.peer = second.id;
          return;
        }
        const details = kind.reportedDetails?.(a.spec);
        this.addLink(undefined, { ...base, name: a.name, kind: kind.kernelKind, ...(details && { details }) });
        return;
      }
      case 'link-del': {
        const l = this.spaces.get(a.netns ?? HOST)?.links.find((x) => x.name === a.name);
        if (l) this.removeLink(l.id);
        return;
      }
      case 'link-move': {
        const from = this.space(a.netns);
        const l = this.link(a.netns, a.name);
        const to = this.space(a.to);
        if (to.links.some((x) => x.name === a.newName)) throw new Error(`EEXIST: ${a.newName} exists in the target`);
        from.links = from.links.filter((x) => x.id !== l.id);
        // Moving resets what belongs to the old namespace, as the kernel does.
        delete l.master;
        l.addresses = [];
        l.up = false;
        l.name = a.newName;
        to.links.push(l);
        return;
      }
      case 'link-set-master': {
        const l = this.link(a.netns, a.name);
        if (a.master === null) delete l.master;
        else {
          const m = this.link(a.netns, a.master);
          if (!kindOfKernelKind(m.kind)?.isBridge) throw new Error(`EOPNOTSUPP: ${a.master} is not a bridge`);
          l.master = a.master;
        }
        return;
      }
      case 'link-set-mtu':
        this.link(a.netns, a.name).mtu = a.mtu;
        return;
      case 'link-set-up':
        this.link(a.netns, a.name).up = a.up;
        return;
      case 'addr-add': {
        const l = this.link(a.netns, a.name);
        if (l.addresses.some((p) => samePrefix(p, a.prefix))) throw new Error('EEXIST: address exists');
        l.addresses.push(a.prefix);
        return;
      }
      case 'addr-del': {
        const l = this.spaces.get(a.netns ?? HOST)?.links.find((x) => x.name === a.name);
        if (l) l.addresses = l.addresses.filter((p) => !samePrefix(p, a.prefix));
        return;
      }
      case 'route-add': {
        const space = this.space(a.netns);
        if (a.dev) this.link(a.netns, a.dev);
        if (space.routes.some((r) => samePrefix(r.dst, a.dst))) throw new Error('EEXIST: route exists');
        space.routes.push({ dst: a.dst, ...(a.gateway && { gateway: a.gateway }), ...(a.dev && { dev: a.dev }) });
        return;
      }
      case 'route-del': {
        const space = this.spaces.get(a.netns ?? HOST);
        if (space) space.routes = space.routes.filter((r) => !samePrefix(r.dst, a.dst));
        return;
      }
      case 'fdb-add': {
        const space = this.space(a.netns);
        this.link(a.netns, a.dev);
        if (space.fdb.some((f) => f.dev === a.dev && f.lladdr === a.lladdr && f.dst && sameIp(f.dst, a.dst))) throw new Error('EEXIST: fdb entry exists');
        space.fdb.push({ dev: a.dev, lladdr: a.lladdr, dst: a.dst });
        return;
      }
      case 'fdb-del': {
        const space = this.spaces.get(a.netns ?? HOST);
        if (space) space.fdb = space.fdb.filter((f) => !(f.dev === a.dev && f.lladdr === a.lladdr && f.dst && sameIp(f.dst, a.dst)));
        return;
      }
      case 'mesh-follow': {
        const following = this.meshes.get(a.tunnel);
        if (!following) throw new Error(`ENOENT: ${a.tunnel} is not a running tunvpn interface`);
        if (!kindOfKernelKind(this.link(undefined, a.dev).kind)?.vtep) throw new Error(`EINVAL: ${a.dev} is not a vxlan`);
        following.add(a.dev);
        return;
      }
      case 'mesh-unfollow':
        this.meshes.get(a.tunnel)?.delete(a.dev);
        return;
    }
  }
}
