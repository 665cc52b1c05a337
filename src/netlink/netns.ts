/**
 * Named network namespaces the iproute2 way: /run/netns/NAME is a bind mount of a namespace's nsfs file, so
 * `ip netns` and tunvpn see the same namespaces. create/delete go through the addon (syscalls); list/exists read
 * the directory.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isNativeError } from '../native/errors.js';
import { nativeNetns as native } from '../native/netns.js';
import { NetlinkArgumentError, NetlinkError } from './errors.js';

export const NETNS_RUN_DIR = '/run/netns';
/** Longest namespace name we accept (a file name, kept short enough for interface-name-like use in logs). */
export const NETNS_NAME_MAX = 64;
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const EEXIST = 17;
const ENOENT = 2;

/** Throws unless name is 1..64 of [A-Za-z0-9_.-], not starting with '.' or '-' (no paths, no "..", no options). */
export function checkNetnsName(name: unknown, op = 'netns'): string {
  if (typeof name !== 'string' || name.length > NETNS_NAME_MAX || !NAME_RE.test(name)) {
    throw new NetlinkArgumentError(`${op}: invalid namespace name ${JSON.stringify(name)} (1..${NETNS_NAME_MAX} of A-Z a-z 0-9 _ . -, not starting with . or -)`);
  }
  return name;
}

/** /run/netns/NAME. */
export function netnsPath(name: string): string {
  return join(NETNS_RUN_DIR, checkNetnsName(name, `netns path ${name}`));
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

/** Names under /run/netns, sorted; [] when the directory does not exist. */
export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_RUN_DIR).filter((n) => NAME_RE.test(n)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

function wrapNative(op: string, e: unknown): never {
  if (isNativeError(e)) throw new NetlinkError(op, e.errno, e.message);
  throw e;
}

/** Creates a new, empty network namespace /run/netns/NAME. Fails with EEXIST if it exists. */
export function createNetns(name: string): void {
  const op = `create netns ${name}`;
  const path = netnsPath(name);
  if (existsSync(path)) throw new NetlinkError(op, EEXIST, `${path} already exists`);
  try {
    native().netnsCreate(path);
  } catch (e) {
    wrapNative(op, e);
  }
}

/** Unmounts and removes /run/netns/NAME (the namespace dies with its last user). ENOENT if absent. */
export function deleteNetns(name: string): void {
  const op = `delete netns ${name}`;
  const path = netnsPath(name);
  if (!existsSync(path)) throw new NetlinkError(op, ENOENT, `${path} does not exist`);
  try {
    native().netnsDelete(path);
  } catch (e) {
    wrapNative(op, e);
  }
}

/** Opens /run/netns/NAME (for IFLA_NET_NS_FD); the caller closes it with native().close(fd). */
export function openNetnsFd(name: string): number {
  try {
    return native().openNetnsFd(netnsPath(name));
  } catch (e) {
    wrapNative(`open netns ${name}`, e);
  }
}

/** This process's own network namespace, for moving a link back to it (IFLA_NET_NS_FD). */
export const SELF_NETNS_PATH = '/proc/self/ns/net';

/** Opens this process's own network namespace; the caller closes it with closeNetnsFd. */
export function openSelfNetnsFd(): number {
  try {
    return native().openNetnsFd(SELF_NETNS_PATH);
  } catch (e) {
    wrapNative('open the own network namespace', e);
  }
}

/** Closes a namespace fd from openNetnsFd or openSelfNetnsFd. */
export function closeNetnsFd(fd: number): void {
  native().close(fd);
}

/**
 * Runs fn (synchronously) with the calling thread inside namespace NAME (setns), and switches back before
 * returning fn's result. Sockets and files opened inside fn stay in that namespace.
 */
export function inNetns<T>(name: string, fn: () => T): T {
  return native().withNetns(netnsPath(name), fn);
}

/** The namespace helpers as one object: netns.create('a'), netns.delete('a'), ... */
export const netns = {
  create: createNetns,
  delete: deleteNetns,
  list: listNetns,
  exists: netnsExists,
  path: netnsPath,
  openFd: openNetnsFd,
  openSelfFd: openSelfNetnsFd,
  closeFd: closeNetnsFd,
  run: inNetns,
  checkName: checkNetnsName,
};
