/**
 * Test doubles for the mesh agent: a manual clock (timers fire only when the test advances time), a recording
 * MeshTarget that keeps a model of the device (peers, AllowedIPs, routes, VTEPs), and helpers to build nodes.
 */
import { encodeKey, generatePrivateKey } from '../../src/crypto/keys.js';
import { publicKeyOf } from '../../src/crypto/x25519.js';
import type { MeshClock } from '../../src/mesh/backoff.js';
import type { MeshTarget } from '../../src/mesh/target.js';
import type { MemberRecord } from '../../src/mesh/member.js';
import { formatMemberEndpoint } from '../../src/mesh/member.js';
import type { MeshPeer, PeerChanges } from '../../src/mesh/reconcile.js';
import { formatIp, formatPrefix, parseIp, parsePrefix, type IpAddress, type Prefix } from '../../src/net/ip.js';
import { systemRng } from '../../src/crypto/random.js';

export class ManualClock implements MeshClock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_767_225_600_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers waiting. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order (and letting promises settle between them). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.timers].filter(([, v]) => v.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

/** Lets every queued microtask and promise chain run (several turns of the event loop, no timers). */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export interface DevicePeer {
  endpoint?: string;
  allowedIPs: string[];
  keepalive?: number;
  /** Bumped only by addPeer: an in-place update keeps it (the "session"). */
  session: number;
}

/** A MeshTarget recording every call and keeping the device's resulting state. */
export class RecordingTarget implements MeshTarget {
  readonly calls: string[] = [];
  readonly peers = new Map<string, DevicePeer>();
  readonly routes = new Set<string>();
  readonly vteps = new Set<string>();
  /** Make the next calls of this kind throw (e.g. 'addRoute'). */
  failing = new Set<string>();
  private sessions = 0;

  private check(op: string): void {
    if (this.failing.has(op)) throw new Error(`${op} failed (test)`);
  }

  addPeer(peer: MeshPeer): void {
    this.check('addPeer');
    const k = encodeKey(peer.publicKey);
    if (this.peers.has(k)) throw new Error(`peer ${peer.name} exists already`);
    this.peers.set(k, { endpoint: ep(peer), allowedIPs: peer.allowedIPs.map(formatPrefix), keepalive: peer.persistentKeepalive, session: ++this.sessions });
    this.calls.push(`add ${peer.name}`);
  }

  updatePeer(peer: MeshPeer, changed: PeerChanges): void {
    this.check('updatePeer');
    const p = this.peers.get(encodeKey(peer.publicKey));
    if (!p) throw new Error(`update of missing peer ${peer.name}`);
    if (changed.endpoint) p.endpoint = ep(peer);
    if (changed.allowedIPs) p.allowedIPs = peer.allowedIPs.map(formatPrefix);
    if (changed.persistentKeepalive) p.keepalive = peer.persistentKeepalive;
    this.calls.push(`update ${peer.name}`);
  }

  removePeer(peer: MeshPeer): void {
    this.check('removePeer');
    if (!this.peers.delete(encodeKey(peer.publicKey))) throw new Error(`remove of missing peer ${peer.name}`);
    this.calls.push(`remove ${peer.name}`);
  }

  addRoute(prefix: Prefix): void {
    this.check('addRoute');
    const text = formatPrefix(prefix);
    if (this.routes.has(text)) throw new Error(`route ${text} exists (EEXIST)`);
    this.routes.add(text);
    this.calls.push(`route+ ${text}`);
  }

  removeRoute(prefix: Prefix): void {
    this.check('removeRoute');
    this.routes.delete(formatPrefix(prefix));
    this.calls.push(`route- ${formatPrefix(prefix)}`);
  }

  addVtep(address: IpAddress): void {
    this.vteps.add(formatIp(address));
    this.calls.push(`vtep+ ${formatIp(address)}`);
  }

  removeVtep(address: IpAddress): void {
    this.vteps.delete(formatIp(address));
    this.calls.push(`vtep- ${formatIp(address)}`);
  }

  /** Peers by name-independent key → sorted AllowedIPs, for assertions. */
  peerOf(publicKey: Uint8Array): DevicePeer | undefined {
    return this.peers.get(encodeKey(publicKey));
  }
}

function ep(peer: MeshPeer): string | undefined {
  return peer.endpoint && formatMemberEndpoint(peer.endpoint);
}

/** A node's identity and record: name, fresh key, endpoint 192.0.2.N:51820, AllowedIPs 10.50.0.N/32 + extra. */
export function nodeRecord(name: string, n: number, extra: string[] = [], vtep = false): MemberRecord {
  const publicKey = publicKeyOf(generatePrivateKey(systemRng));
  const record: MemberRecord = {
    name,
    publicKey,
    endpoint: { address: parseIp(`192.0.2.${n}`)!, port: 51820 },
    allowedIPs: [`10.50.0.${n}/32`, ...extra].map((t) => parsePrefix(t)!),
  };
  if (vtep) record.vtep = parseIp(`10.50.0.${n}`)!;
  return record;
}
