/**
 * The UAPI text protocol (wireguard.com/xplatform, as wireguard-go implements it): parse a `set=1` body into a
 * validated SetOperation, format `get=1` replies, and the client side of both (format a set body, parse a get
 * reply). Framing (splitting a byte stream into requests) lives in framing.ts.
 *
 * Nothing here throws on bad input: parse functions return a result union.
 */
import { formatPrefix } from '../net/ip.js';
import { newPeerSnapshot, PROTOCOL_VERSION, type DeviceSnapshot, type PeerOperation, type PeerSnapshot, type SetOperation } from './control.js';
import { EINVAL, EPROTO, UapiError } from './errors.js';
import {
  MAX_FWMARK,
  parseAllowedIp,
  parseDecimal,
  parseUapiEndpoint,
  uapiEndpointText,
} from './values.js';
import type { Zones } from '../net/endpoint.js';
import { clampPrivateKey, encodeHexKey, isZeroKey, KEY_BYTES, parseHexKey } from '../crypto/keys.js';
import { MAX_PORT } from '../net/endpoint.js';
import { MAX_PERSISTENT_KEEPALIVE_S } from '../protocol/constants.js';

export type Result<T> = { ok: true; value: T } | { ok: false; error: UapiError };

const MAX_SHOWN_VALUE_CHARS = 80;
const ZERO_KEY = new Uint8Array(KEY_BYTES);
const MAX_U64 = 2 ** 64 - 1;
const MAX_NSEC = 999_999_999;

/** A value quoted for an error message: printable ASCII only, truncated. Never used for key values. */
function shown(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > MAX_SHOWN_VALUE_CHARS ? `${clean.slice(0, MAX_SHOWN_VALUE_CHARS)}…` : clean);
}

function invalid(message: string): never {
  throw new UapiError(EINVAL, message);
}

function requireTrue(key: string, value: string): void {
  if (value !== 'true') invalid(`${key} must be "true", got ${shown(value)}`);
}

function newPeer(publicKey: Uint8Array): PeerOperation {
  return { publicKey, remove: false, updateOnly: false, replaceAllowedIps: false, allowedIps: [] };
}

function applyDeviceLine(op: SetOperation, key: string, value: string): void {
  switch (key) {
    case 'private_key': {
      const k = parseHexKey(value);
      if (!k) invalid('private_key must be 64 hex digits');
      op.privateKey = isZeroKey(k) ? k : clampPrivateKey(k);
      return;
    }
    case 'listen_port': {
      const port = parseDecimal(value, MAX_PORT);
      if (port === undefined) invalid(`listen_port must be 0..${MAX_PORT}, got ${shown(value)}`);
      op.listenPort = port;
      return;
    }
    case 'fwmark': {
      const mark = parseDecimal(value, MAX_FWMARK);
      if (mark === undefined) invalid(`fwmark must be 0..${MAX_FWMARK}, got ${shown(value)}`);
      op.fwmark = mark;
      return;
    }
    case 'replace_peers':
      requireTrue(key, value);
      op.replacePeers = true;
      return;
    default:
      invalid(`invalid UAPI device key ${shown(key)}`);
  }
}

/**
 * One peer line. After `remove=true` the peer is a placeholder, as in wireguard-go: later lines are still
 * validated but change nothing.
 */
