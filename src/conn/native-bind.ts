/**
 * NativeBind: the batched UDP bind over the addon. One IPv4 socket and one IPv6 (v6only) socket on the same port,
 * each drained with recvmmsg and written with sendmmsg, driven by uv_poll watchers on the event loop. As
 * wireguard-go's conn/, one file per concern:
 *
 *   socket-options.ts  open both sockets on one port; buffer sizes, packet info, SO_MARK
 *   offload-probe.ts   which of UDP GSO / GRO each socket can use (probed once at open)
 *   native-receive.ts  the receive loop: recvmmsg batches, GRO messages split into datagrams
 *   native-send.ts     the send path: split by family, GSO groups, the EAGAIN backlog
 *   udp-socket.ts      the per-socket state all of them share
 *
 * This file ties them together: open, start, send, setMark, close, and the poll callback.
 *
 * Sticky source: IP_PKTINFO / IPV6_RECVPKTINFO are on for every socket, so each received datagram comes with the
 * local address it was sent to and the interface it arrived on (`locals` of the delivered batch); a send batch with
 * `locals` goes out from those addresses (see Bind for what happens when one is no longer ours).
 *
 * Offloads (on unless `offload: false` or TUNVPN_OFFLOAD=0 / TUNVPN_UDP_OFFLOAD=0, each probed per socket at open):
 * UDP GSO on send and UDP GRO on receive; see native-send.ts and native-receive.ts.
 */
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { nativeUdp, type NativeUdp } from '../native/udp.js';
import { Backlog } from '../packet/backlog.js';
import type { PacketBatch } from '../packet/batch.js';
import { offloadAllowed } from '../packet/offload-switches.js';
import {
  DEFAULT_BIND_BATCH_SIZE,
  DEFAULT_DATAGRAM_SLOT_BYTES,
  emptyBindStats,
  type Bind,
  type BindStats,
  type ReceiveCallback,
} from './bind.js';
import { UdpReceiver } from './native-receive.js';
import { UdpSender } from './native-send.js';
import { probeUdpOffloads } from './offload-probe.js';
import { enablePktinfo, openUdpSockets, setSocketMark, tuneBuffers } from './socket-options.js';
import { UdpSocket } from './udp-socket.js';

/** Consecutive poll errors on a socket before we stop re-arming its watcher. */
const MAX_POLL_ERRORS = 10;

export interface NativeBindOptions {
  batchSize?: number;
  /** Bytes per receive slot (headroom included); longer datagrams are dropped and counted. */
  slotSize?: number;
  /** Bytes reserved before each received datagram (see PacketBatch). */
  headroom?: number;
  /** IPv4 address to bind ('' = any). */
  address4?: string;
  /** IPv6 address to bind ('' = any). */
  address6?: string;
  /** Open the IPv6 socket (default true; skipped quietly when the kernel has no IPv6). */
  ipv6?: boolean;
  /** Datagrams per family kept while the socket is full (default 2 × batchSize). */
  backlog?: number;
  /** Create the sockets inside this network namespace (e.g. /run/netns/NAME). */
  netnsPath?: string;
  /** UDP GSO/GRO when the kernel has them (default: on unless TUNVPN_OFFLOAD=0 or TUNVPN_UDP_OFFLOAD=0). */
  offload?: boolean;
  logger?: Logger;
  /** The addon's UDP calls (default: the real addon); tests pass a scripted fake. */
  addon?: NativeUdp;
}

export class NativeBind implements Bind {
  readonly batchSize: number;
  readonly stats: BindStats = emptyBindStats();

  private readonly addon: NativeUdp;
  private readonly log: Logger;
  /** The caller's logger, without our component binding: the info lines say what they are about in the message. */
  private readonly steps: Logger;
  private readonly opts: NativeBindOptions;
  private readonly slotSize: number;
  private readonly receiver: UdpReceiver;
  private readonly sender: UdpSender;
  private sockets: UdpSocket[] = [];
  private readonly offload: boolean;
  private mark = 0;
  private boundPort = 0;

  constructor(opts: NativeBindOptions = {}) {
    this.opts = opts;
    this.addon = opts.addon ?? nativeUdp();
    this.steps = opts.logger ?? silentLogger;
    this.log = this.steps.child({ component: 'bind' });
    this.batchSize = opts.batchSize ?? DEFAULT_BIND_BATCH_SIZE;
    const headroom = opts.headroom ?? 0;
    this.slotSize = opts.slotSize ?? DEFAULT_DATAGRAM_SLOT_BYTES;
    this.receiver = new UdpReceiver(this.addon, this.stats, this.log, this.batchSize, this.slotSize, headroom);
    this.sender = new UdpSender(this.addon, this.stats, this.log);
    this.offload = (opts.offload ?? offloadAllowed('UDP')) && headroom === 0;
  }

