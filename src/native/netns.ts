/** Network namespaces (native/src/netns.cc): create and delete them as iproute2 does, and run code inside one. */
import type { NativeFdIo } from './fdio.js';
import { loadAddon } from './load.js';

/** The namespace calls, and close(2) for the fds openNetnsFd returns. */
export interface NativeNetns extends Pick<NativeFdIo, 'close'> {
  /**
   * As iproute2: the parent directory (e.g. /run/netns) is created and made a shared mount point once, then
   * unshare(CLONE_NEWNET) + bind mount at path in the calling thread, which then switches back. Throws EEXIST if
   * path exists; on any failure the file is removed again.
   */
  netnsCreate(path: string): void;
  /** umount2(path, MNT_DETACH) + unlink(path). A missing path throws ENOENT; a file that is not mounted is unlinked. */
  netnsDelete(path: string): void;
  /**
   * Runs fn with the calling thread switched (setns) into the namespace at nsPath, then switches back, also when
   * fn throws. Sockets created inside stay in that namespace. fn must be synchronous.
   */
  withNetns<T>(nsPath: string, fn: () => T): T;
  /** open(path, O_RDONLY|O_CLOEXEC) of a namespace file, e.g. for IFLA_NET_NS_FD. Close with close(). */
  openNetnsFd(nsPath: string): number;
}

/** The addon's namespace calls; loads the addon on first use (throws when it is not built). */
export function nativeNetns(): NativeNetns {
  return loadAddon() as NativeNetns;
}