function applyPeerLine(peer: PeerOperation, key: string, value: string, zones: Pick<Zones, 'indexOf'> | undefined): void {
  const placeholder = peer.remove;
  switch (key) {
    case 'remove':
      requireTrue(key, value);
      Object.assign(peer, newPeer(peer.publicKey), { remove: true });
      delete peer.presharedKey;
      delete peer.endpoint;
      delete peer.persistentKeepaliveInterval;
      return;
    case 'update_only':
      requireTrue(key, value);
      if (!placeholder) peer.updateOnly = true;
      return;
    case 'preshared_key': {
      const k = parseHexKey(value);
      if (!k) invalid('preshared_key must be 64 hex digits');
      if (!placeholder) peer.presharedKey = k;
      return;
    }
    case 'endpoint': {
      const ep = parseUapiEndpoint(value, zones);
      if (!ep) invalid(`invalid endpoint ${shown(value)}: want a.b.c.d:port or [v6]:port (or [v6%zone]:port, zone an interface here)`);
      if (!placeholder) peer.endpoint = ep;
      return;
    }
    case 'persistent_keepalive_interval': {
      const secs = parseDecimal(value, MAX_PERSISTENT_KEEPALIVE_S);
      if (secs === undefined) invalid(`persistent_keepalive_interval must be 0..${MAX_PERSISTENT_KEEPALIVE_S}, got ${shown(value)}`);
      if (!placeholder) peer.persistentKeepaliveInterval = secs;
      return;
    }
    case 'replace_allowed_ips':
      requireTrue(key, value);
      if (!placeholder) {
        peer.replaceAllowedIps = true;
        peer.allowedIps = [];
      }
      return;
    case 'allowed_ip': {
      const remove = value.startsWith('-');
      const prefix = parseAllowedIp(remove ? value.slice(1) : value);
      if (!prefix) invalid(`invalid allowed_ip ${shown(value)}: want ADDRESS/BITS`);
      if (!placeholder) peer.allowedIps.push({ prefix, remove });
      return;
    }
    case 'protocol_version':
      if (value !== String(PROTOCOL_VERSION)) invalid(`unsupported protocol_version ${shown(value)}`);
      return;
    default:
      invalid(`invalid UAPI peer key ${shown(key)}`);
  }
}

/** Options of parseSetBody. */
export interface ParseSetOptions {
  /** Turns endpoint zone names ("[fe80::1%eth0]:51820", as wg sends them) into interface indexes. */
  zones?: Pick<Zones, 'indexOf'>;
}

/**
 * The lines of a `set=1` transaction (without the `set=1` line and without the terminating empty line) as a
 * validated SetOperation, or the first error: EPROTO for a line without '=', EINVAL for anything else.
 */
export function parseSetBody(lines: readonly string[], opts: ParseSetOptions = {}): Result<SetOperation> {
  const op: SetOperation = { replacePeers: false, peers: [] };
  let peer: PeerOperation | undefined;
  try {
    for (const [index, line] of lines.entries()) {
      const eq = line.indexOf('=');
      // The line itself is not quoted: it could be a pasted secret.
      if (eq < 0) throw new UapiError(EPROTO, `line ${index + 1} of the set request has no '='`);
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1);
      if (key === 'public_key') {
        const k = parseHexKey(value);
        if (!k) invalid('public_key must be 64 hex digits');
        peer = newPeer(k);
        op.peers.push(peer);
      } else if (peer) {
        applyPeerLine(peer, key, value, opts.zones);
      } else {
        applyDeviceLine(op, key, value);
      }
    }
  } catch (err) {
    if (err instanceof UapiError) return { ok: false, error: err };
    throw err;
  }
  return { ok: true, value: op };
}

/** The reply to a get: key=value lines in wireguard-go's order, then `errno=0` and an empty line. */
export function formatGetReply(s: DeviceSnapshot): string {
  const out: string[] = [];
  if (!isZeroKey(s.privateKey)) out.push(`private_key=${encodeHexKey(s.privateKey!)}`);
  if (s.listenPort !== 0) out.push(`listen_port=${s.listenPort}`);
  if (s.fwmark !== 0) out.push(`fwmark=${s.fwmark}`);
  for (const p of s.peers) {
    out.push(`public_key=${encodeHexKey(p.publicKey)}`);
    out.push(`preshared_key=${encodeHexKey(p.presharedKey ?? ZERO_KEY)}`);
    out.push(`protocol_version=${PROTOCOL_VERSION}`);
    if (p.endpoint !== undefined) out.push(`endpoint=${p.endpoint}`);
    out.push(`last_handshake_time_sec=${p.lastHandshakeTimeSec}`);
    out.push(`last_handshake_time_nsec=${p.lastHandshakeTimeNsec}`);
    out.push(`tx_bytes=${p.txBytes}`);
    out.push(`rx_bytes=${p.rxBytes}`);
    out.push(`persistent_keepalive_interval=${p.persistentKeepaliveInterval}`);
    for (const ip of p.allowedIps) out.push(`allowed_ip=${formatPrefix(ip)}`);
  }
  out.push('errno=0', '', '');
  return out.join('\n');
}

