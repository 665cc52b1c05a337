/**
 * Byte-exact request encodings against iproute2. Each hex string is the message `ip`/`bridge` sent, captured with
 * `strace -f -e trace=sendmsg -xx ip -n NS ...` on this box (iproute2 6.1), with nlmsg_seq and nlmsg_pid zeroed
 * (they differ per run). Link indices are those of the capture namespace: ve0 = 8, br0 = 9, vx0 = 10.
 */
import test from 'ava';
import {
  addAddressRequest,
  createLinkRequest,
  fdbRequest,
  frame,
  getLinkRequest,
  linkName,
  routeRequest,
  ruleRequest,
  setLinkRequest,
  type NlRequest,
} from '../../src/netlink/index.js';
import { NetlinkArgumentError } from '../../src/netlink/errors.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const framed = (req: NlRequest) => hex(frame(req, 0, 0));

const VE0 = 8;
const BR0 = 9;
const VX0 = 10;

// ip link add ve0 type veth peer name ve1
const VETH =
  '540000001000050600000000000000000000000000000000000000000000000008000300766530002c0012000800010076657468200002001c000100000000000000000000000000000000000800030076653100';
// ip link add br0 type bridge
const BRIDGE = '38000000100005060000000000000000000000000000000000000000000000000800030062723000100012000a0001006272696467650000';
// ip link add vx0 type vxlan id 42 dstport 4789 local 10.0.0.1 remote 10.0.0.2 dev ve0   (ip adds learning on)
const VXLAN =
  '6c000000100005060000000000000000000000000000000000000000000000000800030076783000440012000900010076786c616e000000340002000800030008000000080001002a000000080004000a000001080002000a000002050007000100000006000f0012b50000';
// ip link add link ve0 name mv0 type macvlan mode bridge
const MACVLAN =
  '4c000000100005060000000000000000000000000000000000000000000000000800050008000000080003006d7630001c0012000b0001006d6163766c616e000c0002000800010004000000';
// ip link add link ve0 name iv0 type ipvlan mode l2
const IPVLAN =
  '540000001000050600000000000000000000000000000000000000000000000008000500080000000800030069763000240012000a0001006970766c616e00001400020006000100000000000600020000000000';
// ip link add link ve0 name vl0 type vlan id 10
const VLAN =
  '4800000010000506000000000000000000000000000000000000000000000000080005000800000008000300766c30001800120008000100766c616e0c000200060001000a000000';
// ip link add gn0 type geneve id 7 remote 10.0.0.2
const GENEVE =
  '640000001000050600000000000000000000000000000000000000000000000008000300676e30003c0012000a00010067656e65766500002c0002000800010007000000080002000a00000208000b000000000005000300000000000500040000000000';
// ip link set ve0 mtu 1400
const SET_MTU = '28000000100005000000000000000000000000000800000000000000000000000800040078050000';
// ip link set ve0 master br0
const SET_MASTER = '280000001000050000000000000000000000000008000000000000000000000008000a0009000000';
// ip addr add 10.0.0.1/24 dev ve0
const ADDR4 = '280000001400050600000000000000000218000008000000080002000a000001080001000a000001';
// ip addr add fd00::1/64 dev ve0 nodad
const ADDR6 =
  '400000001400050600000000000000000a4002000800000014000200fd00000000000000000000000000000114000100fd000000000000000000000000000001';
// ip route add 10.9.0.0/16 via 10.0.0.2 table 1234 metric 100
const ROUTE = '3c000000180005060000000000000000021000000003000100000000080001000a090000080005000a00000208000f00d20400000800060064000000';
// ip -4 rule add not fwmark 0xca6c table 51820 suppress_prefixlength 0
const RULE_NOT_FWMARK =
  '3400000020000506000000000000000002000000000000010200000008000a006cca000008000f006cca000008000e0000000000';
// ip rule add table main suppress_prefixlength 0
const RULE_SUPPRESS = '2400000020000506000000000000000002000000fe0000010000000008000e0000000000';
// bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.2
const FDB_APPEND = '300000001c00050c0000000000000000070000000a000000c00002000a0002000000000000000000080001000a000002';

