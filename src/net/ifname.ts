/**
 * Interface names: the one place for the kernel's rule and for wg-quick's stricter one.
 *
 * - The kernel (dev_valid_name, net/core/dev.c): 1 to IFNAMSIZ - 1 bytes, not "." or "..", no '/', ':' or
 *   whitespace. Anything that names an existing or new link goes through this rule (netlink, TUN, the UAPI socket
 *   path, site files).
 * - wg-quick (src/wg-quick/linux.bash): 1 to 15 of a-z A-Z 0-9 _ = + . -, the names a config file may carry
 *   (`wg0.conf` → `wg0`). tunvpn applies it where wg-quick or wireguard-go's command line would: config file
 *   names, `up --interface`, `tunvpnd IFACE`.
 */

/** include/uapi/linux/if.h: the name buffer, NUL included. */
export const IFNAMSIZ = 16;
/** Longest interface name in bytes. */
export const IFNAME_MAX_BYTES = IFNAMSIZ - 1;

/** wg-quick's interface name pattern. */
export const WG_QUICK_IFNAME = /^[a-zA-Z0-9_=+.-]{1,15}$/;
/** How wg-quick's rule reads in an error message. */
export const WG_QUICK_IFNAME_RULE = '1 to 15 of a-z A-Z 0-9 _ = + . -';

/** Why `name` is not a valid Linux interface name (the kernel's rule above), or undefined when it is. */
export function ifnameProblem(name: string): string | undefined {
  const bad = `invalid interface name ${JSON.stringify(name)}`;
  if (name.length === 0) return `${bad}: empty`;
  if (Buffer.byteLength(name) > IFNAME_MAX_BYTES) return `${bad}: longer than ${IFNAME_MAX_BYTES} bytes`;
  if (name === '.' || name === '..') return bad;
  if (/[/:\s\0]/.test(name)) return `${bad}: contains '/', ':' or whitespace`;
  return undefined;
}

/** Whether `name` follows wg-quick's rule (which implies the kernel's). */
export function isWgQuickIfname(name: string): boolean {
  return WG_QUICK_IFNAME.test(name);
}
