/** Test helper: one datagram through any Bind's ordinary batched send. */
import type { Bind } from '../../src/conn/bind.js';
import type { Endpoint } from '../../src/net/endpoint.js';
import { PacketBatch } from '../../src/packet/batch.js';

/** Sends data[offset, offset+length) to `to` as a batch of one. */
export function sendDatagram(bind: Bind, data: Uint8Array, to: Endpoint, offset = 0, length = data.length - offset): void {
  const batch = new PacketBatch(1, Math.max(1, length), { addrs: true });
  batch.push(data, offset, length, to.slot);
  bind.send(batch);
}
