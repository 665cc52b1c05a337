/**
 * Prometheus metrics for one running interface (`tunvpn up --metrics ADDR:PORT`, `tunvpnd --metrics ADDR:PORT`):
 * an HTTP server answering GET /metrics with the text exposition format, built with prom-client.
 *
 * Names and labels of the per-device and per-peer series are those of the common WireGuard exporter
 * (wireguard_exporter, default port 9586), so existing dashboards read tunvpn unchanged:
 *
 *   wireguard_device_info{device,public_key} 1
 *   wireguard_peer_info{device,public_key,endpoint,allowed_ips} 1        (allowed_ips comma-separated)
 *   wireguard_peer_last_handshake_seconds{device,public_key}            (Unix time; 0 = never)
 *   wireguard_peer_receive_bytes_total{device,public_key}
 *   wireguard_peer_transmit_bytes_total{device,public_key}
 *
 * tunvpn's own (prefix tunvpn_) come from DeviceStats: dropped datagrams and packets by reason, handshake messages
 * sent and received, sessions completed, handshakes failed by reason and given up, keepalives, whether the device
 * is under load, and prom-client's default process metrics (CPU, memory, event loop lag, open fds).
 *
 * Every value is read from the device when Prometheus scrapes (collect callbacks): the data path does no metrics
 * work at all. The server listens on loopback unless given another address; it is off unless asked for.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { encodeKey } from '../crypto/keys.js';
import type { Device } from '../device/device.js';
import type { Logger } from '../log.js';
import { MAX_PORT, splitHostPort } from '../net/endpoint.js';
import { formatPrefix, parseIp } from '../net/ip.js';
import { MS_PER_S } from '../protocol/constants.js';

/** The exporter's port (wireguard_exporter's default, registered with Prometheus for WireGuard). */
export const DEFAULT_METRICS_PORT = 9586;
/** Where the metrics server listens when only a port is given. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';
export const METRICS_PATH = '/metrics';


export interface MetricsAddress {
  /** An IP literal (no brackets). */
  host: string;
  port: number;
}

/**
 * The --metrics argument: "ADDR:PORT", "[V6]:PORT", or "PORT" alone (on 127.0.0.1). Throws an Error with a
 * sentence for anything else (host names are refused: the address must be unambiguous).
 */
export function parseMetricsAddress(text: string): MetricsAddress {
  const bad = (why: string): never => {
    throw new Error(`--metrics ${JSON.stringify(text)}: ${why}; expected ADDRESS:PORT, [IPv6]:PORT or PORT`);
  };
  if (/^[0-9]{1,5}$/.test(text)) {
    const port = Number(text);
    if (port < 1 || port > MAX_PORT) bad(`the port must be 1..${MAX_PORT}`);
    return { host: DEFAULT_METRICS_HOST, port };
  }
  const hp = splitHostPort(text);
  if (typeof hp === 'string') return bad(hp.replace(/^: /, ''));
  if (!(hp.port >= 1 && hp.port <= MAX_PORT)) bad(`the port must be 1..${MAX_PORT}`);
  if (hp.zone !== undefined) bad('zones are not supported');
  const ip = parseIp(hp.host);
  if (!ip || (ip.family === 6) !== hp.bracketed) bad('the address must be an IPv4 address or a bracketed IPv6 address');
  return { host: hp.host, port: hp.port };
}

