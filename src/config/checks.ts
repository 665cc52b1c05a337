/**
 * Checks that span sections: duplicate peers, AllowedIPs shared between peers, MTU against IPv6, and what the
 * [Mesh] section needs from the rest of the file.
 */
import { constantTimeEqual, encodeKey } from '../crypto/keys.js';
import { formatPrefix, prefixContains, prefixesOverlap } from '../net/ip.js';
import type { MeshSettings } from './mesh.js';
import type { ParseContext } from './context.js';
import type { ParsedInterface } from './interface.js';
import type { ParsedPeer } from './peer.js';
import { MIN_MTU_IPV6 } from './values.js';

export function checkInterfaceMtu(ctx: ParseContext, iface: ParsedInterface): void {
  const mtu = iface.config?.mtu;
  if (mtu === undefined || mtu >= MIN_MTU_IPV6 || iface.mtuLine === undefined) return;
  const v6 = iface.config!.addresses.findIndex((a) => a.family === 6);
  if (v6 < 0) return;
  ctx.error(
    iface.mtuLine,
    `MTU ${mtu} is below ${MIN_MTU_IPV6}, the minimum for IPv6 (Address ${formatPrefix(iface.config!.addresses[v6]!)} at line ${iface.addressLines[v6]})`,
  );
}

/** A peer whose key is the interface's own, or the same key twice: both are errors. */
export function checkPeerKeys(ctx: ParseContext, iface: ParsedInterface, peers: ParsedPeer[]): void {
  const firstLine = new Map<string, number>();
  const own = iface.config?.publicKey;
  for (const peer of peers) {
    if (!peer.config) continue;
    if (own && constantTimeEqual(own, peer.config.publicKey)) {
      ctx.error(peer.publicKeyLine, "peer PublicKey is this interface's own public key (derived from its PrivateKey)");
    }
    const key = encodeKey(peer.config.publicKey); // public: fine to use as a map key
    const first = firstLine.get(key);
    if (first === undefined) firstLine.set(key, peer.publicKeyLine);
    else ctx.error(peer.publicKeyLine, `duplicate peer PublicKey: the same key is already used at line ${first}`);
  }
}

/**
 * The same prefix in two peers is accepted with a warning: as with wg (each peer's AllowedIPs are applied in file
 * order, and adding a prefix another peer holds moves it), the last peer that lists it owns it, and the earlier ones
 * get no traffic for it. Users rely on this to keep a fallback peer above the preferred one. A prefix nested inside
 * another peer's prefix is legal (longest prefix wins) and only warned about, except inside a /0: a default route
 * beside more specific peers is the ordinary "everything else goes here" setup.
 */
export function checkAllowedIpOverlap(ctx: ParseContext, peers: ParsedPeer[]): void {
  interface Claim {
    peerIndex: number;
    line: number;
    peerLine: number;
    prefixIndex: number;
    /** Taken over by a later peer: it routes nothing, so it is left out of the nesting warnings. */
    superseded: boolean;
  }
  const exact = new Map<string, Claim>();
  const all: Claim[] = [];
  peers.forEach((peer, peerIndex) => {
    const config = peer.config;
    if (!config) return;
    config.allowedIPs.forEach((prefix, prefixIndex) => {
      const claim = { peerIndex, line: peer.allowedIpLines[prefixIndex]!, peerLine: config.line, prefixIndex, superseded: false };
      const text = formatPrefix(prefix);
      const first = exact.get(text);
      if (first && first.peerIndex !== peerIndex) {
        ctx.warn(
          claim.line,
          `AllowedIPs ${text} is also listed by the peer at line ${first.peerLine} (AllowedIPs at line ${first.line}); ` +
            `as with wg, the later peer (line ${claim.peerLine}) owns it and the peer at line ${first.peerLine} gets no traffic for it`,
        );
        first.superseded = true;
      }
      exact.set(text, claim);
      all.push(claim);
    });
  });

  const live = all.filter((c) => !c.superseded);
  for (const a of live) {
    for (const b of live) {
      if (a.peerIndex === b.peerIndex) continue;
      const outer = peers[a.peerIndex]!.config!.allowedIPs[a.prefixIndex]!;
      const inner = peers[b.peerIndex]!.config!.allowedIPs[b.prefixIndex]!;
      if (outer.bits === 0 || outer.bits >= inner.bits || !prefixContains(outer, inner)) continue;
      ctx.warn(
        b.line,
        `AllowedIPs ${formatPrefix(inner)} lies inside ${formatPrefix(outer)} of the peer at line ${a.peerLine} ` +
          `(line ${a.line}); the longer prefix wins`,
      );
    }
  }
}

/**
 * [Mesh] against the rest of the file:
 * - without AllowedIPs the node announces its Address entries as host routes; with neither it would route nothing
 *   into the mesh, which is an error;
 * - a prefix this node announces that overlaps a static [Peer]'s (other than a /0) is a warning: the other members
 *   refuse what clashes with their own static peers, and here packets for it would go to that peer.
 */
export function checkMesh(ctx: ParseContext, iface: ParsedInterface, peers: ParsedPeer[], mesh: { settings: MeshSettings; line: number }): void {
  const own = mesh.settings.allowedIPs;
  if (!own) {
    if (iface.config && iface.config.addresses.length === 0) {
      ctx.error(mesh.line, '[Mesh] has no AllowedIPs and [Interface] no Address: this node would route nothing into the mesh; set one of them');
    }
    return;
  }
  for (const peer of peers) {
    const config = peer.config;
    if (!config) continue;
    for (const p of config.allowedIPs) {
      if (p.bits === 0) continue;
      const clash = own.find((o) => prefixesOverlap(o, p));
      if (clash) {
        ctx.warn(
          mesh.line,
          `[Mesh] AllowedIPs ${formatPrefix(clash)} overlaps ${formatPrefix(p)} of the peer at line ${config.line}: packets for it go to that peer`,
        );
      }
    }
  }
}
