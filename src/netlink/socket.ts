/**
 * NetlinkSocket: request/response over one NETLINK_ROUTE socket.
 *
 * - One request in flight per socket; others wait in a FIFO queue. Each gets a fresh sequence number, and
 *   replies whose seq (or port id) does not match the request in flight are ignored (late replies of a failed
 *   request, notifications).
 * - A non-dump request carries NLM_F_ACK and completes at the kernel's NLMSG_ERROR: error 0 resolves with any
 *   reply messages received before it; a negative error rejects with a NetlinkError naming the operation and
 *   carrying the kernel's extended-ack text.
 * - A dump completes at NLMSG_DONE. A dump the kernel marks NLM_F_DUMP_INTR (the table changed under it) is
 *   retried once; interrupted again, it rejects with EINTR.
 * - ENOBUFS from recv (replies were dropped) rejects the request in flight with an ordinary NetlinkError.
 * - The fd watcher runs only while a request is in flight, so an idle socket never keeps the process alive.
 *   close() rejects everything pending and releases the watcher and the fd.
 */
import type { FdWatcher } from '../native/poll.js';
import { isNativeError } from '../native/errors.js';
import { openNativeChannel, type NetlinkChannel } from './channel.js';
import { NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP_INTR } from './constants.js';
import { HOST_LE } from './endian.js';
import { NetlinkError } from './errors.js';
import { frame, parseError, parseMessages, setSeq, type NlMessage, type NlRequest } from './message.js';

/** Receive buffer: the kernel caps a dump datagram at 32 KiB (plus headroom). */
const RECV_BUFFER_BYTES = 64 * 1024;
const EINTR = 4;
const EAGAIN = 11;
const ENOBUFS = 105;
const ECANCELED = 125;

interface Pending {
  req: NlRequest;
  framed: Uint8Array;
  seq: number;
  replies: NlMessage[];
  interrupted: boolean;
  retried: boolean;
  resolve: (m: NlMessage[]) => void;
  reject: (e: Error) => void;
}

export class NetlinkSocket {
  private readonly buf = new Uint8Array(RECV_BUFFER_BYTES);
  private readonly queue: Pending[] = [];
  private inFlight: Pending | undefined;
  private watcher: FdWatcher | undefined;
  private watching = false;
  private nextSeq: number;
  private isClosed = false;

  constructor(private readonly channel: NetlinkChannel) {
    // Any start works; a random one keeps replies meant for a previous socket with the same port id apart.
    this.nextSeq = (Math.random() * 0x7fffffff) >>> 0 || 1;
  }

  /** Opens a NETLINK_ROUTE socket (inside the namespace file at netnsPath, e.g. /run/netns/NAME). */
  static open(opts: { netnsPath?: string } = {}): NetlinkSocket {
    return new NetlinkSocket(openNativeChannel(opts.netnsPath));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Sends req when the requests queued before it have completed. Resolves with the reply messages (data
   * messages only: no ACK, no DONE); rejects with a NetlinkError.
   */
  request(req: NlRequest): Promise<NlMessage[]> {
    if (this.isClosed) return Promise.reject(new NetlinkError(req.what, ECANCELED, 'netlink socket is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ req, framed: frame(req, 0, 0), seq: 0, replies: [], interrupted: false, retried: false, resolve, reject });
      this.pump();
    });
  }

  /** Rejects pending requests, stops the watcher, closes the fd. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const pending = this.inFlight ? [this.inFlight, ...this.queue] : [...this.queue];
    this.inFlight = undefined;
    this.queue.length = 0;
    this.watcher?.close();
    this.watcher = undefined;
    this.channel.close();
    for (const p of pending) p.reject(new NetlinkError(p.req.what, ECANCELED, 'netlink socket closed before the reply'));
  }

  private pump(): void {
    while (!this.inFlight && !this.isClosed) {
      const next = this.queue.shift();
      if (!next) {
        this.setWatching(false);
        return;
      }
      this.inFlight = next;
      if (this.transmit(next)) this.setWatching(true);
    }
  }

  /** Sends p with a fresh seq; on failure rejects it, clears inFlight and returns false. */
  private transmit(p: Pending): boolean {
    p.seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) >>> 0 || 1;
    setSeq(p.framed, p.seq);
    try {
      if (this.channel.send(p.framed) < 0) throw new NetlinkError(p.req.what, EAGAIN, 'netlink send would block');
      return true;
    } catch (e) {
      this.fail(p, e);
      return false;
    }
  }

