/**
 * An in-memory UDP network for tests: binds on a MemoryNetwork exchange datagrams by address ("192.0.2.1:51820"),
 * so two devices run in one process without root or sockets.
 *
 * Delivery is asynchronous (setImmediate) and batched: everything sent before the network's next turn arrives in
 * as few onReceive batches as the receivers' batch size allows. Faults on demand: dropNext, duplicateNext,
 * reorderNext, a filter, and moving a bind to a new address (roaming). This is test infrastructure: it copies each
 * datagram once into its own buffer, which the real binds avoid.
 *
 * A bind may have several addresses per family, like a host with two addresses on its interface: the first of a
 * family is the one the "kernel" picks as the source; received datagrams report the address they were sent to
 * (and the bind's interface index) in `locals`; a send batch's local slots choose among the bind's addresses, and a
 * source that is not (or no longer) one of them is refused as the kernel refuses it: the datagram goes
 * out from the first address, its slot's family byte is set to 0 and it is counted (see Bind).
 */
import { parseIp, type IpAddress } from '../net/ip.js';
import {
  ADDR_SLOT, slotAddress, slotFamily, slotIsValid, slotKey, slotPort, writeLocalSlot, writeSlot, type EndpointKey,
} from '../net/addr-slot.js';
import { PacketBatch } from '../packet/batch.js';
import { emptyBindStats, type Bind, type BindStats, type ReceiveCallback } from './bind.js';
import { Endpoint } from '../net/endpoint.js';

/** The first port handed out for open(0), as the IANA dynamic range begins. */
const EPHEMERAL_PORT_FIRST = 49_152;
const EPHEMERAL_PORT_LAST = 65_535;
const DEFAULT_MEMORY_BATCH = 32;
const DEFAULT_MEMORY_SLOT_BYTES = 65_535;
/** The interface index memory binds report for their addresses unless told otherwise. */
const DEFAULT_MEMORY_IF_INDEX = 1;

interface InFlight {
  data: Uint8Array;
  src: Uint8Array; // ADDR_SLOT
  dst: Uint8Array; // ADDR_SLOT
}

/** Return false to drop the datagram. */
export type NetworkFilter = (from: Endpoint, to: Endpoint, data: Uint8Array) => boolean;

export interface MemoryNetworkStats {
  delivered: number;
  /** Dropped by dropNext or the filter. */
  dropped: number;
  /** No open, started bind at the destination. */
  undeliverable: number;
}

export class MemoryNetwork {
  readonly stats: MemoryNetworkStats = { delivered: 0, dropped: 0, undeliverable: 0 };
  /** Optional filter applied to every datagram before the fault counters. */
  filter: NetworkFilter | undefined;

  private readonly listeners = new Map<EndpointKey, MemoryBind>();
  private queue: InFlight[] = [];
  private scheduled = false;
  private toDrop = 0;
  private toDuplicate = 0;
  private reorderSize = 0;
  private reorderHeld: InFlight[] = [];
  private nextEphemeral = EPHEMERAL_PORT_FIRST;
  /** @internal the first error a receive callback threw during the current flush */
  callbackError: unknown;

  /**
   * A new bind on one or more addresses, e.g. createBind('192.0.2.1'), createBind(['192.0.2.1', '2001:db8::1']) or
   * createBind(['192.0.2.1', '192.0.2.3']) (the first of a family is its default source). `ifIndex` is the interface
   * index its received datagrams report (default 1).
   */
  createBind(addresses: string | string[], opts: { batchSize?: number; slotSize?: number; ifIndex?: number } = {}): MemoryBind {
    return new MemoryBind(
      this,
      parseAddresses(addresses),
      opts.batchSize ?? DEFAULT_MEMORY_BATCH,
      opts.slotSize ?? DEFAULT_MEMORY_SLOT_BYTES,
      opts.ifIndex ?? DEFAULT_MEMORY_IF_INDEX,
    );
  }

  /** Drops the next `count` datagrams sent on this network. */
  dropNext(count = 1): void {
    this.toDrop += count;
  }

  /** Delivers each of the next `count` datagrams twice. */
  duplicateNext(count = 1): void {
    this.toDuplicate += count;
  }

  /** Holds the next `count` datagrams and releases them in reverse order once the last of them is sent. */
  reorderNext(count = 2): void {
    if (count < 2) throw new RangeError('reordering needs at least 2 datagrams');
    this.reorderSize = count;
    this.reorderHeld = [];
  }