test('veth with peer name matches ip link add', (t) => {
  t.is(framed(createLinkRequest({ kind: 'veth', name: 've0', peerName: 've1' })), VETH);
});

test('bridge matches ip link add', (t) => {
  t.is(framed(createLinkRequest({ kind: 'bridge', name: 'br0' })), BRIDGE);
});

test('vxlan (id, dstport, local, remote, dev, learning) matches ip link add', (t) => {
  const req = createLinkRequest(
    { kind: 'vxlan', name: 'vx0', id: 42, dstPort: 4789, local: '10.0.0.1', remote: '10.0.0.2', dev: 've0', learning: true },
    { dev: VE0 },
  );
  t.is(framed(req), VXLAN);
  t.is(req.what, 'create link vx0 (vxlan)');
});

test('macvlan, ipvlan, vlan and geneve match ip link add', (t) => {
  t.is(framed(createLinkRequest({ kind: 'macvlan', name: 'mv0', parent: 've0', mode: 'bridge' }, { parent: VE0 })), MACVLAN);
  t.is(framed(createLinkRequest({ kind: 'ipvlan', name: 'iv0', parent: VE0, mode: 'l2' })), IPVLAN);
  t.is(framed(createLinkRequest({ kind: 'vlan', name: 'vl0', parent: VE0, id: 10 })), VLAN);
  t.is(framed(createLinkRequest({ kind: 'geneve', name: 'gn0', id: 7, remote: '10.0.0.2' })), GENEVE);
});

test('veth peer in another namespace carries IFLA_NET_NS_FD inside VETH_INFO_PEER', (t) => {
  const b = frame(createLinkRequest({ kind: 'veth', name: 've0', peerName: 've1', peerNetns: 42 }), 0);
  // The peer nest grows by one 8-byte attribute: IFLA_NET_NS_FD (28) = 42, after the peer's IFLA_IFNAME.
  t.is(b.length, 0x54 + 8);
  t.is(hex(b.subarray(-16)), '0800030076653100' + '08001c002a000000');
  // Every enclosing length grew by 8: LINKINFO 0x2c→0x34, INFO_DATA 0x20→0x28, VETH_INFO_PEER 0x1c→0x24.
  t.is(hex(b.subarray(40, 44)), '34001200');
  t.is(hex(b.subarray(52, 56)), '28000200');
  t.is(hex(b.subarray(56, 60)), '24000100');
});

test('link set mtu / master match ip link set', (t) => {
  t.is(framed(setLinkRequest(VE0, { mtu: 1400 }, 'set link ve0')), SET_MTU);
  t.is(framed(setLinkRequest(VE0, { master: BR0 }, 'set link ve0')), SET_MASTER);
});

test('link set up puts IFF_UP in flags and change', (t) => {
  const up = frame(setLinkRequest(VE0, { up: true }, 'x'), 0);
  t.is(hex(up.subarray(16, 32)), '00000000' + '08000000' + '01000000' + '01000000');
  const down = frame(setLinkRequest(VE0, { up: false }, 'x'), 0);
  t.is(hex(down.subarray(16, 32)), '00000000' + '08000000' + '00000000' + '01000000');
});

test('addresses: IPv4 and IPv6 nodad match ip addr add', (t) => {
  t.is(framed(addAddressRequest(VE0, '10.0.0.1/24')), ADDR4);
  t.is(framed(addAddressRequest(VE0, 'fd00::1/64', { nodad: true })), ADDR6);
});

test('route via gateway with table > 255 and metric matches ip route add', (t) => {
  t.is(framed(routeRequest('add', { dst: '10.9.0.0/16', gateway: '10.0.0.2', table: 1234, metric: 100 })), ROUTE);
});

test('route: a table ≤ 255 goes in rtm_table, replace uses CREATE|REPLACE, dev-only routes get link scope', (t) => {
  const b = frame(routeRequest('replace', { dst: '10.9.0.0/16', dev: 3, table: 100 }), 0);
  t.is(hex(b.subarray(6, 8)), '0505'); // REQUEST|ACK|REPLACE(0x100)|CREATE(0x400)
  t.is(b[16 + 4], 100);
  t.is(b[16 + 6], 253); // RT_SCOPE_LINK
  t.false(hex(b).includes('08000f00'), 'no RTA_TABLE');
});

