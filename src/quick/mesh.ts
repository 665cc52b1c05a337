/**
 * What the mesh (daemon/mesh.ts) takes from a wg-quick file: the [Mesh] settings, the [Peer]s it must never override,
 * the interface's addresses, and the file's Table rule, which mesh routes follow as static ones do (plan.ts):
 * `Table = auto` puts them in the main table (a member's /0 is refused, so no full-tunnel rules are ever needed),
 * `Table = N` in table N, `Table = off` adds none.
 */
import type { QuickConfig } from '../config/index.js';
import type { MeshInputs } from '../daemon/mesh.js';

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