  /** Resolves once every datagram sent so far (and any sent by the receive callbacks meanwhile) was delivered. */
  async settle(): Promise<void> {
    while (this.scheduled) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  // ---- used by MemoryBind --------------------------------------------------------------------------------

  /** @internal */
  register(bind: MemoryBind, addresses: IpAddress[], port: number): void {
    const keys = addresses.map((a) => keyOf(a, port));
    for (const k of keys) {
      const holder = this.listeners.get(k);
      if (holder && holder !== bind) throw addrInUse(addresses, port);
    }
    for (const k of keys) this.listeners.set(k, bind);
  }

  /** @internal */
  unregister(bind: MemoryBind, addresses: IpAddress[], port: number): void {
    for (const a of addresses) {
      const k = keyOf(a, port);
      if (this.listeners.get(k) === bind) this.listeners.delete(k);
    }
  }

  /** @internal A free port on every given address. */
  ephemeralPort(addresses: IpAddress[]): number {
    const span = EPHEMERAL_PORT_LAST - EPHEMERAL_PORT_FIRST + 1;
    for (let tries = 0; tries < span; tries++) {
      const port = this.nextEphemeral;
      this.nextEphemeral = port === EPHEMERAL_PORT_LAST ? EPHEMERAL_PORT_FIRST : port + 1;
      if (addresses.every((a) => !this.listeners.has(keyOf(a, port)))) return port;
    }
    throw new Error('memory network: no free port');
  }

  /** @internal Takes a copy of the datagram and schedules its delivery. */
  transmit(data: Uint8Array, offset: number, length: number, src: Uint8Array, dst: Uint8Array, dstOffset: number): void {
    const pkt: InFlight = {
      data: data.slice(offset, offset + length),
      src: src.slice(0, ADDR_SLOT),
      dst: dst.slice(dstOffset, dstOffset + ADDR_SLOT),
    };
    if (this.filter && !this.filter(Endpoint.fromSlot(pkt.src), Endpoint.fromSlot(pkt.dst), pkt.data)) {
      this.stats.dropped++;
      return;
    }
    if (this.toDrop > 0) {
      this.toDrop--;
      this.stats.dropped++;
      return;
    }
    if (this.reorderSize > 0) {
      this.reorderHeld.push(pkt);
      if (this.reorderHeld.length < this.reorderSize) return;
      const held = this.reorderHeld.reverse();
      this.reorderSize = 0;
      this.reorderHeld = [];
      for (const h of held) this.enqueue(h);
      return;
    }
    this.enqueue(pkt);
  }

  private enqueue(pkt: InFlight): void {
    this.queue.push(pkt);
    if (this.toDuplicate > 0) {
      this.toDuplicate--;
      this.queue.push(pkt);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    const queue = this.queue;
    this.queue = [];
    const touched = new Set<MemoryBind>();
    for (const pkt of queue) {
      const bind = this.listeners.get(slotKey(pkt.dst, 0));
      if (!bind || !bind.accepts()) {
        this.stats.undeliverable++;
        continue;
      }
      bind.enqueueReceived(pkt.data, pkt.src, pkt.dst);
      touched.add(bind);
      this.stats.delivered++;
    }
    for (const bind of touched) bind.deliverPending();
    // Datagrams sent from inside the callbacks were queued meanwhile: keep going on the next turn.
    if (this.queue.length > 0) setImmediate(() => this.flush());
    else this.scheduled = false;
    // Unlike the real binds (which log and carry on), the fake surfaces a throwing callback as an uncaught
    // exception once its bookkeeping is done, so a test sees it.
    const failure = this.callbackError;
    this.callbackError = undefined;
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error('receive callback threw', { cause: failure });
  }
}

export class MemoryBind implements Bind {
  readonly batchSize: number;
  readonly stats: BindStats = emptyBindStats();
  /** The last mark set (the fake network does not route by it). */
  mark = 0;

  private addresses: IpAddress[];
  private boundPort = 0;
  private isOpen = false;
  private onReceive: ReceiveCallback | undefined;
  private readonly rx: PacketBatch;
  private readonly srcScratch = new Uint8Array(ADDR_SLOT);

  /** @internal use MemoryNetwork.createBind */
  constructor(
    private readonly network: MemoryNetwork,
    addresses: IpAddress[],
    batchSize: number,
    slotSize: number,
    private readonly ifIndex: number,
  ) {
    this.addresses = addresses;
    this.batchSize = batchSize;
    this.rx = new PacketBatch(batchSize, slotSize, { addrs: true, locals: true });
  }

  get port(): number {
    return this.boundPort;
  }

  /**
   * The bind's endpoint on its `nth` address of a family ("192.0.2.1:49152"; nth 0 is the default source), e.g. to
   * configure the other side's peer.
   */
  endpoint(family: 4 | 6 = 4, nth = 0): Endpoint {
    const ip = this.addresses.filter((a) => a.family === family)[nth];
    if (!ip) throw new Error(`memory bind has no IPv${family} address number ${nth}`);
    return Endpoint.fromIp(ip, this.boundPort);
  }

  async open(port: number): Promise<number> {
    if (this.isOpen) throw new Error('memory bind is already open');
    if (!Number.isInteger(port) || port < 0 || port > EPHEMERAL_PORT_LAST) throw new RangeError(`bad port ${port}`);
    const chosen = port === 0 ? this.network.ephemeralPort(this.addresses) : port;
    this.network.register(this, this.addresses, chosen);
    this.boundPort = chosen;
    this.isOpen = true;
    return chosen;
  }

  start(onReceive: ReceiveCallback): void {
    if (!this.isOpen) throw new Error('memory bind: start before open');
    this.onReceive = onReceive;
  }

  send(batch: PacketBatch): number {
    const addrs = batch.addrs;
    if (!addrs) throw new Error('send needs a batch with addresses');
    let refused = 0;
    for (let i = 0; i < batch.count; i++) {
      if (!this.sendSlot(batch.buf, batch.offsets[i]!, batch.lengths[i]!, addrs, i * ADDR_SLOT, batch.locals)) refused++;
    }
    return refused;
  }

  setMark(mark: number): void {
    this.mark = mark;
  }

  /**
   * Roaming: moves the bind to new addresses, keeping its port. Datagrams sent afterwards carry the new source;
   * datagrams to the old addresses are undeliverable.
   */
  setAddresses(addresses: string | string[]): void {
    const next = parseAddresses(addresses);
    if (this.isOpen) {
      this.network.unregister(this, this.addresses, this.boundPort);
      try {
        this.network.register(this, next, this.boundPort);
      } catch (e) {
        this.network.register(this, this.addresses, this.boundPort);
        throw e;
      }
    }
    this.addresses = next;
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.network.unregister(this, this.addresses, this.boundPort);
    this.isOpen = false;
    this.onReceive = undefined;
    this.rx.reset();
  }

  // ---- used by MemoryNetwork -----------------------------------------------------------------------------

  /** @internal */
  accepts(): boolean {
    return this.isOpen && this.onReceive !== undefined;
  }

  /** @internal `dst`: the address slot the datagram was sent to, one of ours: reported as its local slot. */
  enqueueReceived(data: Uint8Array, src: Uint8Array, dst: Uint8Array): void {
    if (data.length > this.rx.maxPacketSize) {
      this.stats.receiveDropped++;
      return;
    }
    if (this.rx.count === this.rx.capacity) this.deliverPending();
    const i = this.rx.push(data, 0, data.length, src, 0);
    writeLocalSlot(this.rx.locals!, i * ADDR_SLOT, slotFamily(dst, 0) as 4 | 6, slotAddress(dst, 0), this.ifIndex);
  }

  /** @internal */
  deliverPending(): void {
    const cb = this.onReceive;
    if (this.rx.count === 0 || !cb) return;
    this.stats.received += this.rx.count;
    try {
      cb(this.rx);
    } catch (e) {
      this.network.callbackError ??= e;
    }
    this.rx.reset();
  }

  /**
   * Sends one datagram, from the source in locals[dstOffset] when that is one of our addresses. Returns false when
   * that slot named a source we do not have (refused: cleared, counted, sent from the default source instead).
   */
  private sendSlot(data: Uint8Array, offset: number, length: number, dst: Uint8Array, dstOffset: number, locals: Uint8Array | undefined): boolean {
    if (!this.isOpen || !slotIsValid(dst, dstOffset) || slotPort(dst, dstOffset) === 0) {
      this.stats.sendDropped++;
      return true;
    }
    const family = slotFamily(dst, dstOffset) as 4 | 6;
    let src = this.addresses.find((a) => a.family === family);
    if (!src) {
      this.stats.sendDropped++;
      return true;
    }
    let taken = true;
    if (locals !== undefined && slotFamily(locals, dstOffset) !== 0) {
      const wanted = slotFamily(locals, dstOffset) === family ? slotAddress(locals, dstOffset) : undefined;
      const own = wanted && this.addresses.find((a) => a.family === family && sameBytes(a.bytes, wanted));
      if (own) {
        src = own;
      } else {
        locals[dstOffset] = 0; // as the kernel refuses it: not an address of ours
        this.stats.sourceRefused++;
        taken = false;
      }
    }
    writeSlot(this.srcScratch, 0, family, src.bytes, this.boundPort);
    this.network.transmit(data, offset, length, this.srcScratch, dst, dstOffset);
    this.stats.sent++;
    return taken;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function parseAddresses(addresses: string | string[]): IpAddress[] {
  const list = typeof addresses === 'string' ? [addresses] : addresses;
  if (list.length === 0) throw new Error('a memory bind needs at least one address');
  const out: IpAddress[] = [];
  for (const text of list) {
    const ip = parseIp(text);
    if (!ip) throw new Error(`invalid IP address "${text}"`);
    if (out.some((o) => o.family === ip.family && sameBytes(o.bytes, ip.bytes))) throw new Error(`address ${text} given twice`);
    out.push(ip);
  }
  return out;
}

function keyOf(ip: IpAddress, port: number): EndpointKey {
  return Endpoint.fromIp(ip, port).key();
}

function addrInUse(addresses: IpAddress[], port: number): Error {
  const err = new Error(`EADDRINUSE: memory network: port ${port} is taken on ${addresses.length > 1 ? 'one of the addresses' : 'the address'}`);
  (err as Error & { code: string }).code = 'EADDRINUSE';
  return err;
}
