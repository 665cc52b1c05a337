/**
 * A namespace's UDP counters from /proc/net/snmp (the "Udp:" header and value lines, RFC 4113's udp group plus
 * Linux's RcvbufErrors/SndbufErrors): how many datagrams the kernel delivered to sockets and how many it dropped
 * because a socket's receive buffer was full, which is where a flood ends up when the daemon cannot keep up.
 */
import { readFileSync } from 'node:fs';
import { nativeNetns as native } from '../../src/native/netns.js';
import { netns } from '../../src/netlink/index.js';

export interface UdpCounters {
  /** Datagrams delivered to sockets. */
  inDatagrams: number;
  /** Datagrams that could not be delivered (includes rcvbufErrors). */
  inErrors: number;
  /** Datagrams dropped because the socket's receive buffer was full. */
  rcvbufErrors: number;
}

/** The Udp counters from the text of /proc/net/snmp; throws when the Udp lines or the named fields are missing. */
export function parseSnmpUdp(text: string): UdpCounters {
  const lines = text.split('\n').filter((l) => l.startsWith('Udp: '));
  if (lines.length < 2) throw new Error('/proc/net/snmp: no Udp header and value lines');
  const names = lines[0]!.trim().split(/\s+/).slice(1);
  const values = lines[1]!.trim().split(/\s+/).slice(1).map(Number);
  const field = (name: string): number => {
    const i = names.indexOf(name);
    const v = values[i];
    if (i < 0 || v === undefined || !Number.isSafeInteger(v)) throw new Error(`/proc/net/snmp: no Udp ${name}`);
    return v;
  };
  return { inDatagrams: field('InDatagrams'), inErrors: field('InErrors'), rcvbufErrors: field('RcvbufErrors') };
}

/** The UDP counters of namespace `ns` (read from a thread switched into it: /proc/thread-self/net follows it). */
export function udpCounters(ns: string): UdpCounters {
  return parseSnmpUdp(native().withNetns(netns.path(ns), () => readFileSync('/proc/thread-self/net/snmp', 'utf8')));
}