  /** Which offloads each open socket uses (IPv4 first): for tests and diagnostics. */
  get offloads(): Array<{ family: 4 | 6; gso: boolean; gro: boolean }> {
    return this.sockets.map((s) => ({ family: s.family, gso: s.gso, gro: s.gro }));
  }

  /** Whether each open socket reports the local address of what it receives (IPv4 first): for tests. */
  get pktinfo(): Array<{ family: 4 | 6; pktinfo: boolean }> {
    return this.sockets.map((s) => ({ family: s.family, pktinfo: s.pktinfo }));
  }

  get port(): number {
    return this.boundPort;
  }

  /** The fds of the open sockets (IPv4 first): for tests and diagnostics (e.g. reading SO_MARK back). */
  get fds(): number[] {
    return this.sockets.map((s) => s.fd);
  }

  async open(port: number): Promise<number> {
    if (this.sockets.length > 0) throw new Error('bind is already open');
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`port out of range: ${port}`);
    const listen = {
      port,
      address4: this.opts.address4 ?? '',
      address6: this.opts.address6 ?? '',
      ipv6: this.opts.ipv6 ?? true,
    };
    const open = () => openUdpSockets(this.addon, listen, this.log);
    const opened = this.opts.netnsPath ? this.addon.withNetns(this.opts.netnsPath, open) : open();
    const backlog = this.opts.backlog ?? 2 * this.batchSize;
    for (const [family, fd] of opened.fds) {
      const s = new UdpSocket(family, fd, new Backlog(backlog, this.slotSize, true, true), this.batchSize, this.addon.constants);
      this.sockets.push(s);
      tuneBuffers(this.addon, fd, this.log);
      enablePktinfo(this.addon, s, this.log);
      if (this.offload) {
        probeUdpOffloads(this.addon, s, this.log);
        if (s.gro) this.receiver.enableGro();
      }
    }
    this.boundPort = opened.port;
    try {
      if (this.mark !== 0) setSocketMark(this.addon, this.sockets, this.mark);
    } catch (e) {
      await this.close();
      throw e;
    }
    const families = this.sockets.map((s) => `IPv${s.family}`).join(' and ');
    this.steps.info(`UDP port ${opened.port} open (${families})`);
    const features = this.sockets.map((s) => [`IPv${s.family}`, socketFeatures(s)] as const);
    this.log.debug(Object.fromEntries(features), 'UDP socket features');
    return opened.port;
  }

  start(onReceive: ReceiveCallback): void {
    if (this.sockets.length === 0) throw new Error('bind: start before open');
    if (this.receiver.onReceive) throw new Error('bind already started');
    this.receiver.onReceive = onReceive;
    for (const s of this.sockets) {
      s.watcher = this.addon.watch(s.fd, (events) => this.onPoll(s, events));
      s.arm(); // writable too if something was queued before start
    }
  }

  send(batch: PacketBatch): number {
    return this.sender.send(this.sockets, batch);
  }

  setMark(mark: number): void {
    if (!Number.isInteger(mark) || mark < 0 || mark > 0xffff_ffff) throw new RangeError(`fwmark out of range: ${mark}`);
    if (this.sockets.length > 0) setSocketMark(this.addon, this.sockets, mark);
    this.mark = mark;
  }

  async close(): Promise<void> {
    const sockets = this.sockets;
    this.sockets = [];
    this.receiver.onReceive = undefined;
    for (const s of sockets) {
      s.watcher?.close();
      s.watcher = undefined;
      try {
        this.addon.close(s.fd);
      } catch (e) {
        this.log.warn({ err: e, fd: s.fd }, 'closing UDP socket failed');
      }
    }
    if (sockets.length > 0) this.steps.info(`UDP port ${this.boundPort} closed`);
    this.boundPort = 0;
  }

  private onPoll(s: UdpSocket, events: number): void {
    if (!this.sockets.includes(s)) return;
    if (events < 0) {
      this.onPollError(s, events);
      return;
    }
    s.pollErrors = 0;
    const c = this.addon.constants;
    if (events & c.POLL_WRITABLE) this.sender.flushBacklog(s);
    if (events & c.POLL_READABLE) this.receiver.drain(s);
  }

  private onPollError(s: UdpSocket, status: number): void {
    s.pollErrors++;
    this.log.error({ family: s.family, status, errors: s.pollErrors }, 'poll error on UDP socket');
    if (s.pollErrors < MAX_POLL_ERRORS) s.arm();
    else this.log.error({ family: s.family }, 'giving up on UDP socket after repeated poll errors');
  }
}

/** What a socket uses, for the debug log: e.g. "gso gro pktinfo", or "none". */
function socketFeatures(s: UdpSocket): string {
  const on = [s.gso && 'gso', s.gro && 'gro', s.pktinfo && 'pktinfo'].filter((f) => f !== false);
  return on.length > 0 ? on.join(' ') : 'none';
}
