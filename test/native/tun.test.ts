/**
 * The native addon against the real kernel (run as root). Every namespace is created with a unique name and
 * removed in t.teardown; traffic goes only to loopback or to addresses inside those namespaces. *
 * This file: TUN devices: ns "tun" has tvn0 (10.77.0.1/24); a UDP socket bound to 10.77.0.1 sends to 10.77.0.2 and
 * readBatch sees it; writeBatch(IPv4/UDP 10.77.0.2 -> 10.77.0.1) arrives at that socket.
 */
import test from 'ava';
import { C, SLOT_BYTES, batch, ip, ipv4Udp, linkExists, makeNetns, n, pattern, receive, throwsNative, whenReadable } from './helpers.js';

test('tunOpen: kernel-chosen and requested names inside a namespace; EBUSY; persist', (t) => {
  const ns = makeNetns(t, 'tunname');
  const flags = C.IFF_TUN | C.IFF_NO_PI;
  const picked = n.withNetns(ns.path, () => n.tunOpen('', flags));
  t.teardown(() => n.close(picked.fd));
  t.regex(picked.name, /^tun\d+$/);
  t.true(linkExists(ns.name, picked.name));

  const named = n.withNetns(ns.path, () => n.tunOpen('tvreq0', flags));
  t.is(named.name, 'tvreq0');
  t.true(linkExists(ns.name, 'tvreq0'));
  t.true(ip(['-n', ns.name, '-d', 'link', 'show', 'dev', 'tvreq0']).includes('tun'));
  throwsNative(t, () => n.withNetns(ns.path, () => n.tunOpen('tvreq0', flags)), 'EBUSY');
  n.close(named.fd);
  t.false(linkExists(ns.name, 'tvreq0'), 'a non-persistent device goes away with its fd');

  const tap = n.withNetns(ns.path, () => n.tunOpen('tvtap0', C.IFF_TAP | C.IFF_NO_PI));
  t.true(ip(['-n', ns.name, 'link', 'show', 'dev', 'tvtap0']).includes('link/ether'));
  n.tunSetVnetHdrSize(tap.fd, 12);
  n.close(tap.fd);

  const p = n.withNetns(ns.path, () => n.tunOpen('tvper0', flags));
  n.tunSetPersist(p.fd, true);
  n.close(p.fd);
  t.true(linkExists(ns.name, 'tvper0'), 'a persistent device outlives its fd');
  const again = n.withNetns(ns.path, () => n.tunOpen('tvper0', flags));
  n.tunSetPersist(again.fd, false);
  n.close(again.fd);
  t.false(linkExists(ns.name, 'tvper0'));
});

test('TUN round trip: a routed UDP datagram is read as IPv4 via readBatch; a written packet reaches the socket', async (t) => {
  const ns = makeNetns(t, 'tun');
  const tun = n.withNetns(ns.path, () => n.tunOpen('tvn0', C.IFF_TUN | C.IFF_NO_PI));
  t.teardown(() => n.close(tun.fd));
  ip(['-n', ns.name, 'addr', 'add', '10.77.0.1/24', 'dev', 'tvn0']);
  ip(['-n', ns.name, 'link', 'set', 'dev', 'tvn0', 'up']);
  const sock = n.withNetns(ns.path, () => n.udpOpen(4, '10.77.0.1', 0, false));
  t.teardown(() => n.close(sock.fd));

  const payload = new TextEncoder().encode('through the tunnel device');
  const out = batch([payload], 4, [10, 77, 0, 2], 9999);
  t.is(n.sendmmsg(sock.fd, out.arena, out.offsets, out.lengths, out.addrs, 1), 1);

  const MAX = 8;
  const arena = new Uint8Array(SLOT_BYTES * MAX);
  const lengths = new Int32Array(MAX);
  let found: Uint8Array | undefined;
  for (let rounds = 0; !found && rounds < 50; rounds++) {
    await whenReadable(tun.fd);
    const k = n.readBatch(tun.fd, arena, SLOT_BYTES, lengths, MAX);
    for (let i = 0; i < k && !found; i++) {
      const pkt = arena.subarray(i * SLOT_BYTES, i * SLOT_BYTES + lengths[i]!);
      // Other packets (e.g. IPv6 autoconfiguration) may come first: pick ours.
      if (pkt.length >= 28 && pkt[0]! >> 4 === 4 && pkt[9] === 17 && pkt[16] === 10 && pkt[19] === 2) found = pkt.slice();
    }
  }
  if (!found) return t.fail('no IPv4/UDP packet for 10.77.0.2 came out of the TUN');
  const v = new DataView(found.buffer);
  t.deepEqual([...found.subarray(12, 16)], [10, 77, 0, 1]);
  t.is(v.getUint16(20), sock.port);
  t.is(v.getUint16(22), 9999);
  t.is(v.getUint16(2), found.length, 'IPv4 total length matches the bytes read');
  t.deepEqual(found.subarray(28), payload);

  const reply = pattern(300, 7);
  const pkt = ipv4Udp([10, 77, 0, 2], [10, 77, 0, 1], 5555, sock.port, reply);
  t.is(n.writeBatch(tun.fd, pkt, Int32Array.of(0), Int32Array.of(pkt.length), 1), 1);
  const [got] = await receive(sock.fd, 1);
  t.is(got!.length, reply.length);
  t.deepEqual(got!.data, reply);
  t.deepEqual(got!.from, { family: 4, port: 5555, scope: 0, address: [10, 77, 0, 2] });

  t.is(n.write(tun.fd, pkt, 0, pkt.length), pkt.length);
  const [again] = await receive(sock.fd, 1);
  t.deepEqual(again!.data, reply);
});
