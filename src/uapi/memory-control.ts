/**
 * An in-memory DeviceControl: the reference semantics of a SetOperation (see control.ts) without any I/O. Tests use
 * it as the fake device behind a UapiServer; the real device can compare its behaviour against it.
 *
 * apply() is all-or-nothing: it works on a copy and commits only when every step succeeded.
 */
import { encodeHexKey, isZeroKey } from '../crypto/keys.js';
import { publicKeyOf } from '../crypto/x25519.js';
import { sameIp, type Prefix } from '../net/ip.js';
import { newPeerSnapshot, type DeviceControl, type DeviceSnapshot, type PeerSnapshot, type SetOperation } from './control.js';
import { EADDRINUSE, UapiError } from './errors.js';

export interface MemoryControlOptions {
  /** Called before a listen port is applied; return false to make the set fail with EADDRINUSE. */
  canBind?: (port: number) => boolean;
}

function samePrefix(a: Prefix, b: Prefix): boolean {
  return a.bits === b.bits && sameIp(a, b);
}

function clonePeer(p: PeerSnapshot): PeerSnapshot {
  return { ...p, allowedIps: [...p.allowedIps] };
}

export class MemoryDeviceControl implements DeviceControl {
  #state: DeviceSnapshot = { listenPort: 0, fwmark: 0, peers: [] };
  readonly #canBind: (port: number) => boolean;
  /** How many transactions were committed (tests use it to prove nothing was applied). */
  applied = 0;

  constructor(opts: MemoryControlOptions = {}) {
    this.#canBind = opts.canBind ?? (() => true);
  }

  get(): DeviceSnapshot {
    const s = this.#state;
    return { ...s, peers: s.peers.map(clonePeer) };
  }

  /** Replace counters/handshake data of a peer (tests simulate traffic with it). */
  setStats(publicKeyHex: string, stats: Partial<Pick<PeerSnapshot, 'rxBytes' | 'txBytes' | 'lastHandshakeTimeSec' | 'lastHandshakeTimeNsec'>>): void {
    const p = this.#state.peers.find((x) => encodeHexKey(x.publicKey) === publicKeyHex);
    if (!p) throw new Error('no such peer');
    Object.assign(p, stats);
  }

  apply(op: SetOperation): void {
    const next = this.get();
    if (op.privateKey) next.privateKey = isZeroKey(op.privateKey) ? undefined : op.privateKey;
    if (op.listenPort !== undefined) {
      if (!this.#canBind(op.listenPort)) throw new UapiError(EADDRINUSE, `cannot bind port ${op.listenPort}`);
      next.listenPort = op.listenPort;
    }
    if (op.fwmark !== undefined) next.fwmark = op.fwmark;
    if (op.replacePeers) next.peers = [];
    const own = isZeroKey(next.privateKey) ? undefined : encodeHexKey(publicKeyOf(next.privateKey!));
    for (const po of op.peers) {
      const hex = encodeHexKey(po.publicKey);
      if (hex === own) continue;
      const index = next.peers.findIndex((p) => encodeHexKey(p.publicKey) === hex);
      if (po.remove) {
        if (index >= 0) next.peers.splice(index, 1);
        continue;
      }
      if (index < 0 && po.updateOnly) continue;
      let peer = next.peers[index];
      if (!peer) {
        peer = newPeerSnapshot(po.publicKey);
        next.peers.push(peer);
      }
      if (po.presharedKey) peer.presharedKey = isZeroKey(po.presharedKey) ? undefined : po.presharedKey;
      if (po.endpoint) peer.endpoint = po.endpoint.toString();
      if (po.persistentKeepaliveInterval !== undefined) peer.persistentKeepaliveInterval = po.persistentKeepaliveInterval;
      if (po.replaceAllowedIps) peer.allowedIps = [];
      for (const change of po.allowedIps) {
        // Adding moves the prefix from whichever peer held it; removing only affects this peer.
        const holders = change.remove ? [peer] : next.peers;
        for (const h of holders) h.allowedIps = h.allowedIps.filter((a) => !samePrefix(a, change.prefix));
        if (!change.remove) peer.allowedIps.push(change.prefix);
      }
    }
    this.#state = next;
    this.applied++;
  }
}
