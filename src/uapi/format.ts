/**
 * Human and JSON renderings of a DeviceSnapshot for `tunvpn show`, in the shape of `wg show`. Pure functions:
 * the current time and whether to colour are parameters.
 */
import { formatPrefix } from '../net/ip.js';
import { encodeKey, isZeroKey } from '../crypto/keys.js';
import { publicKeyOf } from '../crypto/x25519.js';
import type { DeviceSnapshot, PeerSnapshot } from './control.js';

const SECONDS_PER_MINUTE = 60;
const SECONDS_PER_HOUR = 60 * SECONDS_PER_MINUTE;
const SECONDS_PER_DAY = 24 * SECONDS_PER_HOUR;
const SECONDS_PER_YEAR = 365 * SECONDS_PER_DAY;
const KIB = 1024;
const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** ANSI styling; `plain` turns every style into the identity. */
export interface Style {
  bold(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  red(s: string): string;
}

const sgr = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
export const ansi: Style = { bold: sgr('1'), green: sgr('32'), yellow: sgr('33'), cyan: sgr('36'), red: sgr('31') };
const id = (s: string) => s;
export const plain: Style = { bold: id, green: id, yellow: id, cyan: id, red: id };

/** "1 year, 2 days, 1 minute, 12 seconds"; the empty string for 0. Whole seconds. */
export function formatDuration(totalSeconds: number, style: Style = plain): string {
  let left = Math.max(0, Math.floor(totalSeconds));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['year', SECONDS_PER_YEAR],
    ['day', SECONDS_PER_DAY],
    ['hour', SECONDS_PER_HOUR],
    ['minute', SECONDS_PER_MINUTE],
    ['second', 1],
  ] as const) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n > 0) parts.push(`${n} ${style.cyan(n === 1 ? unit : `${unit}s`)}`);
  }
  return parts.join(', ');
}

/** "Now", "1 minute, 12 seconds ago", or a warning when the handshake lies in the future. */
export function formatAgo(handshakeSec: number, nowSec: number, style: Style = plain): string {
  const now = Math.floor(nowSec);
  if (now === handshakeSec) return 'Now';
  if (now < handshakeSec) return `(${style.red('System clock wound backward; connection problems may ensue.')})`;
  return `${formatDuration(now - handshakeSec, style)} ago`;
}

/** "512 B", "1.21 MiB" (binary units, two decimals above bytes). */
export function formatBytes(bytes: number, style: Style = plain): string {
  if (bytes < KIB) return `${bytes} ${style.cyan('B')}`;
  let unit = 0;
  let scaled = bytes / KIB;
  while (scaled >= KIB && unit < BYTE_UNITS.length - 1) {
    scaled /= KIB;
    unit++;
  }
  return `${scaled.toFixed(2)} ${style.cyan(BYTE_UNITS[unit]!)}`;
}

/** Peers ordered as wg shows them: most recent handshake first, never-handshaken peers last (stable otherwise). */
export function sortPeers(peers: readonly PeerSnapshot[]): PeerSnapshot[] {
  const time = (p: PeerSnapshot) => p.lastHandshakeTimeSec * 1e9 + p.lastHandshakeTimeNsec;
  return [...peers].sort((a, b) => {
    const ta = time(a);
    const tb = time(b);
    if (ta === 0 && tb !== 0) return 1;
    if (tb === 0 && ta !== 0) return -1;
    return tb - ta;
  });
}

export interface ShowOptions {
  /** Current Unix time in seconds. */
  nowSec: number;
  style?: Style;
}

/** The `wg show IFACE` text for one interface, ending in a newline. Private and preshared keys are "(hidden)". */
export function formatInterface(name: string, s: DeviceSnapshot, opts: ShowOptions): string {
  const st = opts.style ?? plain;
  const field = (label: string, value: string) => `  ${st.bold(label)}: ${value}\n`;
  let out = `${st.green(st.bold('interface'))}: ${st.green(name)}\n`;
  if (!isZeroKey(s.privateKey)) {
    out += field('public key', encodeKey(publicKeyOf(s.privateKey!)));
    out += field('private key', '(hidden)');
  }
  if (s.listenPort) out += field('listening port', String(s.listenPort));
  if (s.fwmark) out += field('fwmark', `0x${s.fwmark.toString(16)}`);
  const peers = sortPeers(s.peers);
  for (const p of peers) {
    out += `\n${st.yellow(st.bold('peer'))}: ${st.yellow(encodeKey(p.publicKey))}\n`;
    if (!isZeroKey(p.presharedKey)) out += field('preshared key', '(hidden)');
    if (p.endpoint) out += field('endpoint', p.endpoint);
    const ips = p.allowedIps.map((ip) => formatPrefix(ip).replace('/', st.cyan('/')));
    out += field('allowed ips', ips.length ? ips.join(', ') : '(none)');
    if (p.lastHandshakeTimeSec) out += field('latest handshake', formatAgo(p.lastHandshakeTimeSec, opts.nowSec, st));
    if (p.rxBytes || p.txBytes) {
      out += field('transfer', `${formatBytes(p.rxBytes, st)} received, ${formatBytes(p.txBytes, st)} sent`);
    }
    if (p.persistentKeepaliveInterval) {
      out += field('persistent keepalive', `every ${formatDuration(p.persistentKeepaliveInterval, st)}`);
    }
  }
  return out;
}

/** The stable JSON document for one interface (keys in base64; secrets never included). */
export interface InterfaceJson {
  name: string;
  publicKey: string | null;
  listenPort: number;
  fwmark: number;
  peers: {
    publicKey: string;
    hasPresharedKey: boolean;
    endpoint: string | null;
    allowedIps: string[];
    latestHandshake: number;
    latestHandshakeNsec: number;
    rxBytes: number;
    txBytes: number;
    persistentKeepalive: number;
  }[];
  /** Device counters (tunvpn's stats=1 extension), when the daemon offers them. */
  stats?: Record<string, number>;
}

export function interfaceJson(name: string, s: DeviceSnapshot): InterfaceJson {
  return {
    name,
    publicKey: isZeroKey(s.privateKey) ? null : encodeKey(publicKeyOf(s.privateKey!)),
    listenPort: s.listenPort,
    fwmark: s.fwmark,
    peers: s.peers.map((p) => ({
      publicKey: encodeKey(p.publicKey),
      hasPresharedKey: !isZeroKey(p.presharedKey),
      endpoint: p.endpoint ?? null,
      allowedIps: p.allowedIps.map(formatPrefix),
      latestHandshake: p.lastHandshakeTimeSec,
      latestHandshakeNsec: p.lastHandshakeTimeNsec,
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      persistentKeepalive: p.persistentKeepaliveInterval,
    })),
  };
}