/** A registry with every metric of `device` (named `ifname`), read at scrape time. */
export function deviceRegistry(ifname: string, device: Device): Registry {
  const registry = new Registry();
  const device_ = { device: ifname };
  const peers = () => [...device.core.allPeers()];
  const key = (k: Uint8Array) => encodeKey(k);

  new Gauge({
    name: 'wireguard_device_info', help: 'Metadata about a device.', labelNames: ['device', 'public_key'], registers: [registry],
    collect() {
      this.reset();
      this.set({ ...device_, public_key: key(device.publicKey) }, 1);
    },
  });
  new Gauge({
    name: 'wireguard_peer_info',
    help: 'Metadata about a peer. The public_key label on peer metrics refers to the peer\'s public key; not the device\'s public key.',
    labelNames: ['device', 'public_key', 'endpoint', 'allowed_ips'], registers: [registry],
    collect() {
      this.reset();
      for (const p of peers()) {
        const allowed = device.core.allowedIps.entriesFor(p).map((e) => formatPrefix({ family: e.family, bytes: e.address, bits: e.cidr }));
        this.set({ ...device_, public_key: key(p.publicKey), endpoint: p.endpoint?.toString() ?? '', allowed_ips: allowed.join(',') }, 1);
      }
    },
  });
  new Gauge({
    name: 'wireguard_peer_last_handshake_seconds', help: 'UNIX timestamp for the last handshake with a given peer.',
    labelNames: ['device', 'public_key'], registers: [registry],
    collect() {
      this.reset();
      for (const p of peers()) {
        const last = p.timers.lastHandshakeAt;
        this.set({ ...device_, public_key: key(p.publicKey) }, last === null ? 0 : Math.floor(device.wallClock(last) / MS_PER_S));
      }
    },
  });
  for (const [name, help, read] of [
    ['wireguard_peer_receive_bytes_total', 'Number of bytes received from a given peer.', (p: { rxBytes: number }) => p.rxBytes],
    ['wireguard_peer_transmit_bytes_total', 'Number of bytes transmitted to a given peer.', (p: { txBytes: number }) => p.txBytes],
  ] as const) {
    new Counter({
      name, help, labelNames: ['device', 'public_key'], registers: [registry],
      collect() {
        this.reset();
        for (const p of peers()) this.inc({ ...device_, public_key: key(p.publicKey) }, read(p));
      },
    });
  }

  const s = device.stats;
  const h = s.handshakes;
  counter(registry, 'tunvpn_datagrams_total', 'UDP datagrams received from and sent to the network.', ['direction'],
    () => [[{ direction: 'received' }, s.datagrams], [{ direction: 'sent' }, s.sent]], ifname);
  counter(registry, 'tunvpn_packets_total', 'IP packets read from and written to the TUN device.', ['direction'],
    () => [[{ direction: 'read' }, s.tunPackets], [{ direction: 'written' }, s.delivered]], ifname);
  counter(registry, 'tunvpn_dropped_datagrams_total', 'Incoming datagrams dropped, by reason (tunvpn show --json names them).', ['reason'],
    () => Object.entries(s.dropped).map(([reason, n]) => [{ reason }, n ?? 0]), ifname);
  counter(registry, 'tunvpn_dropped_packets_total', 'Outgoing IP packets dropped, by reason.', ['reason'],
    () => [[{ reason: 'noRoute' }, s.noRoute], [{ reason: 'noEndpoint' }, s.noEndpoint], [{ reason: 'tooBig' }, s.tooBig]], ifname);
  counter(registry, 'tunvpn_host_packets_unrouted_total',
    'Packets of the host\'s own link-scope traffic (fe80:: source or multicast destination, e.g. IPv6 router solicitations) that no peer takes: not drops.',
    [], () => [[{}, s.noRouteHost]], ifname);
  counter(registry, 'tunvpn_icmp_unreachable_total', 'ICMP unreachable replies for packets to no peer: sent, or not sent (rate limit).',
    ['outcome'], () => [[{ outcome: 'sent' }, s.icmpUnreachable], [{ outcome: 'rateLimited' }, s.icmpRateLimited]], ifname);
  counter(registry, 'tunvpn_handshake_messages_total', 'Handshake messages sent and received (received: those that authenticated).',
    ['message', 'direction'], () => [
      [{ message: 'initiation', direction: 'sent' }, h.initiationsSent],
      [{ message: 'initiation', direction: 'received' }, h.initiationsReceived],
      [{ message: 'response', direction: 'sent' }, h.responsesSent],
      [{ message: 'response', direction: 'received' }, h.responsesReceived],
      [{ message: 'cookie_reply', direction: 'sent' }, h.cookiesSent],
      [{ message: 'cookie_reply', direction: 'received' }, h.cookiesReceived],
    ], ifname);
  counter(registry, 'tunvpn_handshakes_completed_total', 'Sessions established (first handshakes and rekeys).', [],
    () => [[{}, h.completed]], ifname);
  counter(registry, 'tunvpn_handshakes_failed_total', 'Handshake messages rejected, by reason (invalidMac1, decryptFailed, ...).', ['reason'],
    () => Object.entries(h.failed).map(([reason, n]) => [{ reason }, n ?? 0]), ifname);
  counter(registry, 'tunvpn_handshakes_given_up_total', 'Handshakes given up after REKEY_ATTEMPT_TIME without a response (a peer gone silent).',
    [], () => [[{}, h.gaveUp]], ifname);
  counter(registry, 'tunvpn_handshake_queue_messages_total', 'Handshake messages put in the handshake queue (device/handshake-queue.ts); those shed for want of room are tunvpn_dropped_datagrams_total{reason="handshakeShed"}.',
    [], () => [[{}, s.handshakesQueued]], ifname);
  counter(registry, 'tunvpn_under_load_seconds_total', 'Seconds spent under load (handshakes had to carry a cookie).',
    [], () => [[{}, s.underLoadMs / MS_PER_S]], ifname);
  counter(registry, 'tunvpn_source_addresses_cleared_total', 'Datagrams whose remembered local source address (the one the peer last reached us on) was refused by the kernel and dropped, the datagram sent from the kernel\'s choice instead.',
    [], () => [[{}, s.sourcesCleared]], ifname);
  counter(registry, 'tunvpn_keepalives_sent_total', 'Keepalives sent (persistent and passive).', [], () => [[{}, h.keepalivesSent]], ifname);
  new Gauge({
    name: 'tunvpn_under_load', help: '1 while handshakes must carry a cookie (too many handshake messages a second), else 0.',
    labelNames: ['device'], registers: [registry],
    collect() {
      this.set(device_, device.underLoad ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tunvpn_peers', help: 'Configured peers.', labelNames: ['device'], registers: [registry],
    collect() {
      this.set(device_, peers().length);
    },
  });
  collectDefaultMetrics({ register: registry });
  return registry;
}

type Labels = Record<string, string>;

/** A counter whose values are read at scrape time; each gets the `device` label. */
function counter(registry: Registry, name: string, help: string, labelNames: string[], read: () => Array<[Labels, number]>, ifname: string): void {
  new Counter({
    name, help, labelNames: ['device', ...labelNames], registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc({ device: ifname, ...labels }, value);
    },
  });
}

export interface MetricsServer {
  /** The bound address (the port is the real one when 0 was asked for). */
  readonly address: MetricsAddress;
  close(): Promise<void>;
}

/**
 * Serves `registry` at http://ADDRESS:PORT/metrics. Resolves once listening; rejects (EADDRINUSE, EACCES, ...)
 * when the address cannot be bound. Other paths answer 404, other methods 405.
 */
export async function serveMetrics(registry: Registry, at: MetricsAddress, log: Logger): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (e: Error) => {
        log.warn({ err: e.message }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address = { host: at.host, port: bound.port };
  const shown = at.host.includes(':') ? `[${at.host}]` : at.host;
  log.info({ address: `${shown}:${bound.port}` }, `metrics at http://${shown}:${bound.port}${METRICS_PATH}`);
  return {
    address,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