test('rules: not fwmark + table + suppress_prefixlength match ip rule add', (t) => {
  t.is(framed(ruleRequest('add', { family: 4, fwmark: 0xca6c, invert: true, table: 51820, suppressPrefixLength: 0 })), RULE_NOT_FWMARK);
  t.is(framed(ruleRequest('add', { family: 4, table: 254, suppressPrefixLength: 0 })), RULE_SUPPRESS);
});

test('fdb append matches bridge fdb append', (t) => {
  t.is(framed(fdbRequest('append', { index: VX0, mac: '00:00:00:00:00:00', dst: '10.0.0.2' })), FDB_APPEND);
});

test('bad arguments are refused before sending, naming the operation', (t) => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => createLinkRequest({ kind: 'bridge', name: 'a-name-that-is-too-long' }), /^create link .* \(bridge\): invalid interface name/],
    [() => createLinkRequest({ kind: 'bridge', name: 'a/b' }), /invalid interface name/],
    [() => createLinkRequest({ kind: 'vxlan', name: 'vx0', id: 1 << 24, dstPort: 4789 }), /vxlan id must be an integer in 0\.\.16777215/],
    [() => createLinkRequest({ kind: 'vxlan', name: 'vx0', id: 1, dstPort: 4789, remote: '10.0.0.300' }), /invalid remote address/],
    [() => createLinkRequest({ kind: 'vxlan', name: 'vx0', id: 1, dstPort: 4789, remote: '10.0.0.1', group: '239.1.1.1' }), /remote or group/],
    [() => createLinkRequest({ kind: 'vlan', name: 'vl0', parent: 've0', id: 5 }), /parent "ve0" was not resolved/],
    [() => createLinkRequest({ kind: 'macvlan', name: 'm', parent: 2, mode: 'nope' as 'bridge' }), /unknown macvlan mode/],
    [() => createLinkRequest({ kind: 'tap', name: 'tap0' }), /TUNSETIFF/],
    [() => addAddressRequest(3, '10.0.0.1/33'), /^add address 10\.0\.0\.1\/33 to 3: invalid address prefix/],
    [() => routeRequest('add', { dst: '10.0.0.0/8' }), /needs a gateway or a dev/],
    [() => routeRequest('add', { dst: '10.0.0.0/8', gateway: 'fd00::1' }), /gateway fd00::1 is not IPv4/],
    [() => ruleRequest('add', { family: 4, table: 0 }), /table must be/],
    [() => ruleRequest('add', { family: 4, suppressPrefixLength: 33 }), /suppressPrefixLength/],
    [() => fdbRequest('append', { index: 3, mac: '00:00:00:00:00' }), /invalid MAC/],
  ];
  for (const [fn, re] of cases) {
    const e = t.throws(fn, { instanceOf: NetlinkArgumentError });
    t.regex(e?.message ?? '', re);
  }
});

test('a link given by index and name: the request carries the index, the message the name', (t) => {
  const byBoth = { index: 6, name: 'wg0' };
  t.is(framed(getLinkRequest(byBoth, 'get link wg0')), framed(getLinkRequest(6, 'get link wg0')));
  const route = routeRequest('add', { dst: '10.0.0.0/8', dev: 6 }, linkName(byBoth));
  t.is(route.what, 'add route 10.0.0.0/8 dev wg0');
  t.is(framed(route), framed(routeRequest('add', { dst: '10.0.0.0/8', dev: 6 })));
  t.is(addAddressRequest(6, 'fd42:42:42::1/64', {}, linkName(byBoth)).what, 'add address fd42:42:42::1/64 to wg0');
  t.is(linkName(6), '6');
  t.is(linkName('eth0'), 'eth0');
  const vlan = createLinkRequest({ kind: 'vlan', name: 'vl0', parent: { index: 2, name: 'eth0' }, id: 5 });
  t.is(framed(vlan), framed(createLinkRequest({ kind: 'vlan', name: 'vl0', parent: 2, id: 5 })));
});
