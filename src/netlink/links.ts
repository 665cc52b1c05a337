/** Link operations: list/get/exists, create (veth, bridge, vxlan, macvlan, ipvlan, vlan, geneve, tun, tap), delete, set. */
import { isNativeError } from '../native/errors.js';
import { nativeTun as native } from '../native/tun.js';
import type { RtnlContext } from './context.js';
import { NetlinkError } from './errors.js';
import {
  createLinkRequest,
  deleteLinkRequest,
  describeCreate,
  dumpLinksRequest,
  getLinkRequest,
  parseLink,
  setLinkRequest,
  type LinkChange,
  type LinkInfo,
} from './link-codec.js';
import { linkKindCodec, type LinkSpec, type ResolvedRefs, type TunSpec } from './link-kinds.js';
import { linkName, type LinkRef, type NetnsRef } from './link-ref.js';
import { netnsPath, openNetnsFd } from './netns.js';
import { checkIfName } from './validate.js';

/** What `set` can change; every field optional, applied in one RTM_NEWLINK. */
export interface LinkSettings {
  up?: boolean;
  mtu?: number;
  /** Enslave to this bridge; null releases it (nomaster). */
  master?: LinkRef | null;
  /** Move to another namespace (by name under /run/netns, or an open namespace fd). */
  netns?: NetnsRef;
  /** New name. */
  name?: string;
}

export class LinkOps {
  constructor(private readonly ctx: RtnlContext) {}

  /** Every link in the namespace, in ifindex order. */
  async list(): Promise<LinkInfo[]> {
    const replies = await this.ctx.socket.request(dumpLinksRequest());
    return replies.map(parseLink).sort((a, b) => a.index - b.index);
  }

  /** One link by name or index; rejects with NetlinkError code ENODEV when there is none. */
  async get(ref: LinkRef): Promise<LinkInfo> {
    const replies = await this.ctx.socket.request(getLinkRequest(ref, `get link ${linkName(ref)}`));
    const first = replies[0];
    if (!first) throw new NetlinkError(`get link ${linkName(ref)}`, 61 /* ENODATA */, 'the kernel sent no link');
    return parseLink(first);
  }

  async exists(ref: LinkRef): Promise<boolean> {
    try {
      await this.get(ref);
      return true;
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENODEV') return false;
      throw e;
    }
  }

  /**
   * Creates a link (EEXIST if the name is taken) and returns it as the kernel reports it. Names in the spec
   * (parent, dev) are resolved in this namespace; a veth peer can be created directly in another namespace.
   */
  async create(spec: LinkSpec): Promise<LinkInfo> {
    const op = describeCreate(spec);
    if (linkKindCodec(spec.kind)?.createdBy === 'tunsetiff') return this.createTun(spec as TunSpec);
    const named = linkKindCodec(spec.kind)?.references?.(spec) ?? {};
    const refs: ResolvedRefs = {};
    if (named.parent !== undefined) refs.parent = await this.ctx.index(named.parent, op, 'parent');
    if (named.dev !== undefined) refs.dev = await this.ctx.index(named.dev, op, 'dev');
    let fdToClose: number | undefined;
    if (typeof named.peerNetns === 'string') {
      fdToClose = openNetnsFd(named.peerNetns);
      refs.peerNetnsFd = fdToClose;
    }
    try {
      await this.ctx.socket.request(createLinkRequest(spec, refs));
    } finally {
      if (fdToClose !== undefined) native().close(fdToClose);
    }
    return this.get(spec.name);
  }

  /**
   * tun/tap: TUNSETIFF + TUNSETPERSIST in this namespace (the kernel refuses IFLA_INFO_KIND "tun" over
   * rtnetlink: "tun/tap creation via rtnetlink is not supported"). The device outlives the fd we close.
   */
  private async createTun(spec: TunSpec): Promise<LinkInfo> {
    const op = describeCreate(spec);
    const name = checkIfName(op, spec.name);
    if (await this.exists(name)) throw new NetlinkError(op, 17 /* EEXIST */, `link ${name} already exists`);
    const addon = native();
    const flags = (spec.kind === 'tap' ? addon.constants.IFF_TAP : addon.constants.IFF_TUN) | addon.constants.IFF_NO_PI;
    const make = () => {
      const { fd } = addon.tunOpen(name, flags);
      try {
        addon.tunSetPersist(fd, true);
      } finally {
        addon.close(fd);
      }
    };
    try {
      if (this.ctx.netns === undefined) make();
      else addon.withNetns(netnsPath(this.ctx.netns), make);
    } catch (e) {
      if (isNativeError(e)) throw new NetlinkError(op, e.errno, e.message);
      throw e;
    }
    if (spec.mtu !== undefined) await this.set(name, { mtu: spec.mtu });
    return this.get(name);
  }

  /** Deletes a link (a veth's peer goes with it; a persistent tun/tap too). */
  async delete(ref: LinkRef): Promise<void> {
    const op = `delete link ${linkName(ref)}`;
    const index = await this.ctx.index(ref, op);
    await this.ctx.socket.request(deleteLinkRequest(index, op));
  }

  /** `ip link set`: up/down, mtu, master/nomaster, netns, rename — in one request. */
  async set(ref: LinkRef, s: LinkSettings): Promise<void> {
    const op = describeSet(ref, s);
    const index = await this.ctx.index(ref, op);
    const change: LinkChange = {};
    if (s.up !== undefined) change.up = s.up;
    if (s.mtu !== undefined) change.mtu = s.mtu;
    if (s.name !== undefined) change.name = s.name;
    if (s.master !== undefined) change.master = s.master === null ? 0 : await this.ctx.index(s.master, op, 'master');
    let fdToClose: number | undefined;
    if (s.netns !== undefined) {
      if (typeof s.netns === 'number') change.netnsFd = s.netns;
      else change.netnsFd = fdToClose = openNetnsFd(s.netns);
    }
    try {
      await this.ctx.socket.request(setLinkRequest(index, change, op));
    } finally {
      if (fdToClose !== undefined) native().close(fdToClose);
    }
  }

  up(ref: LinkRef): Promise<void> {
    return this.set(ref, { up: true });
  }

  down(ref: LinkRef): Promise<void> {
    return this.set(ref, { up: false });
  }
}

function describeSet(ref: LinkRef, s: LinkSettings): string {
  const parts: string[] = [];
  if (s.up !== undefined) parts.push(s.up ? 'up' : 'down');
  if (s.mtu !== undefined) parts.push(`mtu ${s.mtu}`);
  if (s.master !== undefined) parts.push(s.master === null ? 'nomaster' : `master ${linkName(s.master)}`);
  if (s.netns !== undefined) parts.push(`netns ${s.netns}`);
  if (s.name !== undefined) parts.push(`name ${s.name}`);
  return `set link ${linkName(ref)}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}
