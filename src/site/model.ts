/**
 * What a site file declares, after parsing and validation. Every declaration keeps the line of its section header
 * so later stages can still point at the file. Namespace fields name a declared [Namespace]; `undefined` means the
 * host (the namespace `site up` runs in, or the one the caller hands in). The link declarations are the kinds'
 * own (kinds/: one file per kind, registered in kinds/index.ts).
 */
import type { IpAddress, Prefix } from '../net/ip.js';
import type { LinkDecl } from './kinds/index.js';

export interface NamespaceDecl {
  kind: 'namespace';
  name: string;
  /** Line of the section header. */
  line: number;
  /** Joined to this bridge by a veth pair: host end `vethHostName(name)`, inside end `NAMESPACE_IFNAME`. */
  bridge?: string;
  address?: Prefix;
  gateway?: IpAddress;
  mtu?: number;
}

export interface Site {
  file: string;
  namespaces: NamespaceDecl[];
  /** In file order. */
  links: LinkDecl[];
}