/** `errno=-N` for a failed set (wireguard-go's sign), `errno=N` for a failed get (what wg(8) parses there). */
export function formatErrnoReply(request: 'get' | 'set', errno: number): string {
  if (errno === 0) return 'errno=0\n\n';
  return `errno=${request === 'set' ? -Math.abs(errno) : Math.abs(errno)}\n\n`;
}

/** A set body (with `set=1` and the final empty line) for `op`: the client side, and the inverse of parseSetBody. */
export function formatSetRequest(op: SetOperation): string {
  const out = ['set=1'];
  if (op.privateKey) out.push(`private_key=${encodeHexKey(op.privateKey)}`);
  if (op.listenPort !== undefined) out.push(`listen_port=${op.listenPort}`);
  if (op.fwmark !== undefined) out.push(`fwmark=${op.fwmark}`);
  if (op.replacePeers) out.push('replace_peers=true');
  for (const p of op.peers) {
    out.push(`public_key=${encodeHexKey(p.publicKey)}`);
    if (p.remove) {
      out.push('remove=true');
      continue;
    }
    if (p.updateOnly) out.push('update_only=true');
    if (p.presharedKey) out.push(`preshared_key=${encodeHexKey(p.presharedKey)}`);
    if (p.endpoint) out.push(`endpoint=${p.endpoint.toString()}`);
    if (p.persistentKeepaliveInterval !== undefined) {
      out.push(`persistent_keepalive_interval=${p.persistentKeepaliveInterval}`);
    }
    if (p.replaceAllowedIps) out.push('replace_allowed_ips=true');
    for (const a of p.allowedIps) out.push(`allowed_ip=${a.remove ? '-' : ''}${formatPrefix(a.prefix)}`);
  }
  out.push('', '');
  return out.join('\n');
}

function protocolError(message: string): never {
  throw new UapiError(EPROTO, message);
}

function replyNumber(key: string, value: string, max: number): number {
  const n = parseDecimal(value, max);
  if (n === undefined) protocolError(`bad ${key} in get reply: ${shown(value)}`);
  return n;
}

function replyPeerLine(p: PeerSnapshot, key: string, value: string): void {
  switch (key) {
    case 'preshared_key': {
      const k = parseHexKey(value) ?? protocolError('bad preshared_key in get reply');
      if (isZeroKey(k)) delete p.presharedKey;
      else p.presharedKey = k;
      return;
    }
    case 'protocol_version':
      if (value !== String(PROTOCOL_VERSION)) protocolError(`unsupported protocol_version ${shown(value)}`);
      return;
    case 'endpoint':
      p.endpoint = uapiEndpointText(value) ?? protocolError(`bad endpoint in get reply: ${shown(value)}`);
      return;
    case 'last_handshake_time_sec':
      p.lastHandshakeTimeSec = replyNumber(key, value, Number.MAX_SAFE_INTEGER);
      return;
    case 'last_handshake_time_nsec':
      p.lastHandshakeTimeNsec = replyNumber(key, value, MAX_NSEC);
      return;
    case 'tx_bytes':
      p.txBytes = replyNumber(key, value, MAX_U64);
      return;
    case 'rx_bytes':
      p.rxBytes = replyNumber(key, value, MAX_U64);
      return;
    case 'persistent_keepalive_interval':
      p.persistentKeepaliveInterval = replyNumber(key, value, MAX_PERSISTENT_KEEPALIVE_S);
      return;
    case 'allowed_ip': {
      const prefix = parseAllowedIp(value) ?? protocolError(`bad allowed_ip in get reply: ${shown(value)}`);
      p.allowedIps.push(prefix);
      return;
    }
    default:
      return; // unknown keys from other implementations are tolerated
  }
}

/**
 * A get reply (everything up to and including `errno=N` and the empty line) as a snapshot. A non-zero errno
 * (either sign) becomes a UapiError with the positive number; malformed lines become EPROTO.
 */
