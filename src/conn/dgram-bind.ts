/**
 * DgramBind: the fallback bind over node:dgram (one udp4 socket and one v6only udp6 socket on the same port),
 * for when the native addon is missing. Same contract as every Bind, but node:dgram delivers one datagram per
 * 'message' event, so this bind gathers what arrives in one turn of the event loop into a batch (delivered on
 * setImmediate or when full), and it allocates per datagram (a Buffer and an address string) both ways.
 * SO_MARK is not reachable through node:dgram: setMark(non-zero) throws.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { parseIp } from '../util/ip.js';
import { ADDR_SLOT, PacketBatch } from './batch.js';
import {
  DEFAULT_BIND_BATCH_SIZE,
  DEFAULT_DATAGRAM_SLOT_BYTES,
  emptyBindStats,
  type Bind,
  type BindStats,
  type ReceiveCallback,
} from './bind.js';
import { Endpoint, slotFamily, slotIsValid, slotPort } from './endpoint.js';

const PORT_PICK_ATTEMPTS = 10;

export interface DgramBindOptions {
  batchSize?: number;
  slotSize?: number;
  /** Address for the udp4 socket (default: any). */
  address4?: string;
  /** Address for the udp6 socket (default: any). */
  address6?: string;
  /** Open the udp6 socket (default true; skipped when IPv6 is unavailable). */
  ipv6?: boolean;
  logger?: Logger;
}

export class DgramBind implements Bind {
  readonly batchSize: number;
  readonly stats: BindStats = emptyBindStats();

  private readonly opts: DgramBindOptions;
  private readonly log: Logger;
  private readonly rx: PacketBatch;
  private readonly srcScratch = new Uint8Array(ADDR_SLOT);
  private sock4: Socket | undefined;
  private sock6: Socket | undefined;
  private onReceive: ReceiveCallback | undefined;
  private flushScheduled = false;
  private boundPort = 0;

  constructor(opts: DgramBindOptions = {}) {
    this.opts = opts;
    this.log = (opts.logger ?? silentLogger).child({ component: 'dgram-bind' });
    this.batchSize = opts.batchSize ?? DEFAULT_BIND_BATCH_SIZE;
    this.rx = new PacketBatch(this.batchSize, opts.slotSize ?? DEFAULT_DATAGRAM_SLOT_BYTES, { addrs: true });
  }

  get port(): number {
    return this.boundPort;
  }

  async open(port: number): Promise<number> {
    if (this.sock4) throw new Error('bind is already open');
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`port out of range: ${port}`);
    let lastError: unknown;
    for (let attempt = 0; attempt < (port === 0 ? PORT_PICK_ATTEMPTS : 1); attempt++) {
      const s4 = createSocket({ type: 'udp4' });
      try {
        await bindSocket(s4, port, this.opts.address4);
      } catch (e) {
        s4.close();
        throw new Error(`cannot open UDP port ${port} (IPv4): ${(e as Error).message}`, { cause: e });
      }
      const chosen = s4.address().port;
      if (this.opts.ipv6 === false) return this.opened(s4, undefined, chosen);
      const s6 = createSocket({ type: 'udp6', ipv6Only: true });
      try {
        await bindSocket(s6, chosen, this.opts.address6);
        return this.opened(s4, s6, chosen);
      } catch (e) {
        s6.close();
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAFNOSUPPORT') {
          this.log.warn('IPv6 is not available: UDP bind is IPv4 only');
          return this.opened(s4, undefined, chosen);
        }
        s4.close();
        lastError = e;
        if (!(port === 0 && code === 'EADDRINUSE')) break;
      }
    }
    throw new Error(`cannot open UDP port ${port} for IPv4 and IPv6: ${(lastError as Error).message}`, { cause: lastError });
  }

  start(onReceive: ReceiveCallback): void {
    if (!this.sock4) throw new Error('bind: start before open');
    if (this.onReceive) throw new Error('bind already started');
    this.onReceive = onReceive;
    for (const s of [this.sock4, this.sock6]) s?.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
  }

  send(batch: PacketBatch): void {
    const addrs = batch.addrs;
    if (!addrs) throw new Error('send needs a batch with addresses');
    for (let i = 0; i < batch.count; i++) this.sendSlot(batch.buf, batch.offsets[i]!, batch.lengths[i]!, addrs, i * ADDR_SLOT);
  }

  sendOne(data: Uint8Array, offset: number, length: number, to: Endpoint): void {
    this.sendSlot(data, offset, length, to.slot, 0);
  }

  setMark(mark: number): void {
    if (mark === 0) return;
    throw new Error('fwmark is not supported by the node:dgram bind (SO_MARK needs the native addon)');
  }

  async close(): Promise<void> {
    const sockets = [this.sock4, this.sock6].filter((s): s is Socket => s !== undefined);
    this.sock4 = undefined;
    this.sock6 = undefined;
    this.onReceive = undefined;
    this.rx.reset();
    this.boundPort = 0;
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private opened(s4: Socket, s6: Socket | undefined, port: number): number {
    this.sock4 = s4;
    this.sock6 = s6;
    this.boundPort = port;
    for (const s of [s4, s6]) s?.on('error', (err) => this.log.warn({ err }, 'UDP socket error'));
    return port;
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (!this.onReceive) return;
    if (msg.length > this.rx.maxPacketSize) {
      this.stats.receiveDropped++;
      return;
    }
    const ip = parseIp(rinfo.address.split('%')[0]!);
    if (!ip) {
      this.stats.receiveDropped++;
      return;
    }
    if (this.rx.count === this.rx.capacity) this.flush();
    Endpoint.fromIp(ip, rinfo.port).writeTo(this.srcScratch, 0);
    this.rx.push(msg, 0, msg.length, this.srcScratch, 0);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const cb = this.onReceive;
    if (!cb || this.rx.count === 0) return;
    this.stats.received += this.rx.count;
    try {
      cb(this.rx);
    } catch (e) {
      this.log.error({ err: e }, 'receive callback threw');
    }
    this.rx.reset();
  }

  private sendSlot(data: Uint8Array, offset: number, length: number, addrs: Uint8Array, at: number): void {
    const family = slotIsValid(addrs, at) ? slotFamily(addrs, at) : 0;
    const sock = family === 4 ? this.sock4 : family === 6 ? this.sock6 : undefined;
    if (!sock || slotPort(addrs, at) === 0) {
      this.stats.sendDropped++;
      return;
    }
    const to = Endpoint.fromSlot(addrs, at);
    // dgram may send after this call returns, and the caller reuses its batch: hand it a copy.
    const copy = Buffer.from(data.subarray(offset, offset + length));
    sock.send(copy, to.port, to.host, (err) => {
      if (err) {
        this.stats.sendDropped++;
        this.log.debug({ err }, 'send failed');
      } else {
        this.stats.sent++;
      }
    });
  }
}

function bindSocket(s: Socket, port: number, address: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    s.once('error', onError);
    s.bind({ port, address: address || undefined, exclusive: true }, () => {
      s.off('error', onError);
      resolve();
    });
  });
}
