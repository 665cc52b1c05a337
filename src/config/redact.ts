/**
 * A configuration made safe to print: private and preshared keys become "(hidden)"; public keys (not secret)
 * are shown in full base64. `formatConfig` renders it in wg-quick's own syntax. The [Mesh] section holds no secret
 * itself, only the paths of files that do (EtcdKey, EtcdPasswordFile): the paths are shown, the files never read.
 */
import { encodeKey } from '../crypto/keys.js';
import { formatIp, formatPrefix } from '../net/ip.js';
import { DEFAULT_MESH_PREFIX, DEFAULT_MESH_TTL_S, type MeshSettings } from './mesh.js';
import type { QuickConfig } from './types.js';

export const HIDDEN = '(hidden)';

export interface RedactedConfig {
  file: string;
  interface: {
    privateKey: typeof HIDDEN;
    publicKey: string;
    addresses: string[];
    listenPort?: number;
    mtu?: number;
    table: 'auto' | 'off' | number;
    fwMark?: number;
    dns: string[];
    preUp: string[];
    postUp: string[];
    preDown: string[];
    postDown: string[];
    saveConfig: boolean;
  };
  peers: {
    line: number;
    publicKey: string;
    presharedKey?: typeof HIDDEN;
    allowedIPs: string[];
    endpoint?: string;
    persistentKeepalive?: number;
  }[];
  mesh?: RedactedMesh;
  warnings: string[];
}

/** The [Mesh] section as printed: every value as text, file paths as written. */
export interface RedactedMesh {
  etcd: string[];
  name?: string;
  endpoint?: string;
  allowedIPs?: string[];
  prefix: string;
  ttl: number;
  persistentKeepalive?: number;
  etcdCA?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdPasswordFile?: string;
}

export function redactMesh(m: MeshSettings): RedactedMesh {
  return {
    etcd: m.etcd.map((e) => e.url),
    ...(m.name !== undefined && { name: m.name }),
    ...(m.endpoint && { endpoint: formatEndpoint(m.endpoint) }),
    ...(m.allowedIPs && { allowedIPs: m.allowedIPs.map(formatPrefix) }),
    prefix: m.prefix,
    ttl: m.ttl,
    ...(m.persistentKeepalive !== undefined && { persistentKeepalive: m.persistentKeepalive }),
    ...(m.tls?.ca !== undefined && { etcdCA: m.tls.ca }),
    ...(m.tls?.cert !== undefined && { etcdCert: m.tls.cert }),
    ...(m.tls?.key !== undefined && { etcdKey: m.tls.key }),
    ...(m.auth && { etcdUser: m.auth.user, etcdPasswordFile: m.auth.passwordFile }),
  };
}

/** "host:port", or "[v6]:port" / "[v6%zone]:port" for an IPv6 literal, as the Endpoint key writes it. */
export function formatEndpoint(endpoint: { host: string; port: number; zone?: string }): string {
  const host = endpoint.zone === undefined ? endpoint.host : `${endpoint.host}%${endpoint.zone}`;
  return endpoint.host.includes(':') ? `[${host}]:${endpoint.port}` : `${host}:${endpoint.port}`;
}

export function redactConfig(config: QuickConfig): RedactedConfig {
  const i = config.interface;
  return {
    file: config.file,
    interface: {
      privateKey: HIDDEN,
      publicKey: encodeKey(i.publicKey),
      addresses: i.addresses.map(formatPrefix),
      ...(i.listenPort !== undefined && { listenPort: i.listenPort }),
      ...(i.mtu !== undefined && { mtu: i.mtu }),
      table: i.table,
      ...(i.fwMark !== undefined && { fwMark: i.fwMark }),
      dns: [...i.dns.servers.map(formatIp), ...i.dns.search],
      preUp: [...i.preUp],
      postUp: [...i.postUp],
      preDown: [...i.preDown],
      postDown: [...i.postDown],
      saveConfig: i.saveConfig,
    },
    peers: config.peers.map((p) => ({
      line: p.line,
      publicKey: encodeKey(p.publicKey),
      ...(p.presharedKey && { presharedKey: HIDDEN }),
      allowedIPs: p.allowedIPs.map(formatPrefix),
      ...(p.endpoint && { endpoint: formatEndpoint(p.endpoint) }),
      ...(p.persistentKeepalive !== undefined && { persistentKeepalive: p.persistentKeepalive }),
    })),
    ...(config.mesh && { mesh: redactMesh(config.mesh) }),
    warnings: [...config.warnings],
  };
}

