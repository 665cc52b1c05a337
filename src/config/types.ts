/**
 * The parsed form of a wg-quick configuration file, and the error that lists everything wrong with one.
 *
 * A `QuickConfig` is what `parseConfig` returns when the file has no errors. Everything in it is validated and
 * normalised: keys are bytes, addresses are `Prefix`es, numbers are numbers. Optional fields are absent when the
 * file did not set them (or set them to their "off" value), so consumers never re-interpret text.
 */
import type { IpAddress, Prefix } from '../net/ip.js';
import type { MeshSettings } from './mesh.js';

export interface QuickConfig {
  /** The file name exactly as given (used in every message). */
  file: string;
  interface: InterfaceConfig;
  peers: PeerConfig[];
  /** tunvpn's [Mesh] section (config/mesh.ts), when the file has one: this node joins the mesh on etcd. */
  mesh?: MeshSettings;
  /** "FILE:LINE: message" lines about things that work but deserve attention. Never contain secrets. */
  warnings: string[];
}

export interface InterfaceConfig {
  /** Line of the [Interface] header. */
  line: number;
  /** 32 bytes, as written (not re-clamped: X25519 clamps when it uses the key). */
  privateKey: Uint8Array;
  /** Derived from privateKey. */
  publicKey: Uint8Array;
  /** Interface addresses with host bits kept (10.0.0.1/24); a bare address is /32 or /128. */
  addresses: Prefix[];
  /** 1..65535; absent when unset or 0 (both mean "pick a random port"). */
  listenPort?: number;
  /** Bytes; absent means "choose automatically" (wg-quick: route MTU minus 80). */
  mtu?: number;
  /** Routing table for AllowedIPs routes: 'auto' (default), 'off' (add none), or a table id 1..2^32-1. */
  table: 'auto' | 'off' | number;
  /** Firewall mark on outgoing UDP packets, 1..2^32-1; absent when unset, 0 or 'off'. */
  fwMark?: number;
  /** DNS = entries split into resolver addresses and search domains, in file order. */
  dns: { servers: IpAddress[]; search: string[] };
  /** Shell commands, in file order; each repeated key adds one. */
  preUp: string[];
  postUp: string[];
  preDown: string[];
  postDown: string[];
  /** Accepted for compatibility; tunvpn never rewrites the file (a warning says so when true). */
  saveConfig: boolean;
}

export interface PeerConfig {
  /** Line of this [Peer] header. */
  line: number;
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  /**
   * Network prefixes with host bits cleared (as `wg` does), in file order, without duplicates: a prefix listed twice
   * counts at its last place, the order the kernel and wireguard-go list it in. A prefix that a later peer also
   * lists stays here as written, but belongs to that later peer once applied (as with wg; checks.ts warns).
   */
  allowedIPs: Prefix[];
  /**
   * As written: `host` is an IPv4/IPv6 literal (no brackets) or a hostname; `zone`, after an IPv6 literal's '%', a
   * scope id or an interface name (resolved to its index when applied); see resolveEndpoints.
   */
  endpoint?: { host: string; port: number; zone?: string };
  /** Seconds, 1..65535; absent when unset, 0 or 'off'. */
  persistentKeepalive?: number;
}

export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem concerns the whole file (e.g. it cannot be read). */
  line: number;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}: ${p.message}` : `${p.file}: ${p.message}`;
}

/** Every error found in a configuration, in line order. `message` is all of them, one "FILE:LINE: msg" a line. */
export class ConfigError extends Error {
  readonly errors: ConfigProblem[];

  constructor(errors: ConfigProblem[]) {
    const sorted = [...errors].sort((a, b) => a.line - b.line);
    super(sorted.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.errors = sorted;
  }
}
