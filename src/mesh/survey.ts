/**
 * A one-shot look at the mesh from a configuration that is not running (`tunvpn mesh show CONF`, surveyConfig): one
 * range read of the members prefix, each value validated as the agent validates it, and the same reconcile the agent
 * would run against the file's static peers, from nothing applied. Nothing is written: no registration, no lease.
 *
 * Our own record, when a node with our key is registered (this file running elsewhere, or a lease not yet expired),
 * is the one in etcd; otherwise the one this file would announce (without its endpoint when that needs the
 * device's port).
 */
import { hostname } from 'node:os';
import type { QuickConfig } from '../config/index.js';
import { encodeKey } from '../crypto/keys.js';
import type { Prefix } from '../net/ip.js';
import { EtcdRegistry, etcdOptionsFromSettings } from './etcd-registry.js';
import { meshInputs } from './inputs.js';
import { byNameThenKey, memberView, selfView, type MeshSnapshot } from './member-view.js';
import { decodeMember, memberKey, membersPrefix, publicKeyOfMemberKey, type MemberRecord } from './member.js';
import { emptyMeshState, reconcile, type MemberEntry, type StaticPeer } from './reconcile.js';
import type { Registry } from './registry.js';
import { buildSelfRecord, meshAllowedIPs } from './self.js';

export interface SurveyInput {
  prefix: string;
  /** The record this file would announce (endpoint optional). */
  self: MemberRecord;
  staticPeers: readonly StaticPeer[];
  /** undefined: Table = off. */
  routes?: { interfaceAddresses: readonly Prefix[] };
  persistentKeepalive?: number;
  /** Wall ms. */
  nowMs: number;
}

/** Reads the registry once; rejects when it cannot be read (RegistryUnavailableError). */
export async function surveyMesh(registry: Registry, input: SurveyInput): Promise<MeshSnapshot> {
  const snap = await registry.list(membersPrefix(input.prefix));
  const ownKey = memberKey(input.prefix, input.self.publicKey);
  const members: MemberEntry[] = [];
  const invalid: { key: string; reason: string }[] = [];
  let self = input.self;
  for (const kv of snap.kvs) {
    const key = publicKeyOfMemberKey(input.prefix, kv.key);
    const record = key.ok ? decodeMember(key.value, kv.value) : key;
    if (!record.ok) {
      invalid.push({ key: kv.key, reason: record.reason });
      continue;
    }
    if (kv.key === ownKey) self = record.value;
    else members.push({ record: record.value, createRevision: kv.createRevision });
  }
  const result = reconcile({
    ownPublicKey: self.publicKey,
    ownAllowedIPs: self.allowedIPs,
    ...(self.vtep && { ownVtep: self.vtep }),
    staticPeers: input.staticPeers,
    members,
    previous: emptyMeshState(),
    ...(input.persistentKeepalive !== undefined && { persistentKeepalive: input.persistentKeepalive }),
    ...(input.routes && { routes: input.routes }),
  });
  const ctx = { nowMs: input.nowMs, ownKey: encodeKey(self.publicKey), applied: emptyMeshState() };
  return {
    state: 'stopped',
    since: input.nowMs,
    self: selfView(ctx, self),
    members: members.map((m) => memberView(ctx, m.record, m.createRevision, result.outcomes.get(encodeKey(m.record.publicKey)))).sort(byNameThenKey),
    invalid,
    refusals: result.refusals.map((r) => r.message),
  };
}

/**
 * `surveyMesh` for a wg-quick file with a [Mesh] section that is not running: our record as the file would
 * announce it (without the default Endpoint when the network cannot give it now), one read of etcd through an
 * EtcdRegistry whose requests give up after `requestTimeoutMs`. Rejects when etcd cannot be read or the registry's
 * files (EtcdCA, EtcdPasswordFile, ...) cannot; throws if `config` has no [Mesh].
 */
export async function surveyConfig(config: QuickConfig, requestTimeoutMs: number): Promise<MeshSnapshot> {
  const inputs = meshInputs(config);
  if (!inputs) throw new Error(`${config.file} has no [Mesh] section`);
  const settings = inputs.settings;
  const iface = config.interface;
  let self: MemberRecord;
  try {
    self = await buildSelfRecord(settings, { publicKey: iface.publicKey, addresses: iface.addresses, ...(iface.listenPort && { listenPort: iface.listenPort }) });
  } catch {
    self = { name: settings.name ?? hostname(), publicKey: iface.publicKey, allowedIPs: meshAllowedIPs(settings, iface.addresses) };
  }
  const registry = new EtcdRegistry({ ...(await etcdOptionsFromSettings(settings)), requestTimeoutMs });
  try {
    return await surveyMesh(registry, {
      prefix: settings.prefix,
      self,
      staticPeers: inputs.staticPeers,
      ...(inputs.routes && { routes: { interfaceAddresses: inputs.addresses } }),
      ...(settings.persistentKeepalive !== undefined && { persistentKeepalive: settings.persistentKeepalive }),
      nowMs: Date.now(),
    });
  } finally {
    await registry.close();
  }
}
