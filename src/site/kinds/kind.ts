/**
 * The one place a site link kind is described: `LinkKind`, a descriptor each kind file (bridge.ts, vxlan.ts, ...)
 * exports and kinds/index.ts registers. The rest of site/ reads descriptors and never names a kind:
 *   parse.ts       `section`, `keys`, `repeatable`, `parse`        (the [Section] and its FILE:LINE errors)
 *   validate.ts    `ends`, `validate`, `isBridge`                   (names per namespace, cross-references)
 *   desired.ts     `stage`, `ownMtu`, `derive`, `underlayProbes`, `meshTunnel`, `label`
 *   actions.ts     `describe`                                        ("create vxlan vx0 id 42 ...")
 *   plan.ts        `kernelKind`                                      (a link of another kind is a conflict)
 *   memory.ts      `kernelKind`, `lowerDevice`, `pairedWith`, `reportedDetails`, `isBridge`, `vtep`
 *   netlink-system `toNetlink`, `fromKernel`, `vtep`                 (src/netlink's LinkSpec and LinkInfo)
 */
import type { IpAddress, Prefix } from '../../net/ip.js';
import type { LinkInfo, LinkSpec } from '../../netlink/index.js';
import type { SectionReader } from '../section.js';
import type { LinkDetails, SystemState } from '../state.js';

/** VXLAN and Geneve network identifiers are 24-bit (RFC 7348, RFC 8926). */
export const VNI_MAX = 2 ** 24 - 1;

/** What every link section has: Name (its line is the section header's), Address and MTU. */
export interface CommonFields {
  name: string;
  /** Line of the section header. */
  line: number;
  address?: Prefix;
  mtu?: number;
}

/**
 * A parsed link declaration. `namespace` and `bridge` are read by the generic stages (names per namespace, bridge
 * ports); a kind without such a key never sets them. Namespace fields name a declared [Namespace]; undefined is
 * the host.
 */
export interface LinkDeclBase extends CommonFields {
  kind: string;
  /** Namespace of the `Name` end. */
  namespace?: string;
  /** The [Bridge] the `Name` end is enslaved to. */
  bridge?: string;
}

/** How to create one link on the host (it is moved afterwards when it belongs in a namespace). */
export interface CreateSpecBase {
  kind: string;
}

/** One interface a declaration puts somewhere: in `netns` (undefined = host), named by the section's `key`. */
export interface LinkEnd {
  netns: string | undefined;
  name: string;
  /** The key whose line an error about this end points at ('name', 'peer'). */
  key: string;
}

/** What `parse` gets besides the section: namespace references with the run's prefix applied. */
export interface ParseContext {
  /** The namespace `key` names, with ParseSiteOptions.namespacePrefix; undefined when the key is absent. */
  namespace(key: string): string | undefined;
}

/** Cross-reference checks a kind may use; each fails with `FILE:LINE: message` at the key's line. */
export interface ValidateContext {
  fail(decl: LinkDeclBase, key: string, message: string): never;
  /** `bridge` (when given) names a declared bridge; fails at the decl's Bridge line otherwise. */
  checkBridge(decl: LinkDeclBase, bridge: string | undefined): void;
  /** `netns` (when given) names a declared [Namespace]; fails at `key`'s line otherwise. */
  checkNamespace(decl: LinkDeclBase, key: string, netns: string | undefined): void;
  /** Claims `id` for `decl`; a second claim fails at `key` with `message(first claimant)`. */
  claim(id: string, decl: LinkDeclBase, key: string, message: (first: LinkDeclBase) => string): void;
}

/** What `ownMtu` may consult. */
export interface MtuContext {
  state: SystemState;
  /** The MTU= of a declared link that ends up on the host, or undefined (not declared there, or no MTU=). */
  declaredHostMtu(name: string): number | undefined;
}

/** A bridge FDB entry the site adds (on a vxlan: all-zero lladdr + dst = a head-end replication target). */
export interface DesiredFdb {
  dev: string;
  lladdr: string;
  dst: IpAddress;
}

/** A vxlan whose FDB the daemon of tunvpn interface `tunnel` keeps (`Remote = mesh`). */
export interface DesiredMeshFollow {
  tunnel: string;
  dev: string;
  vtep: IpAddress;
  origin: string;
}

/** What `derive` gets: the MTUs already derived, names, and where to put what is not a link. */
export interface DeriveContext {
  /** "[Vxlan] vx-lan (line 6)": where the declaration is, for messages. */
  origin: string;
  /** The kind's `ownMtu` result for this declaration (undefined for kinds without one). */
  ownMtu: number | undefined;
  /** A bridge's MTU: its MTU=, else the minimum of its ports' known MTUs, else 1500. */
  bridgeMtu(bridge: string): number | undefined;
  /** MTU of a bridge port: its own MTU=, else its bridge's, else undefined (not managed). */
  portMtu(own: number | undefined, bridge: string | undefined): number | undefined;
  /** The name a link has on the host before its move into `netns` (its own name for host links). */
  hostNameFor(netns: string | undefined, name: string): string;
  /** The site relies on host link `name`; undeclared ones must exist at apply time ("Parent of [Vlan] v (line 3)"). */
  needOnHost(name: string, usedBy: string): void;
  addFdb(entry: DesiredFdb): void;
  addMeshFollow(follow: DesiredMeshFollow): void;
}

