/**
 * A set of claimed prefixes that answers "does this prefix overlap any claim, and whose?" in O(prefix length):
 * a binary trie per family, one node per bit, each node counting the claims in its subtree. A prefix P overlaps a
 * claim C when C contains P (C's node lies on P's path from the root) or P contains C (C's node lies in P's
 * subtree). Reconciling a mesh of n members with this is O(n · bits) instead of O(n²) pairwise checks.
 */
import type { Family, Prefix } from '../net/ip.js';

interface Node<T> {
  zero?: Node<T>;
  one?: Node<T>;
  claim?: { prefix: Prefix; owner: T };
  /** Claims in this subtree, this node included. */
  count: number;
}

const bit = (bytes: Uint8Array, i: number) => (bytes[i >> 3]! >> (7 - (i & 7))) & 1;

export class PrefixClaims<T> {
  private readonly roots: Record<Family, Node<T>> = { 4: { count: 0 }, 6: { count: 0 } };

  /** Records `owner`'s claim on `prefix` (network form). A second claim on the same prefix keeps the first. */
  add(prefix: Prefix, owner: T): void {
    const path: Node<T>[] = [];
    let node = this.roots[prefix.family];
    for (let i = 0; i < prefix.bits; i++) {
      path.push(node);
      const side = bit(prefix.bytes, i) ? 'one' : 'zero';
      node = node[side] ??= { count: 0 };
    }
    if (node.claim) return;
    node.claim = { prefix, owner };
    node.count++;
    for (const n of path) n.count++;
  }

  /** A claim overlapping `prefix` (the containing one nearest the root first, else one inside it), or undefined. */
  overlapping(prefix: Prefix): { prefix: Prefix; owner: T } | undefined {
    let node: Node<T> | undefined = this.roots[prefix.family];
    for (let i = 0; node && i < prefix.bits; i++) {
      if (node.claim) return node.claim;
      node = bit(prefix.bytes, i) ? node.one : node.zero;
    }
    if (!node || node.count === 0) return undefined;
    // Some claim lies in this subtree: descend towards one.
    while (!node.claim) node = node.zero && node.zero.count > 0 ? node.zero : node.one!;
    return node.claim;
  }
}
