import test from 'ava';
import { ADDR_SLOT, slotEquals, slotKey, writeSlot } from '../../src/net/addr-slot.js';
import { Endpoint, parseEndpoint, zoneProblem, type Zones } from '../../src/net/endpoint.js';
import { parseIPv6 } from '../../src/net/ip.js';

test('IPv4 endpoint parses into the slot layout and prints back', (t) => {
  const ep = Endpoint.fromString('1.2.3.4:51820');
  t.is(ep.family, 4);
  t.is(ep.port, 51820);
  t.deepEqual([...ep.slot.subarray(0, 12)], [4, 0, 0xca, 0x6c, 0, 0, 0, 0, 1, 2, 3, 4]);
  t.is(ep.toString(), '1.2.3.4:51820');
});

test('IPv6 endpoints print bracketed and compressed, as wg shows them', (t) => {
  t.is(Endpoint.fromString('[fd00::1]:51820').toString(), '[fd00::1]:51820');
  t.is(Endpoint.fromString('[FD00:0:0:0:0:0:0:1]:1').toString(), '[fd00::1]:1');
  const scoped = Endpoint.fromString('[fe80::1%3]:7');
  t.is(scoped.scopeId, 3);
  t.is(scoped.toString(), '[fe80::1%3]:7');
  t.is(scoped.slot[4], 3);
});

test('invalid endpoints are rejected with a clear error', (t) => {
  for (const bad of ['', '1.2.3.4', '1.2.3.4:', '1.2.3.4:0', '1.2.3.4:65536', '1.2.3.256:1', '01.2.3.4:1', 'fd00::1:51820',
    '[fd00::1]51820', '[fd00::1', '[1.2.3.4]:5', '[fe80::1%eth0]:1', 'host.example:51820', '1.2.3.4:5x', '[::1]:-1']) {
    t.is(parseEndpoint(bad), undefined, bad);
  }
  t.throws(() => Endpoint.fromString('nope'), { message: /invalid endpoint "nope"/ });
});

/** Two interfaces, as if_nametoindex/if_indextoname would answer in a namespace with lo and veth0. */
const zones: Zones = {
  indexOf: (name) => ({ lo: 1, veth0: 7 })[name],
  nameOf: (index) => ({ 1: 'lo', 7: 'veth0' })[index],
};

test('zones: an interface name on a link-local address becomes its index; numbers pass; wg\'s form prints back', (t) => {
  const named = parseEndpoint('[fe80::b%veth0]:51820', { zones })!;
  t.is(named.scopeId, 7);
  t.is(named.toString(), '[fe80::b%7]:51820');
  // Named as wireguard-go names it in its UAPI replies (and as wg show prints it).
  t.is(named.format(zones), '[fe80::b%veth0]:51820');
  t.is(parseEndpoint('[fe80::b%42]:1', { zones })!.format(zones), '[fe80::b%42]:1', 'no interface 42: the number');
  t.is(parseEndpoint('[fe80::b]:1', { zones })!.format(zones), '[fe80::b]:1');
  t.is(parseEndpoint('[fd00::b%7]:1')!.scopeId, 7, 'a number qualifies any address, as getaddrinfo takes it');
  for (const bad of ['[fe80::b%veth9]:1', '[fd00::b%veth0]:1', '[fe80::b%]:1', '[fe80::b%4294967296]:1']) {
    t.is(parseEndpoint(bad, { zones }), undefined, bad);
  }
  t.is(parseEndpoint('[fe80::b%veth0]:1'), undefined, 'names need a zone table');
});

test('equals, slot copy in/out and keys agree', (t) => {
  const a = Endpoint.fromString('10.0.0.1:500');
  const b = Endpoint.fromString('10.0.0.1:501');
  const arena = new Uint8Array(ADDR_SLOT * 3);
  a.writeTo(arena, ADDR_SLOT);
  t.true(a.equalsSlot(arena, ADDR_SLOT));
  t.false(b.equalsSlot(arena, ADDR_SLOT));
  const back = Endpoint.fromSlot(arena, ADDR_SLOT);
  t.true(back.equals(a));
  arena[ADDR_SLOT + 8] = 99; // the copy out is independent of the arena
  t.true(back.equals(a));
  t.is(a.key(), (10 * 2 ** 24 + 1) * 65536 + 500);
  t.not(a.key(), b.key());
  const v6a = Endpoint.fromString('[fd00::1]:1');
  const v6b = Endpoint.fromString('[fd00::1%2]:1');
  t.is(typeof v6a.key(), 'string');
  t.not(v6a.key(), v6b.key());
  t.false(v6a.equals(v6b));
  t.is(Endpoint.fromString('[fd00::1]:1').key(), v6a.key());
});

test('IPv4 comparison ignores bytes outside the IPv4 part of the slot', (t) => {
  const x = new Uint8Array(ADDR_SLOT);
  const y = new Uint8Array(ADDR_SLOT);
  writeSlot(x, 0, 4, Uint8Array.of(192, 0, 2, 1), 9);
  writeSlot(y, 0, 4, Uint8Array.of(192, 0, 2, 1), 9);
  y[20] = 7; // garbage a kernel or a reused arena might leave
  t.true(slotEquals(x, 0, y, 0));
  t.is(slotKey(x, 0), slotKey(y, 0));
});

test('fromSlot rejects an empty slot', (t) => {
  t.throws(() => Endpoint.fromSlot(new Uint8Array(ADDR_SLOT)), { message: /no IPv4\/IPv6/ });
});

test('zoneProblem: one rule for the config file, the UAPI and get replies', (t) => {
  const ll = parseIPv6('fe80::1')!;
  const global = parseIPv6('2001:db8::1')!;
  t.is(zoneProblem('3', global), undefined, 'a scope id qualifies any address');
  t.is(zoneProblem('4294967295', ll), undefined);
  t.regex(zoneProblem('4294967296', ll)!, /a number 0\.\.4294967295/);
  t.regex(zoneProblem('00000000001', ll)!, /a number/, 'eleven digits are refused here as parseEndpoint refuses them');
  t.is(parseEndpoint('[fe80::1%00000000001]:1'), undefined);
  t.is(zoneProblem('eth0', ll), undefined);
  t.regex(zoneProblem('eth0', global)!, /only qualifies a link-local address/);
  t.regex(zoneProblem('a/b', ll)!, /^after %, /);
});