  private setWatching(on: boolean): void {
    if (on === this.watching) return;
    if (on) {
      this.watcher ??= this.channel.watch((events) => this.onReadable(events));
      this.watcher.start(this.channel.pollReadable);
    } else {
      this.watcher?.stop();
    }
    this.watching = on;
  }

  private onReadable(events: number): void {
    if (this.isClosed) return;
    if (events < 0) {
      if (this.inFlight) this.fail(this.inFlight, new NetlinkError(this.inFlight.req.what, -events, 'poll error on the netlink socket'));
      this.pump();
      return;
    }
    for (;;) {
      let n: number;
      try {
        n = this.channel.recv(this.buf);
      } catch (e) {
        const p = this.inFlight;
        if (p) {
          const overflow = isNativeError(e) && e.code === 'ENOBUFS';
          this.fail(p, overflow ? new NetlinkError(p.req.what, ENOBUFS, 'netlink receive buffer overflowed; replies were lost') : e);
        }
        if (!isNativeError(e) || e.code !== 'ENOBUFS') break;
        continue;
      }
      if (n < 0 || this.isClosed) break;
      try {
        for (const m of parseMessages(this.buf, n)) this.dispatch(m);
      } catch (e) {
        if (this.inFlight) this.fail(this.inFlight, e);
      }
    }
    this.pump();
  }

  private dispatch(m: NlMessage): void {
    const p = this.inFlight;
    if (!p || m.seq !== p.seq || (m.pid !== this.channel.portId && m.pid !== 0)) return;
    if (m.flags & NLM_F_DUMP_INTR) p.interrupted = true;
    if (m.type === NLMSG_ERROR) {
      const err = parseError(m);
      if (err.errno !== 0) this.fail(p, new NetlinkError(p.req.what, err.errno, err.extack));
      else this.finish(p);
    } else if (m.type === NLMSG_DONE) {
      const status = doneStatus(m);
      if (status !== 0) this.fail(p, new NetlinkError(p.req.what, status));
      else if (!p.interrupted) this.finish(p);
      else if (!p.retried) this.retry(p);
      else this.fail(p, new NetlinkError(p.req.what, EINTR, 'dump interrupted twice (NLM_F_DUMP_INTR): the table kept changing'));
    } else if (m.type >= 16) {
      // Below 16 are control messages (NOOP, OVERRUN): nothing to collect.
      p.replies.push({ ...m, payload: new Uint8Array(m.payload) });
    }
  }

  private retry(p: Pending): void {
    p.retried = true;
    p.interrupted = false;
    p.replies = [];
    if (!this.transmit(p)) this.pump();
  }

  private finish(p: Pending): void {
    if (this.inFlight === p) this.inFlight = undefined;
    p.resolve(p.replies);
  }

  private fail(p: Pending, e: unknown): void {
    if (this.inFlight === p) this.inFlight = undefined;
    p.reject(e instanceof Error ? e : new NetlinkError(p.req.what, EAGAIN, String(e)));
  }
}

/** NLMSG_DONE may carry an int: 0, or a negative errno when the dump failed part-way. */
function doneStatus(m: NlMessage): number {
  if (m.payload.length < 4) return 0;
  const v = new DataView(m.payload.buffer, m.payload.byteOffset, 4).getInt32(0, HOST_LE);
  return v < 0 ? -v : 0;
}
