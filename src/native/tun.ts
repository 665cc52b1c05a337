/** TUN/TAP devices (native/src/tun.cc): open /dev/net/tun and the TUNSET* ioctls. */
import type { NativeFdLifecycle } from './fd-lifecycle.js';
import { loadAddon } from './load.js';

/** The TUN ioctls, with what a device fd needs from open to close (NativeFdLifecycle). */
export interface NativeTun extends NativeFdLifecycle {
  /** linux/if_tun.h. */
  readonly constants: NativeFdLifecycle['constants'] & {
    IFF_TUN: number;
    IFF_TAP: number;
    IFF_NO_PI: number;
    IFF_VNET_HDR: number;
    IFF_MULTI_QUEUE: number;
    TUN_F_CSUM: number;
    TUN_F_TSO4: number;
    TUN_F_TSO6: number;
    TUN_F_TSO_ECN: number;
    TUN_F_USO4: number;
    TUN_F_USO6: number;
  };
  /** open("/dev/net/tun") + TUNSETIFF with `flags` (IFF_TUN|IFF_NO_PI typical). Empty name: kernel picks. */
  tunOpen(name: string, flags: number): { fd: number; name: string };
  /** TUNSETOFFLOAD with TUN_F_* flags. */
  tunSetOffload(fd: number, flags: number): void;
  /** TUNSETVNETHDRSZ. */
  tunSetVnetHdrSize(fd: number, size: number): void;
  /** TUNSETPERSIST (a persistent device outlives the fd). */
  tunSetPersist(fd: number, persist: boolean): void;
}

/** The addon's TUN calls; loads the addon on first use (throws when it is not built). */
export function nativeTun(): NativeTun {
  return loadAddon() as NativeTun;
}