/** One link as its kind derives it; desired.ts adds the kind and the origin. */
export interface DerivedLink<S extends CreateSpecBase> {
  /** Final namespace; undefined = host. */
  netns?: string;
  name: string;
  /** The name it has on the host before being moved into `netns` (equals `name` for host links). */
  hostName: string;
  /** How to create it; absent for a pair's second end (created with the first). */
  spec?: S;
  master?: string;
  mtu?: number;
  addresses: Prefix[];
  /** What identifies it (compared against the state; a mismatch is a conflict). */
  details: LinkDetails;
}

/**
 * Creation order across kinds: bridges ('masters'), standalone devices such as tunnels and taps ('devices'),
 * pairs ('pairs'), links stacked on a parent ('stacked'); deletion runs in reverse.
 */
export type CreateStage = 'masters' | 'devices' | 'pairs' | 'stacked';
export const CREATE_STAGES: readonly CreateStage[] = ['masters', 'devices', 'pairs', 'stacked'];

/**
 * A site link kind. `D` is its parsed declaration, `S` its create spec. Hooks are methods so that a registry of
 * different kinds can hold them side by side; the optional ones default to "nothing of the sort".
 */
export interface LinkKind<D extends LinkDeclBase, S extends CreateSpecBase> {
  /** `kind` of its declarations, desired links and create specs ('vxlan'). */
  readonly kind: D['kind'];
  /** Section name as written in docs and messages ('Vxlan'); matched case-insensitively. */
  readonly label: string;
  /** Keys the section allows, lower case (Name, Address and MTU included). */
  readonly keys: readonly string[];
  /** Keys that may repeat (lower case). */
  readonly repeatable?: readonly string[];
  /** IFLA_INFO_KIND the kernel reports for it (a tap is a 'tun'). */
  readonly kernelKind: string;
  readonly stage: CreateStage;
  /** Other links can be enslaved to it (Bridge=). */
  readonly isBridge?: boolean;
  /** A VTEP: its bridge FDB holds head-end replication entries, and a mesh can keep them (`Remote = mesh`). */
  readonly vtep?: boolean;

  /** The declaration, after the common fields; errors through `r.fail` (FILE:LINE). */
  parse(r: SectionReader, common: CommonFields, ctx: ParseContext): D;
  /** The interfaces it puts in place, for unique names per namespace. */
  ends(d: D): LinkEnd[];
  /** Cross-reference checks, in the order their errors should win. */
  validate?(d: D, ctx: ValidateContext): void;
  /** An MTU derived from the underlay (tunnels), also used as a bridge port's MTU. */
  ownMtu?(d: D, ctx: MtuContext): number;
  /** The links it stands for, in creation order. */
  derive(d: D, ctx: DeriveContext): DerivedLink<S>[];
  /** Underlay addresses whose routed device's MTU `ownMtu` wants in `SystemState.underlayMtu`. */
  underlayProbes?(d: D): IpAddress[];
  /** The tunvpn interface whose mesh keeps its FDB (`Remote = mesh`). */
  meshTunnel?(d: D): string | undefined;

  /** "vxlan vx0 id 42 local 10.0.0.1 dstport 4789 dev tun0": the create step as logged. */
  describe(name: string, spec: S): string;
  /** The host link the spec needs to exist (Parent=, Dev=), for the in-memory system. */
  lowerDevice?(spec: S): string | undefined;
  /** The second end created with it (a veth's peer). */
  pairedWith?(spec: S): string | undefined;
  /** What the kernel reports about a link created from `spec` (the in-memory system's snapshot). */
  reportedDetails?(spec: S): LinkDetails | undefined;
  /** The rtnetlink create spec. */
  toNetlink(name: string, spec: S): LinkSpec;
  /** Identifying details from a kernel link of this kind; `nameOf` maps an ifindex to its name on the host. */
  fromKernel?(info: LinkInfo, nameOf: (index: number) => string | undefined): LinkDetails | undefined;
}

/** `{ [key]: value }` when value is defined, `{}` otherwise: keeps optional fields absent rather than undefined. */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The one end of a single-interface kind: `Name`, in its `Namespace` (or on the host). */
export function nameEnd(d: LinkDeclBase): LinkEnd[] {
  return [{ netns: d.namespace, name: d.name, key: 'name' }];
}

/** The declared Address as a list (empty without one). */
export function addressList(p: Prefix | undefined): Prefix[] {
  return p ? [p] : [];
}
