/**
 * System changes as data: the planner emits them, a SiteSystem performs them, tests compare them. Every action
 * names the namespace it happens in (`netns` undefined = the host) and has a one-line human description.
 */
import { formatIp, formatPrefix, type IpAddress, type Prefix } from '../net/ip.js';
import { linkKind, type CreateSpec } from './kinds/index.js';

export type Action =
  | { op: 'netns-add'; name: string }
  | { op: 'netns-del'; name: string }
  | { op: 'link-add'; name: string; spec: CreateSpec }
  | { op: 'link-del'; netns?: string; name: string }
  /** Move `name` from `netns` (undefined = host) into `to` (undefined = host), renaming it to `newName`. */
  | { op: 'link-move'; netns?: string; name: string; to?: string; newName: string }
  | { op: 'link-set-master'; netns?: string; name: string; master: string | null }
  | { op: 'link-set-mtu'; netns?: string; name: string; mtu: number }
  | { op: 'link-set-up'; netns?: string; name: string; up: boolean }
  | { op: 'addr-add' | 'addr-del'; netns?: string; name: string; prefix: Prefix }
  | { op: 'route-add' | 'route-del'; netns?: string; dst: Prefix; gateway?: IpAddress; dev?: string }
  | { op: 'fdb-add' | 'fdb-del'; netns?: string; dev: string; lladdr: string; dst: IpAddress }
  /**
   * `Remote = mesh`: the daemon of tunvpn interface `tunnel` keeps the FDB of vxlan `dev` (one all-zeros entry per
   * member VTEP) and announces `vtep` as this node's (tunvpn's `vtep=1` UAPI extension); unfollow ends that.
   */
  | { op: 'mesh-follow'; tunnel: string; dev: string; vtep: IpAddress }
  | { op: 'mesh-unfollow'; tunnel: string; dev: string };

function where(netns: string | undefined): string {
  return netns === undefined ? '' : ` (netns ${netns})`;
}

/** "vxlan vx0 id 42 dstport 4789": how a create step reads in logs (its kind's `describe`). */
export function describeSpec(name: string, spec: CreateSpec): string {
  return linkKind(spec.kind).describe(name, spec);
}

function describeRoute(a: { dst: Prefix; gateway?: IpAddress; dev?: string }): string {
  const dst = a.dst.bits === 0 ? 'default' : formatPrefix(a.dst);
  return `${dst}${a.gateway ? ` via ${formatIp(a.gateway)}` : ''}${a.dev ? ` dev ${a.dev}` : ''}`;
}

export function describeAction(a: Action): string {
  switch (a.op) {
    case 'netns-add':
      return `create netns ${a.name}`;
    case 'netns-del':
      return `delete netns ${a.name}`;
    case 'link-add':
      return `create ${describeSpec(a.name, a.spec)}`;
    case 'link-del':
      return `delete link ${a.name}${where(a.netns)}`;
    case 'link-move': {
      const target = a.to === undefined ? 'the host' : `netns ${a.to}`;
      return `move ${a.name}${where(a.netns)} into ${target} as ${a.newName}`;
    }
    case 'link-set-master':
      return a.master === null ? `release ${a.name} from its master${where(a.netns)}` : `enslave ${a.name} to ${a.master}${where(a.netns)}`;
    case 'link-set-mtu':
      return `set mtu ${a.mtu} on ${a.name}${where(a.netns)}`;
    case 'link-set-up':
      return `set ${a.name} ${a.up ? 'up' : 'down'}${where(a.netns)}`;
    case 'addr-add':
      return `add address ${formatPrefix(a.prefix)} to ${a.name}${where(a.netns)}`;
    case 'addr-del':
      return `delete address ${formatPrefix(a.prefix)} from ${a.name}${where(a.netns)}`;
    case 'route-add':
      return `add route ${describeRoute(a)}${where(a.netns)}`;
    case 'route-del':
      return `delete route ${describeRoute(a)}${where(a.netns)}`;
    case 'fdb-add':
      return `append fdb ${a.lladdr} dst ${formatIp(a.dst)} on ${a.dev}${where(a.netns)}`;
    case 'fdb-del':
      return `delete fdb ${a.lladdr} dst ${formatIp(a.dst)} on ${a.dev}${where(a.netns)}`;
    case 'mesh-follow':
      return `let the mesh of ${a.tunnel} keep the FDB of ${a.dev} (VTEP ${formatIp(a.vtep)})`;
    case 'mesh-unfollow':
      return `stop the mesh of ${a.tunnel} keeping the FDB of ${a.dev}`;
  }
}