export function parseGetReply(text: string): Result<DeviceSnapshot> {
  const snap: DeviceSnapshot = { listenPort: 0, fwmark: 0, peers: [] };
  let peer: PeerSnapshot | undefined;
  try {
    const lines = text.split('\n');
    let i = 0;
    for (; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') protocolError('get reply ended without errno');
      const eq = line.indexOf('=');
      if (eq < 0) protocolError(`bad line in get reply: ${shown(line)}`);
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1);
      if (key === 'errno') {
        const n = /^-?[0-9]{1,10}$/.test(value) ? Math.abs(Number(value)) : protocolError(`bad errno ${shown(value)}`);
        if (n !== 0) throw new UapiError(n, `device returned errno ${n}`);
        break;
      }
      if (key === 'public_key') {
        const k = parseHexKey(value) ?? protocolError('bad public_key in get reply');
        peer = newPeerSnapshot(k);
        snap.peers.push(peer);
      } else if (peer) {
        replyPeerLine(peer, key, value);
      } else if (key === 'private_key') {
        const k = parseHexKey(value) ?? protocolError('bad private_key in get reply');
        if (!isZeroKey(k)) snap.privateKey = k;
      } else if (key === 'listen_port') {
        snap.listenPort = replyNumber(key, value, MAX_PORT);
      } else if (key === 'fwmark') {
        snap.fwmark = replyNumber(key, value, MAX_FWMARK);
      }
    }
    if (i >= lines.length) protocolError('get reply ended without errno');
  } catch (err) {
    if (err instanceof UapiError) return { ok: false, error: err };
    throw err;
  }
  return { ok: true, value: snap };
}

/** Reply to tunvpn's `stats=1` extension: `key=value` lines of finite numbers (keys of [a-zA-Z0-9_.]), errno=0. */
export function formatStatsReply(stats: Record<string, number>): string {
  let out = '';
  for (const [k, v] of Object.entries(stats)) {
    if (/^[a-zA-Z0-9_.]{1,64}$/.test(k) && Number.isFinite(v)) out += `${k}=${v}\n`;
  }
  return `${out}errno=0\n\n`;
}

/** Parses a `stats=1` reply; undefined when it is not one (e.g. a daemon that does not know the extension). */
export function parseStatsReply(text: string): Record<string, number> | undefined {
  const lines = text.split('\n');
  if (lines.at(-1) !== '' || lines.at(-2) !== '' || lines.at(-3) !== 'errno=0') return undefined;
  const stats: Record<string, number> = {};
  for (const line of lines.slice(0, -3)) {
    const m = /^([a-zA-Z0-9_.]{1,64})=(-?[0-9.e+]+)$/.exec(line);
    if (!m) return undefined;
    stats[m[1]!] = Number(m[2]);
  }
  return stats;
}

/** C0 and C1 control characters and DEL (Unicode category Cc). */
/** Control characters (Unicode category Cc): never written into a reply's value. */
export const CONTROL_CHARACTERS = /\p{Cc}/gu;

/**
 * Reply to tunvpn's `reload=1` extension: one `message=TEXT` line per line of `messages` (what changed, or every
 * FILE:LINE problem of a refused file; newlines become separate lines, other control characters '?'; the text is
 * sent as UTF-8, so names and the messages' "…" and "−" arrive whole), then
 * `errno=N` (0: applied; EINVAL: the file was refused and nothing changed; other: the change failed part-way and
 * was undone) and the empty line.
 */
export function formatReloadReply(errno: number, messages: readonly string[]): string {
  let out = '';
  for (const m of messages) for (const line of m.split('\n')) out += `message=${line.replace(CONTROL_CHARACTERS, '?')}\n`;
  return `${out}errno=${errno}\n\n`;
}

/** Parses a `reload=1` reply; undefined when it is not one (a daemon that does not know the extension closes). */
export function parseReloadReply(text: string): { errno: number; messages: string[] } | undefined {
  const lines = text.split('\n');
  const last = /^errno=([0-9]{1,10})$/.exec(lines.at(-3) ?? '');
  if (lines.at(-1) !== '' || lines.at(-2) !== '' || !last) return undefined;
  const messages: string[] = [];
  for (const line of lines.slice(0, -3)) {
    if (!line.startsWith('message=')) return undefined;
    messages.push(line.slice('message='.length));
  }
  return { errno: Number(last[1]), messages };
}
