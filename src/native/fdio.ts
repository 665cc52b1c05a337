/** Generic fd I/O (native/src/fdio.cc): close, and the batched read(2)/write(2)/writev(2) a TUN fd is driven with. */
import { loadAddon } from './load.js';

export interface NativeFdIo {
  /** close(2). */
  close(fd: number): void;
  /** write(2) of buf[offset, offset+length). Returns bytes written, or -1 on EAGAIN. */
  write(fd: number, buf: Uint8Array, offset: number, length: number): number;
  /**
   * Reads up to `max` packets with read(2): packet i lands at arena[i*slotSize ...], its length in lengths[i].
   * Stops at the first EAGAIN. Returns the number of packets read (0 if none was ready). A hard error throws
   * only when nothing was read yet; otherwise the next call reports it.
   */
  readBatch(fd: number, arena: Uint8Array, slotSize: number, lengths: Int32Array, max: number): number;
  /**
   * Writes packets i < count (arena[offsets[i], offsets[i]+lengths[i])) with write(2) each.
   * Returns how many were written before an EAGAIN (== count when all were). A hard error (e.g. EINVAL for a
   * malformed packet, EIO while the device is down) throws if it hits packet 0; on a later packet the count so
   * far is returned, so the next call, starting at that packet, throws for it.
   */
  writeBatch(fd: number, arena: Uint8Array, offsets: Int32Array, lengths: Int32Array, count: number): number;
  /**
   * Batched writev(2), for writes that need a header or gather several slices (a TUN with IFF_VNET_HDR: a
   * virtio_net_hdr, then a packet, or a GRO super-packet gathered from the first segment and the payloads of the
   * rest). Write w is heads[w*headSize, +headSize) (nothing when headSize is 0) followed by the next parts[w]
   * (1..128) slices arena[offsets[j], offsets[j]+lengths[j]), slices being consumed in order across writes.
   * Returns how many writes were done before EAGAIN; hard errors as writeBatch.
   */
  writevBatch(
    fd: number,
    heads: Uint8Array,
    headSize: number,
    arena: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    parts: Int32Array,
    count: number,
  ): number;
}

/** The addon's fd I/O; loads the addon on first use (throws when it is not built). */
export function nativeFdIo(): NativeFdIo {
  return loadAddon() as NativeFdIo;
}
