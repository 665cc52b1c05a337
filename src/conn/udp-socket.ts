/**
 * One socket of a NativeBind (one per address family): its fd and watcher, the features it was opened with, its
 * send backlog and the preallocated scratch arrays the send path uses. Shared by the setup (socket-options.ts,
 * offload-probe.ts), the receive loop (native-receive.ts) and the send path (native-send.ts).
 */
import { ADDR_SLOT } from '../net/addr-slot.js';
import type { Backlog } from '../packet/backlog.js';
import type { FdWatcher, NativePoll } from '../native/poll.js';
import { SEND_REPORT_LENGTH } from '../native/udp.js';

export class UdpSocket {
  watcher: FdWatcher | undefined;
  pollErrors = 0;
  /** UDP_SEGMENT sends; turned off for good when the kernel answers EIO. */
  gso = false;
  /** UDP_GRO receives. */
  gro = false;
  /** IP_PKTINFO / IPV6_RECVPKTINFO: received datagrams report their local address. */
  pktinfo = false;
  /** gsoGroups output, and the addon's send report (SEND_REPORT_*: refused groups, their errno, sources refused). */
  readonly groups: Int32Array;
  readonly report = new Int32Array(SEND_REPORT_LENGTH);
  /**
   * Index scratch for splitting a mixed batch by family: entries point into the caller's buf; scratchIndex[k] is the
   * entry's index in the caller's batch (to clear a refused source there).
   */
  readonly scratchOffsets: Int32Array;
  readonly scratchLengths: Int32Array;
  readonly scratchAddrs: Uint8Array;
  readonly scratchLocals: Uint8Array;
  readonly scratchIndex: Int32Array;
  scratchCount = 0;
  private readonly readable: number;
  private readonly readWritable: number;

  /**
   * `scratch`: entries per scratch array (the bind's batch size); `poll`: the addon's POLL_* masks for arm().
   */
  constructor(
    readonly family: 4 | 6,
    readonly fd: number,
    readonly backlog: Backlog,
    scratch: number,
    poll: NativePoll['constants'],
  ) {
    this.scratchOffsets = new Int32Array(scratch);
    this.scratchLengths = new Int32Array(scratch);
    this.scratchAddrs = new Uint8Array(scratch * ADDR_SLOT);
    this.scratchLocals = new Uint8Array(scratch * ADDR_SLOT);
    this.scratchIndex = new Int32Array(scratch);
    this.groups = new Int32Array(Math.max(scratch, backlog.batch.capacity));
    this.readable = poll.POLL_READABLE;
    this.readWritable = poll.POLL_READABLE | poll.POLL_WRITABLE;
  }

  /** (Re)starts the watcher, if started: readable always, writable while a backlog waits. */
  arm(): void {
    if (!this.watcher) return;
    this.watcher.start(this.backlog.count > 0 ? this.readWritable : this.readable);
  }
}

/** Copies one ADDR_SLOT byte by byte: no subarray per datagram on the hot path. */
export function copySlot(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
  for (let j = 0; j < ADDR_SLOT; j++) dst[dstOff + j] = src[srcOff + j]!;
}
