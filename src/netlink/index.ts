/**
 * rtnetlink for tunvpn: our own codec and socket over the addon's AF_NETLINK socket.
 *
 * - `Rtnl.open({ netns? })` → links / addresses / routes / rules / fdb operations (see rtnl.ts).
 * - `netns` (create/delete/list/exists/path) for named namespaces under /run/netns.
 * - Pure request builders and decoders (`*Request`, `parse*`) for tests and planners: no addon needed.
 * - Errors: NetlinkError (kernel said no; `code` is the errno name), NetlinkArgumentError, NetlinkDecodeError.
 */
export { Rtnl, type RtnlOptions } from './rtnl.js';
export { LinkOps, type LinkSettings } from './links.js';
export { AddressOps, RouteOps, RuleOps, FdbOps, type RouteParams, type FdbParams } from './ops.js';
export { NetlinkSocket } from './socket.js';
export { openNativeChannel, type NetlinkChannel } from './channel.js';
export {
  netns, createNetns, deleteNetns, listNetns, netnsExists, netnsPath, openNetnsFd, openSelfNetnsFd, closeNetnsFd, inNetns,
  checkNetnsName, NETNS_RUN_DIR, SELF_NETNS_PATH,
} from './netns.js';
export { NetlinkError, NetlinkArgumentError, NetlinkDecodeError, isNetlinkError, errnoName, ignoreGone, ALREADY_GONE } from './errors.js';
export type { LinkInfo } from './link-codec.js';
export type { LinkRef, IndexedLink, NetnsRef } from './link-ref.js';
export type {
  LinkSpec,
  LinkKind,
  VxlanInfo,
  VethSpec,
  BridgeSpec,
  VxlanSpec,
  MacvlanSpec,
  IpvlanSpec,
  VlanSpec,
  GeneveSpec,
  TunSpec,
  MacvlanMode,
  IpvlanMode,
} from './link-kinds.js';
export { createLinkRequest, setLinkRequest, deleteLinkRequest, getLinkRequest, dumpLinksRequest, parseLink } from './link-codec.js';
export { linkName } from './link-ref.js';
export { addAddressRequest, deleteAddressRequest, dumpAddressesRequest, parseAddress, type AddressInfo, type AddressOptions } from './addr-codec.js';
export { routeRequest, getRouteRequest, dumpRoutesRequest, parseRoute, type RouteSpec, type RouteInfo } from './route-codec.js';
export { ruleRequest, dumpRulesRequest, parseRule, type RuleSpec, type RuleInfo } from './rule-codec.js';
export { fdbRequest, dumpFdbRequest, parseFdb, type FdbSpec, type FdbEntry } from './fdb-codec.js';
export { frame, parseMessages, parseError, type NlRequest, type NlMessage, type NlError } from './message.js';
export { Attrs, parseAttrs, attr, attrU8, attrU16, attrU32, attrU16be, attrU32be, attrString, attrNest, type RawAttr } from './attr.js';
export * as rt from './constants.js';
export * as ifla from './if-link.js';
