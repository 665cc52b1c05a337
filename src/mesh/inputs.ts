/**
 * What the mesh is built from (MeshInputs), and how a wg-quick file gives it (meshInputs): the [Mesh] settings, the
 * [Peer]s it must never override, the interface's addresses, and the file's Table rule, which mesh routes follow as
 * static ones do (quick/plan.ts): `Table = auto` puts them in the main table (a member's /0 is refused, so no
 * full-tunnel rules are ever needed), `Table = N` in table N, `Table = off` adds none. tunvpnd builds its own from
 * what `wg` set (daemon/runtime.ts).
 */
import type { QuickConfig } from '../config/index.js';
import type { MeshSettings } from '../config/mesh.js';
import type { Prefix } from '../net/ip.js';
import type { StaticPeer } from './reconcile.js';

/** What the mesh is built from: the [Mesh] section and the parts of the interface it depends on. */
export interface MeshInputs {
  settings: MeshSettings;
  /** The file's [Peer]s: a member never overrides one (reconcile.ts). */
  staticPeers: readonly StaticPeer[];
  /** The interface's Address entries: the default AllowedIPs, and networks that need no route. */
  addresses: readonly Prefix[];
  /** Routes for members' AllowedIPs: absent = none (Table = off); `table` absent = main (Table = auto). */
  routes?: { table?: number };
  /** The UDP port of the default Endpoint when it is about to change (a reload); default: the device's port. */
  listenPort?: number;
}

/** The mesh inputs of `config`, or undefined when it has no [Mesh]. `listenPort`: the port about to be used. */
export function meshInputs(config: QuickConfig, listenPort?: number): MeshInputs | undefined {
  if (!config.mesh) return undefined;
  const table = config.interface.table;
  return {
    settings: config.mesh,
    staticPeers: config.peers.map((p) => ({ publicKey: p.publicKey, allowedIPs: p.allowedIPs, label: `[Peer] at ${config.file}:${p.line}` })),
    addresses: config.interface.addresses,
    ...(table !== 'off' && { routes: typeof table === 'number' ? { table } : {} }),
    ...(listenPort !== undefined && { listenPort }),
  };
}
