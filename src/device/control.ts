/**
 * The device's side of the UAPI: a snapshot for `get=1`, and `set=1` transactions applied in wireguard-go's order
 * (see src/uapi/control.ts for the semantics). The UAPI server validated the request before calling apply().
 */
import { constantTimeEqual, isZeroKey } from '../crypto/keys.js';
import type { Logger } from '../log.js';
import type { Zones } from '../net/endpoint.js';
import type { DeviceControl, DeviceSnapshot, PeerOperation, PeerSnapshot, SetOperation } from '../uapi/control.js';
import { EADDRINUSE, UapiError } from '../uapi/errors.js';
import type { Device } from './device.js';
import { flattenStats } from './stats.js';
import { MS_PER_S, NS_PER_MS } from '../protocol/constants.js';

export class DeviceControlAdapter implements DeviceControl {
  /**
   * `zones` names the interface of a scoped endpoint in `get` ("[fe80::1%eth0]:51820", as wireguard-go writes it);
   * without it the scope id is written as a number.
   */
  constructor(
    private readonly device: Device,
    private readonly log: Logger,
    private readonly zones?: Pick<Zones, 'nameOf'>,
  ) {}

  get(): DeviceSnapshot {
    const d = this.device;
    const peers: PeerSnapshot[] = [];
    for (const peer of d.core.allPeers()) {
      const psk = peer.handshake.presharedKey;
      const last = peer.timers.lastHandshakeAt;
      const wallMs = last === null ? 0 : d.wallClock(last);
      peers.push({
        publicKey: peer.publicKey,
        presharedKey: isZeroKey(psk) ? undefined : psk,
        endpoint: peer.endpoint?.format(this.zones),
        persistentKeepaliveInterval: Math.round(peer.timers.persistentKeepaliveIntervalMs / MS_PER_S),
        lastHandshakeTimeSec: Math.floor(wallMs / MS_PER_S),
        lastHandshakeTimeNsec: Math.floor((wallMs % MS_PER_S) * NS_PER_MS),
        rxBytes: peer.rxBytes,
        txBytes: peer.txBytes,
        allowedIps: d.core.allowedIps
          .entriesFor(peer)
          .map((e) => ({ family: e.family, bytes: e.address, bits: e.cidr })),
        protocolVersion: 1,
      });
    }
    return { privateKey: d.privateKeyCopy(), listenPort: d.listenPort, fwmark: d.fwMark, peers };
  }

  /** Device counters, flattened: tunPackets, datagrams, …, dropped.<reason>, handshakes.<name>. */
  stats(): Record<string, number> {
    return flattenStats(this.device.stats);
  }

  async apply(op: SetOperation): Promise<void> {
    const d = this.device;
    if (op.privateKey) d.setPrivateKey(op.privateKey);
    if (op.listenPort !== undefined && op.listenPort !== d.listenPort) {
      try {
        await d.setListenPort(op.listenPort);
      } catch (e) {
        throw new UapiError(EADDRINUSE, `cannot bind port ${op.listenPort}: ${(e as Error).message}`);
      }
    }
    if (op.fwmark !== undefined && op.fwmark !== d.fwMark) {
      try {
        d.setFwMark(op.fwmark);
      } catch (e) {
        throw new UapiError(EADDRINUSE, `cannot set fwmark ${op.fwmark}: ${(e as Error).message}`);
      }
    }
    if (op.replacePeers) for (const peer of [...d.core.allPeers()]) d.removePeer(peer);
    for (const p of op.peers) this.applyPeer(p);
  }

  private applyPeer(p: PeerOperation): void {
    const d = this.device;
    if (constantTimeEqual(p.publicKey, d.publicKey)) return;
    const existing = d.peer(p.publicKey);
    if (p.remove) {
      if (existing) d.removePeer(existing);
      return;
    }
    if (p.updateOnly && !existing) return;
    const peer = d.setPeer({
      publicKey: p.publicKey,
      presharedKey: p.presharedKey,
      endpoint: p.endpoint,
      persistentKeepalive: p.persistentKeepaliveInterval,
      replaceAllowedIPs: p.replaceAllowedIps,
    });
    const trie = d.core.allowedIps;
    for (const a of p.allowedIps) {
      if (a.remove) {
        if (trie.entriesFor(peer).some((e) => e.cidr === a.prefix.bits && constantTimeEqual(e.address, a.prefix.bytes))) {
          trie.removeExact(a.prefix.family, a.prefix.bytes, a.prefix.bits);
        }
      } else {
        trie.insert(a.prefix.family, a.prefix.bytes, a.prefix.bits, peer);
      }
    }
    this.log.debug('peer configured through UAPI');
  }
}
