/**
 * WireGuard configurations for the two tunnel ends: the wg-quick form (what `tunvpn up` reads) and the stripped
 * form (what `wg setconf` accepts: no Address/MTU). Text builders are pure; writeConfigs puts them in a private
 * temporary directory with mode 600, since they hold private keys.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeKey, generatePrivateKey } from '../crypto/keys.js';
import { publicKeyOf } from '../crypto/x25519.js';
import { systemRng } from '../crypto/random.js';
import type { LabPlan } from './plan.js';

export type TunnelEnd = 'a' | 'b';

export interface EndKeys {
  /** base64, secret: only ever written to the mode-600 files. */
  privateKey: string;
  publicKey: string;
}

export interface ConfigFiles {
  dir: string;
  /** wg-quick files, named IFACE.conf (tunvpn takes the interface name from the file name). */
  quick: Record<TunnelEnd, string>;
  /** `wg setconf` files. */
  wg: Record<TunnelEnd, string>;
}

const SECRET_FILE_MODE = 0o600;

export function makeKeys(): EndKeys {
  const priv = generatePrivateKey(systemRng);
  const pub = publicKeyOf(priv);
  const keys = { privateKey: encodeKey(priv), publicKey: encodeKey(pub) };
  priv.fill(0);
  return keys;
}

/** The AllowedIPs of `end`'s peer: a reaches b's tunnel address and the LAN behind b; b reaches a's tunnel address. */
export function allowedIps(plan: LabPlan, end: TunnelEnd): string[] {
  return end === 'a' ? [`${plan.tunnel.b}/32`, `${plan.lan.subnet}/${plan.lan.prefix}`] : [`${plan.tunnel.a}/32`];
}

/** The [Interface] keys `wg setconf` understands and the [Peer] section: shared by both forms. */
function wgSections(plan: LabPlan, end: TunnelEnd, own: EndKeys, other: EndKeys): { iface: string[]; peer: string[] } {
  const iface = [`PrivateKey = ${own.privateKey}`, `ListenPort = ${plan.ports[end]}`];
  const peer = ['[Peer]', `PublicKey = ${other.publicKey}`, `AllowedIPs = ${allowedIps(plan, end).join(', ')}`];
  // a knows where b is; b learns a's endpoint from the first authenticated packet.
  if (end === 'a') peer.push(`Endpoint = ${plan.underlay.b}:${plan.ports.b}`);
  return { iface, peer };
}

export function quickConfig(plan: LabPlan, end: TunnelEnd, own: EndKeys, other: EndKeys): string {
  const { iface, peer } = wgSections(plan, end, own, other);
  const lines = ['[Interface]', `Address = ${plan.tunnel[end]}/32`, `MTU = ${plan.mtu}`, ...iface, '', ...peer];
  return `${lines.join('\n')}\n`;
}

export function wgConfig(plan: LabPlan, end: TunnelEnd, own: EndKeys, other: EndKeys): string {
  const { iface, peer } = wgSections(plan, end, own, other);
  return `${['[Interface]', ...iface, '', ...peer].join('\n')}\n`;
}

/** Fresh keys for both ends, four files in a new temp dir (mkdtemp: mode 700). The caller removes `dir`. */
export function writeConfigs(plan: LabPlan): ConfigFiles {
  const dir = mkdtempSync(join(tmpdir(), `tvlab-${plan.tag}-`));
  const keys = { a: makeKeys(), b: makeKeys() };
  const quick = { a: join(dir, `${plan.wg.a}.conf`), b: join(dir, `${plan.wg.b}.conf`) };
  const wg = { a: join(dir, `${plan.wg.a}.wg`), b: join(dir, `${plan.wg.b}.wg`) };
  const write = (path: string, text: string) => writeFileSync(path, text, { mode: SECRET_FILE_MODE, flag: 'wx' });
  for (const end of ['a', 'b'] as const) {
    const other = end === 'a' ? keys.b : keys.a;
    write(quick[end], quickConfig(plan, end, keys[end], other));
    write(wg[end], wgConfig(plan, end, keys[end], other));
  }
  return { dir, quick, wg };
}
