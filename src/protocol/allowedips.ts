/**
 * Allowed IPs: a binary trie per address family mapping prefixes to a value (a peer), with longest-prefix match.
 * lookup() reads the address straight out of a packet buffer at an offset and allocates nothing. Plain one-bit-per-
 * level trie: at most 32 (IPv4) or 128 (IPv6) steps per lookup.
 *
 * Beside the trie, each value keeps its prefixes in the order they were given to it, as the kernel (a per-peer list,
 * list_move_tail on insert) and wireguard-go (trieEntries, PushBack on insert) do, so `wg show allowed-ips` and
 * `wg showconf` list them as configured: inserting a prefix appends it to its new owner's list, also when that owner
 * already had it, and takes it out of its old owner's list. Only insert and remove touch that list; lookup never does.
 */

export type Family = 4 | 6;

interface Node<T> {
  zero: Node<T> | null;
  one: Node<T> | null;
  value: T | null;
}

export interface AllowedIpEntry {
  family: Family;
  /** Network address, host bits zero (4 or 16 bytes). */
  address: Uint8Array;
  cidr: number;
}

function addrBytes(family: Family): number {
  return family === 4 ? 4 : 16;
}

function newNode<T>(): Node<T> {
  return { zero: null, one: null, value: null };
}

/** A copy of address with the bits after cidr cleared. */
function networkBytes(address: Uint8Array, cidr: number): Uint8Array {
  const out = Uint8Array.from(address);
  for (let i = cidr; i < out.length * 8; i++) out[i >>> 3]! &= ~(0x80 >>> (i & 7));
  return out;
}

function bitAt(buf: Uint8Array, off: number, i: number): number {
  return (buf[off + (i >>> 3)]! >>> (7 - (i & 7))) & 1;
}

export class AllowedIps<T> {
  private readonly roots: { 4: Node<T>; 6: Node<T> } = { 4: newNode(), 6: newNode() };
  /** Each value's prefixes, keyed by their trie node, in insertion order (a Map iterates in insertion order). */
  private readonly byValue = new Map<T, Map<Node<T>, AllowedIpEntry>>();

  private checkPrefix(family: Family, address: Uint8Array, cidr: number): void {
    if (family !== 4 && family !== 6) throw new RangeError(`bad address family ${String(family)}`);
    if (address.length !== addrBytes(family)) throw new RangeError(`IPv${family} address must be ${addrBytes(family)} bytes`);
    if (!Number.isInteger(cidr) || cidr < 0 || cidr > addrBytes(family) * 8) throw new RangeError(`bad prefix length ${cidr}`);
  }

  /**
   * Maps address/cidr (host bits ignored) to value, replacing any previous owner of exactly that prefix; the prefix
   * goes to the end of value's list (entriesFor).
   */
  insert(family: Family, address: Uint8Array, cidr: number, value: T): void {
    this.checkPrefix(family, address, cidr);
    let node = this.roots[family];
    for (let i = 0; i < cidr; i++) {
      if (bitAt(address, 0, i)) node = node.one ??= newNode();
      else node = node.zero ??= newNode();
    }
    this.unlist(node);
    node.value = value;
    let list = this.byValue.get(value);
    if (!list) this.byValue.set(value, (list = new Map<Node<T>, AllowedIpEntry>()));
    list.set(node, { family, address: networkBytes(address, cidr), cidr });
  }

  /** Takes node out of its owner's list (before the node changes owner or loses its value). */
  private unlist(node: Node<T>): void {
    if (node.value === null) return;
    const list = this.byValue.get(node.value);
    if (!list) return;
    list.delete(node);
    if (list.size === 0) this.byValue.delete(node.value);
  }

  /** Removes exactly address/cidr; returns whether it existed. */
  removeExact(family: Family, address: Uint8Array, cidr: number): boolean {
    this.checkPrefix(family, address, cidr);
    const path: Node<T>[] = [this.roots[family]];
    let node: Node<T> | null = this.roots[family];
    for (let i = 0; i < cidr && node; i++) {
      node = bitAt(address, 0, i) ? node.one : node.zero;
      if (node) path.push(node);
    }
    if (!node || node.value === null) return false;
    this.unlist(node);
    node.value = null;
    this.prunePath(path, address);
    return true;
  }

  private prunePath(path: Node<T>[], address: Uint8Array): void {
    for (let depth = path.length - 1; depth > 0; depth--) {
      const n = path[depth]!;
      if (n.value !== null || n.zero || n.one) return;
      const parent = path[depth - 1]!;
      if (bitAt(address, 0, depth - 1)) parent.one = null;
      else parent.zero = null;
    }
  }

  /**
   * Removes every prefix mapped to value: one removeExact per prefix in its list, so the cost grows with the
   * value's own prefixes, not with the whole trie (removing each of 10,000 peers stays cheap).
   */
  removeByValue(value: T): void {
    const list = this.byValue.get(value);
    if (!list) return;
    for (const e of [...list.values()]) this.removeExact(e.family, e.address, e.cidr);
    this.byValue.delete(value);
  }

  /**
   * Longest-prefix match of the address at buf[off] (4 bytes for IPv4, 16 for IPv6). Returns the value or
   * undefined. Allocates nothing; the caller guarantees the bytes are in range.
   */
  lookup(family: Family, buf: Uint8Array, off: number): T | undefined {
    const bits = family === 4 ? 32 : 128;
    let node: Node<T> | null = this.roots[family];
    let best: T | null = node.value;
    for (let i = 0; i < bits; i++) {
      node = bitAt(buf, off, i) ? node.one : node.zero;
      if (node === null) break;
      if (node.value !== null) best = node.value;
    }
    return best === null ? undefined : best;
  }

  /** All prefixes mapped to value, in the order they were inserted (see the top of this file); fresh copies. */
  entriesFor(value: T): AllowedIpEntry[] {
    const list = this.byValue.get(value);
    if (!list) return [];
    return [...list.values()].map((e) => ({ family: e.family, address: Uint8Array.from(e.address), cidr: e.cidr }));
  }
}
