/** How requests name links and namespaces: by name, by ifindex, or both; namespaces by name or by fd. */

/**
 * A link known by its ifindex and its name: requests use the index (a name can be reused by another link), messages
 * the name, so an error reads "add address fd00::1/64 to wg0", not "... to 6".
 */
export interface IndexedLink {
  index: number;
  name: string;
}
/** A link referenced by name, by ifindex, or by both. */
export type LinkRef = string | number | IndexedLink;

/** How a link reads in messages: its name when the reference has one, else its index. */
export function linkName(ref: LinkRef): string {
  return typeof ref === 'object' ? ref.name : String(ref);
}

/** The ifindex a reference carries (undefined for a bare name, which the caller resolves). */
export function refIndex(ref: LinkRef): number | undefined {
  return typeof ref === 'number' ? ref : typeof ref === 'object' ? ref.index : undefined;
}
/** A network namespace: a name under /run/netns, or an open fd of one. */
export type NetnsRef = string | number;
