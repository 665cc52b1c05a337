/** Shared fixtures of the native addon tests: namespaces, address slots, UDP batches, test packets. */
import type { ExecutionContext } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isNativeError, type NativeError } from '../../src/native/errors.js';
import type { NativeFdIo } from '../../src/native/fdio.js';
import { loadAddon } from '../../src/native/load.js';
import type { NativeNetlink } from '../../src/native/netlink.js';
import type { NativeNetns } from '../../src/native/netns.js';
import type { NativeTun } from '../../src/native/tun.js';
import type { NativeUdp } from '../../src/native/udp.js';
import { ADDR_SLOT } from '../../src/net/addr-slot.js';

/** The addon's system-call concerns in one view: these tests exercise the binary itself, every concern of it. */
export const n = loadAddon() as NativeTun & NativeUdp & NativeNetlink & NativeNetns & NativeFdIo;
export const C = n.constants;
export const NETNS_DIR = '/run/netns';
export const THREAD_NETNS = '/proc/thread-self/ns/net';
export const GUARD_MS = 10_000; // only to turn a hang into a failure; no assertion depends on time
export const SLOT_BYTES = 9216; // receive slot: bigger than any datagram sent here except the truncation test
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ADDON_PATH = join(ROOT, 'native', 'build', 'Release', 'tunvpn.node');
export const NLMSG_ERROR = 2;
export const RTM_UNKNOWN = 0x7ff0; // above RTM_MAX: rtnetlink answers EOPNOTSUPP
export const EOPNOTSUPP = 95;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLMSG_HDRLEN = 16;

// ---- helpers ---------------------------------------------------------------------------------------------

export interface Netns {
  name: string;
  path: string;
}

/** Namespaces still to delete; also swept at process exit, in case a crash skips the teardowns. */
export const liveNetns = new Set<string>();

export function deleteNetns(path: string): void {
  liveNetns.delete(path);
  try {
    n.netnsDelete(path);
  } catch (e) {
    if (!isNativeError(e) || e.code !== 'ENOENT') throw e;
  }
}

process.on('exit', () => {
  for (const path of liveNetns) deleteNetns(path);
});

/** Creates a namespace with netnsCreate (the code under test) and removes it when the test ends. */
export function makeNetns(t: ExecutionContext, purpose: string): Netns {
  const name = `tv-${purpose}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const path = join(NETNS_DIR, name);
  n.netnsCreate(path);
  liveNetns.add(path);
  t.teardown(() => deleteNetns(path));
  return { name, path };
}

export function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function linkExists(ns: string, dev: string): boolean {
  return spawnSync('ip', ['-n', ns, 'link', 'show', 'dev', dev], { stdio: 'ignore' }).status === 0;
}

export function throwsNative(t: ExecutionContext, fn: () => unknown, code: string): NativeError | undefined {
  const e = t.throws(fn);
  if (!isNativeError(e)) {
    t.fail(`expected a NativeError with code ${code}, got ${String(e)}`);
    return undefined;
  }
  t.is(e.code, code, e.message);
  t.true(e.errno > 0);
  t.is(typeof e.syscall, 'string');
  t.true(e.message.startsWith(`${code}: ${e.syscall}: `), e.message);
  return e;
}

/** Resolves with the event mask once fd is readable; the watcher closes itself inside its callback. */
export function whenReadable(fd: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`fd ${fd} not readable within ${GUARD_MS} ms`));
    }, GUARD_MS);
    const watcher = n.watch(fd, (events) => {
      watcher.close();
      clearTimeout(timer);
      if (events < 0) reject(new Error(`poll error ${events}`));
      else resolve(events);
    });
    watcher.start(C.POLL_READABLE);
  });
}

export function writeSlot(addrs: Uint8Array, i: number, family: 4 | 6, address: number[], port: number, scope = 0): void {
  const s = addrs.subarray(i * ADDR_SLOT, (i + 1) * ADDR_SLOT);
  s.fill(0);
  s[0] = family;
  s[2] = port >> 8;
  s[3] = port & 0xff;
  new DataView(s.buffer, s.byteOffset).setUint32(4, scope, true);
  s.set(address, 8);
}

export interface Slot {
  family: number;
  port: number;
  scope: number;
  address: number[];
}

export function readSlot(addrs: Uint8Array, i: number): Slot {
  const s = addrs.subarray(i * ADDR_SLOT, (i + 1) * ADDR_SLOT);
  const family = s[0]!;
  return {
    family,
    port: (s[2]! << 8) | s[3]!,
    scope: new DataView(s.buffer, s.byteOffset).getUint32(4, true),
    address: [...s.subarray(8, family === 4 ? 12 : 24)],
  };
}

export const LOOPBACK4 = [127, 0, 0, 1];

export function oneSlot(): Uint8Array {
  const a = new Uint8Array(ADDR_SLOT);
  writeSlot(a, 0, 4, [127, 0, 0, 1], 9);
  return a;
}
export const LOOPBACK6 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/** Receives exactly `want` datagrams from fd (waiting with watch), returning lengths, payloads and sources. */
export async function receive(fd: number, want: number, slotSize = SLOT_BYTES) {
  const arena = new Uint8Array(slotSize * want);
  const lengths = new Int32Array(want);
  const addrs = new Uint8Array(ADDR_SLOT * want);
  const out: { length: number; data: Uint8Array; from: Slot }[] = [];
  while (out.length < want) {
    const k = n.recvmmsg(fd, arena, slotSize, lengths, addrs, want - out.length);
    for (let i = 0; i < k; i++) {
      const len = lengths[i]!;
      out.push({ length: len, data: arena.slice(i * slotSize, i * slotSize + Math.max(len, 0)), from: readSlot(addrs, i) });
    }
    if (out.length < want) await whenReadable(fd);
  }
  return out;
}

/** Packs payloads into one arena with offsets/lengths, all to the same destination slot. */
export function batch(payloads: Uint8Array[], family: 4 | 6, address: number[], port: number) {
  const total = payloads.reduce((s, p) => s + p.length, 0);
  const arena = new Uint8Array(total);
  const offsets = new Int32Array(payloads.length);
  const lengths = new Int32Array(payloads.length);
  const addrs = new Uint8Array(ADDR_SLOT * payloads.length);
  let at = 0;
  payloads.forEach((p, i) => {
    arena.set(p, at);
    offsets[i] = at;
    lengths[i] = p.length;
    writeSlot(addrs, i, family, address, port);
    at += p.length;
  });
  return { arena, offsets, lengths, addrs };
}

export function pattern(length: number, seed: number): Uint8Array {
  const p = new Uint8Array(length);
  for (let i = 0; i < length; i++) p[i] = (seed * 31 + i) & 0xff;
  return p;
}

/** An IPv4/UDP packet (UDP checksum 0 = none, allowed for IPv4). */
export function ipv4Udp(src: number[], dst: number[], sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const IPV4_HDR = 20;
  const UDP_HDR = 8;
  const pkt = new Uint8Array(IPV4_HDR + UDP_HDR + payload.length);
  const v = new DataView(pkt.buffer);
  v.setUint8(0, 0x45); // version 4, IHL 5 words
  v.setUint16(2, pkt.length);
  v.setUint16(6, 0x4000); // DF
  v.setUint8(8, 64); // TTL
  v.setUint8(9, 17); // UDP
  pkt.set(src, 12);
  pkt.set(dst, 16);
  let sum = 0;
  for (let i = 0; i < IPV4_HDR; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(10, ~sum & 0xffff);
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint16(24, UDP_HDR + payload.length);
  pkt.set(payload, IPV4_HDR + UDP_HDR);
  return pkt;
}

