/**
 * The addon's offload calls against the real kernel on loopback (root not needed): sendmmsgGso sends groups that
 * a UDP_GRO socket receives (coalesced or not, the split datagrams are the ones sent), bad groups are refused
 * before any syscall, and writevBatch gathers a header and slices into one write.
 */
import test from 'ava';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NativeFdIo } from '../../src/native/fdio.js';
import { loadAddon } from '../../src/native/load.js';
import type { NativeUdp } from '../../src/native/udp.js';
import { ADDR_SLOT } from '../../src/net/addr-slot.js';

const n = loadAddon() as NativeUdp & NativeFdIo;
const C = n.constants;
const SLOT = 65_536;

function loopbackSlot(port: number): Uint8Array {
  const s = new Uint8Array(ADDR_SLOT);
  s[0] = 4;
  s[2] = port >> 8;
  s[3] = port & 0xff;
  s.set([127, 0, 0, 1], 8);
  return s;
}

test('sendmmsgGso groups arrive as the same datagrams at a UDP_GRO socket', async (t) => {
  const rx = n.udpOpen(4, '127.0.0.1', 0, false);
  const tx = n.udpOpen(4, '127.0.0.1', 0, false);
  t.teardown(() => {
    n.close(rx.fd);
    n.close(tx.fd);
  });
  n.setsockoptInt(rx.fd, C.SOL_UDP, C.UDP_GRO, 1);
  n.setsockoptInt(rx.fd, C.SOL_SOCKET, C.SO_RCVBUF, 4 << 20);
  // 10 datagrams: a group of 4 × 1000 + 1 × 500, a lone 700, a group of 4 × 1200.
  const sizes = [1000, 1000, 1000, 1000, 500, 700, 1200, 1200, 1200, 1200];
  const arena = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  const offsets = new Int32Array(sizes.length);
  const lengths = Int32Array.from(sizes);
  const addrs = new Uint8Array(sizes.length * ADDR_SLOT);
  let at = 0;
  sizes.forEach((len, i) => {
    offsets[i] = at;
    arena.fill(i + 1, at, at + len);
    at += len;
    addrs.set(loopbackSlot(rx.port), i * ADDR_SLOT);
  });
  const groups = Int32Array.of(5, 1, 4);
  const refused = new Int32Array(2);
  t.is(n.sendmmsgGso(tx.fd, arena, offsets, lengths, addrs, sizes.length, groups, 3, refused), 10);
  t.is(refused[0], 0);

  const max = 16;
  const rxArena = new Uint8Array(max * SLOT);
  const rxLengths = new Int32Array(max);
  const rxAddrs = new Uint8Array(max * ADDR_SLOT);
  const segs = new Int32Array(max);
  const got: Array<{ len: number; fill: number }> = [];
  let coalesced = 0;
  for (let tries = 0; got.length < sizes.length && tries < 200; tries++) {
    const m = n.recvmmsgGro(rx.fd, rxArena, SLOT, rxLengths, rxAddrs, segs, max);
    for (let j = 0; j < m; j++) {
      const len = rxLengths[j]!;
      const seg = segs[j]! > 0 ? segs[j]! : len;
      if (seg < len) coalesced++;
      for (let p = 0; p < len; p += seg) {
        const l = Math.min(seg, len - p);
        const first = rxArena[j * SLOT + p]!;
        t.true(rxArena.subarray(j * SLOT + p, j * SLOT + p + l).every((b) => b === first), 'one datagram per segment');
        got.push({ len: l, fill: first });
      }
      t.is(rxAddrs[j * ADDR_SLOT], 4);
      t.is((rxAddrs[j * ADDR_SLOT + 2]! << 8) | rxAddrs[j * ADDR_SLOT + 3]!, tx.port);
    }
    if (got.length < sizes.length) await new Promise((r) => setTimeout(r, 10));
  }
  t.deepEqual(got, sizes.map((len, i) => ({ len, fill: i + 1 })));
  t.log(`${coalesced} message(s) came coalesced by UDP GRO`);
});

test('sendmmsgGso refuses invalid groups before sending anything', (t) => {
  const fd = n.udpOpen(4, '127.0.0.1', 0, false).fd;
  t.teardown(() => n.close(fd));
  const arena = new Uint8Array(4000);
  const offsets = Int32Array.of(0, 1000, 2000, 3000);
  const addrs = new Uint8Array(4 * ADDR_SLOT);
  for (let i = 0; i < 4; i++) addrs.set(loopbackSlot(9), i * ADDR_SLOT);
  const refused = new Int32Array(2);
  const send = (lengths: number[], groups: number[], a = addrs) =>
    n.sendmmsgGso(fd, arena, offsets, Int32Array.from(lengths), a, lengths.length, Int32Array.from(groups), groups.length, refused);
  t.throws(() => send([1000, 1000, 1000, 1000], [3]), { instanceOf: RangeError, message: /cover/ });
  t.throws(() => send([1000, 500, 1000, 1000], [4]), { instanceOf: RangeError, message: /segment size/ });
  t.throws(() => send([1000, 1000, 1000, 1000], [0, 4]), { instanceOf: RangeError });
  const other = addrs.slice();
  other[3 * ADDR_SLOT + 3] = 10;
  t.throws(() => send([1000, 1000, 1000, 1000], [4], other), { instanceOf: RangeError, message: /another destination/ });
  t.throws(() => n.sendmmsgGso(fd, arena, offsets, Int32Array.of(1, 1, 1, 1), addrs, 4, Int32Array.of(4), 1, new Int32Array(1)), { instanceOf: RangeError });
});

test('writevBatch: each write is its header then its slices, in order', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tv-writev-'));
  const file = join(dir, 'out');
  const w = openSync(file, 'w');
  t.teardown(() => {
    closeSync(w);
    rmSync(dir, { recursive: true, force: true });
  });
  const heads = Uint8Array.of(0xa1, 0xa2, 0xb1, 0xb2);
  const arena = Uint8Array.from({ length: 10 }, (_, i) => i);
  // write 0: head a + [0,2) + [5,7); write 1: head b + [9,10)
  t.is(n.writevBatch(w, heads, 2, arena, Int32Array.of(0, 5, 9), Int32Array.of(2, 2, 1), Int32Array.of(2, 1), 2), 2);
  t.deepEqual([...readFileSync(file)], [0xa1, 0xa2, 0, 1, 5, 6, 0xb1, 0xb2, 9]);
  t.throws(() => n.writevBatch(w, heads, 2, arena, Int32Array.of(0), Int32Array.of(20), Int32Array.of(1), 1), { instanceOf: RangeError });
  t.throws(() => n.writevBatch(w, heads, 2, arena, Int32Array.of(0), Int32Array.of(1), Int32Array.of(0), 1), { instanceOf: RangeError });
});
