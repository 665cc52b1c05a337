/**
 * What a reload changes in the mesh, compared between the old and the new MeshInputs: whether the agent must be
 * restarted (the settings that reach etcd, the private key, the Table), whether our record must be rebuilt (Name,
 * Endpoint, AllowedIPs, the addresses and port its defaults come from), and the prepared result MeshService.prepare
 * hands to MeshService.apply. Pure.
 */
import { encodeKey } from '../crypto/keys.js';
import type { MeshSettings } from '../config/mesh.js';
import { formatIp, formatPrefix } from '../net/ip.js';
import type { MeshInputs } from './inputs.js';
import type { MemberRecord } from './member.js';

/** A reload's mesh part, checked and ready: apply() cannot fail for a reason prepare() could have found. */
export interface PreparedMesh {
  inputs: MeshInputs | undefined;
  /** Our new record (undefined: to be built later, or no mesh). */
  self?: MemberRecord;
  /** What apply() will do, one line each (for the reload's report). */
  plan: string[];
  restart: boolean;
  /** A restart leaves the old lease to expire rather than revoking it (same key, same prefix). */
  handOver: boolean;
  routesMoved: boolean;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Whether the settings that reach etcd differ (URLs, TLS, auth, Prefix, TTL): a new registry and registration. */
export function connectionChanged(prev: MeshSettings, next: MeshSettings): boolean {
  const connectionOf = (s: MeshSettings) => ({ etcd: s.etcd.map((e) => e.url), tls: s.tls ?? null, auth: s.auth ?? null, prefix: s.prefix, ttl: s.ttl });
  return !sameJson(connectionOf(prev), connectionOf(next));
}

/** Whether mesh routes move (Table changed): the old ones go from the old table, the new agent adds them anew. */
export function routesMovedBetween(prev: MeshInputs, next: MeshInputs): boolean {
  return !sameJson(prev.routes ?? null, next.routes ?? null);
}

/** Whether what our record is built from differs: Name, Endpoint, AllowedIPs, the interface's addresses, the port. */
export function recordInputsChanged(prev: MeshInputs, next: MeshInputs): boolean {
  const recordInputs = (i: MeshInputs) => ({
    name: i.settings.name ?? null,
    endpoint: i.settings.endpoint ?? null,
    allowedIPs: (i.settings.allowedIPs ?? []).map(formatPrefix),
    addresses: i.addresses.map(formatPrefix),
    port: i.listenPort ?? null,
  });
  return !sameJson(recordInputs(prev), recordInputs(next));
}

/** Whether two records announce the same (registeredAt aside). */
export function sameRecord(a: MemberRecord, b: MemberRecord): boolean {
  const text = (r: MemberRecord) => {
    const { registeredAt: _ignored, ...rest } = r;
    return JSON.stringify({
      ...rest,
      publicKey: encodeKey(r.publicKey),
      allowedIPs: r.allowedIPs.map(formatPrefix),
      endpoint: r.endpoint && `${formatIp(r.endpoint.address)}:${r.endpoint.port}`,
      vtep: r.vtep && formatIp(r.vtep),
    });
  };
  return text(a) === text(b);
}