/** wg-quick syntax, keys hidden, defaults omitted; the derived public key is shown as a comment. */
export function formatConfig(config: QuickConfig): string {
  const r = redactConfig(config);
  const i = r.interface;
  const out: string[] = ['[Interface]', `PrivateKey = ${i.privateKey}`, `# PublicKey = ${i.publicKey}`];
  if (i.addresses.length) out.push(`Address = ${i.addresses.join(', ')}`);
  if (i.listenPort !== undefined) out.push(`ListenPort = ${i.listenPort}`);
  if (i.mtu !== undefined) out.push(`MTU = ${i.mtu}`);
  if (i.table !== 'auto') out.push(`Table = ${i.table}`);
  if (i.fwMark !== undefined) out.push(`FwMark = 0x${i.fwMark.toString(16)}`);
  if (i.dns.length) out.push(`DNS = ${i.dns.join(', ')}`);
  if (i.saveConfig) out.push('SaveConfig = true');
  for (const [key, commands] of [
    ['PreUp', i.preUp],
    ['PostUp', i.postUp],
    ['PreDown', i.preDown],
    ['PostDown', i.postDown],
  ] as const) {
    for (const c of commands) out.push(`${key} = ${c}`);
  }
  if (r.mesh) out.push('', ...formatMesh(r.mesh));
  for (const p of r.peers) {
    out.push('', `[Peer]`, `PublicKey = ${p.publicKey}`);
    if (p.presharedKey) out.push(`PresharedKey = ${p.presharedKey}`);
    if (p.allowedIPs.length) out.push(`AllowedIPs = ${p.allowedIPs.join(', ')}`);
    if (p.endpoint) out.push(`Endpoint = ${p.endpoint}`);
    if (p.persistentKeepalive !== undefined) out.push(`PersistentKeepalive = ${p.persistentKeepalive}`);
  }
  return out.join('\n') + '\n';
}

/** The [Mesh] section's lines, defaults (Prefix, TTL) omitted. */
export function formatMesh(m: RedactedMesh): string[] {
  const out = ['[Mesh]', `Etcd = ${m.etcd.join(', ')}`];
  if (m.name !== undefined) out.push(`Name = ${m.name}`);
  if (m.endpoint !== undefined) out.push(`Endpoint = ${m.endpoint}`);
  if (m.allowedIPs) out.push(`AllowedIPs = ${m.allowedIPs.join(', ')}`);
  if (m.prefix !== DEFAULT_MESH_PREFIX) out.push(`Prefix = ${m.prefix}`);
  if (m.ttl !== DEFAULT_MESH_TTL_S) out.push(`TTL = ${m.ttl}`);
  if (m.persistentKeepalive !== undefined) out.push(`PersistentKeepalive = ${m.persistentKeepalive}`);
  if (m.etcdCA !== undefined) out.push(`EtcdCA = ${m.etcdCA}`);
  if (m.etcdCert !== undefined) out.push(`EtcdCert = ${m.etcdCert}`);
  if (m.etcdKey !== undefined) out.push(`EtcdKey = ${m.etcdKey}`);
  if (m.etcdUser !== undefined) out.push(`EtcdUser = ${m.etcdUser}`);
  if (m.etcdPasswordFile !== undefined) out.push(`EtcdPasswordFile = ${m.etcdPasswordFile}`);
  return out;
}
