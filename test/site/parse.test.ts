import test from 'ava';
import { parseSite } from '../../src/site/parse.js';
import { SiteConfigError } from '../../src/site/errors.js';
import { formatIp, formatPrefix } from '../../src/net/ip.js';
import { vethHostName, moveTempName } from '../../src/site/names.js';

const FILE = 'site-a.conf';

const HOST_A = `
# host a
[Bridge]
Name = br-lan
Address = 192.168.50.1/24        # this host on the segment

[vxlan]
name = vx-lan
ID = 42
Local = 10.213.0.1
Remote = 10.213.0.2, 10.213.0.3
Bridge = br-lan
Dev = tun0

[Namespace]
Name = c1
Bridge = br-lan
Address = 192.168.50.11/24
Gateway = 192.168.50.1
`;

test('parses the example site, keys and sections case-insensitive, trailing comments', (t) => {
  const site = parseSite(HOST_A, FILE);
  t.is(site.links.length, 2);
  const [br, vx] = site.links;
  t.is(br!.kind, 'bridge');
  t.is(formatPrefix(br!.kind === 'bridge' ? br!.address! : ({} as never)), '192.168.50.1/24');
  t.like(vx, { kind: 'vxlan', name: 'vx-lan', id: 42, dstPort: 4789, bridge: 'br-lan', dev: 'tun0', line: 7 });
  if (vx!.kind !== 'vxlan') return t.fail();
  t.deepEqual(vx!.remotes.map(formatIp), ['10.213.0.2', '10.213.0.3']);
  t.is(formatIp(vx!.local!), '10.213.0.1');
  t.is(site.namespaces.length, 1);
  t.like(site.namespaces[0], { name: 'c1', bridge: 'br-lan', line: 15 });
  t.is(formatIp(site.namespaces[0]!.gateway!), '192.168.50.1');
});

test('every other section kind parses with its defaults', (t) => {
  const site = parseSite(
    `[Namespace]
Name = n1
[Veth]
Name = va
Peer = vb
PeerNamespace = n1
Address = 10.9.0.1/30
PeerAddress = 10.9.0.2/30
MTU = 9000
[Macvlan]
Name = mv0
Parent = va
Namespace = n1
[Ipvlan]
Name = iv0
Parent = va
Mode = L3
[Vlan]
Name = va.10
Parent = va
Id = 10
[Geneve]
Name = gn0
Id = 7
Remote = fd00::2
[Tap]
Name = tap0
`,
    FILE,
  );
  const byName = new Map(site.links.map((l) => [l.name, l]));
  t.like(byName.get('va'), { kind: 'veth', peer: 'vb', peerNamespace: 'n1', mtu: 9000 });
  t.like(byName.get('mv0'), { kind: 'macvlan', mode: 'bridge', parent: 'va', namespace: 'n1' });
  t.like(byName.get('iv0'), { kind: 'ipvlan', mode: 'l3' });
  t.like(byName.get('va.10'), { kind: 'vlan', id: 10 });
  t.like(byName.get('gn0'), { kind: 'geneve', id: 7, dstPort: 6081 });
  t.like(byName.get('tap0'), { kind: 'tap' });
});

test('namespacePrefix renames declarations and references', (t) => {
  const site = parseSite(`[Bridge]\nName=br\n[Namespace]\nName=c1\nBridge=br\n[Veth]\nName=a\nPeer=b\nNamespace=c1\n`, FILE, { namespacePrefix: 'tv123-' });
  t.is(site.namespaces[0]!.name, 'tv123-c1');
  t.like(site.links[1], { namespace: 'tv123-c1' });
});

const errors: Array<[string, string, number, RegExp]> = [
  ['unknown section', '[Bridge]\nName=b\n[Router]\nName=x\n', 3, /unknown section \[Router\]/],
  ['a section named like an Object property', '[constructor]\nName=x\n', 1, /unknown section \[constructor\]/],
  ['unknown key', '[Bridge]\nName=b\nColour=red\n', 3, /unknown key "Colour"/],
  ['key outside section', 'Name=b\n', 1, /outside of any section/],
  ['malformed line', '[Bridge]\nName b\n', 2, /expected "Key = Value"/],
  ['malformed header', '[Bridge\nName=b\n', 1, /malformed section header/],
  ['empty value', '[Bridge]\nName =\n', 2, /empty value/],
  ['duplicate key', '[Bridge]\nName=b\nname=c\n', 3, /duplicate key "name".*line 2/],
  ['missing Name', '\n[Bridge]\nMTU=1400\n', 2, /missing Name/],
  ['missing Name in namespace', '[Namespace]\nBridge=x\n', 1, /missing Name/],
  ['name too long', '[Bridge]\nName=this-is-16-chars\n', 2, /longer than 15/],
  ['bad name chars', '[Bridge]\nName=a/b\n', 2, /contains/],
  ['duplicate link name', '[Bridge]\nName=b\n[Tap]\nName=b\n', 4, /duplicate interface name "b" in the host \(first at line 2\)/],
  ['duplicate namespace', '[Namespace]\nName=c1\n[Namespace]\nName=c1\n', 4, /duplicate namespace name "c1" \(first at line 2\)/],
  ['derived veth name clash', '[Bridge]\nName=br\n[Tap]\nName=ve-c1\n[Namespace]\nName=c1\nBridge=br\n', 6, /duplicate interface name "ve-c1" \(derived from \[Namespace\] c1\)/],
  ['bad address', '[Bridge]\nName=b\nAddress=192.168.50.300/24\n', 3, /bad address "192.168.50.300\/24"/],
  ['address without prefix', '[Bridge]\nName=b\nAddress=192.168.50.1\n', 3, /needs a prefix length/],
  ['bad remote', '[Vxlan]\nName=v\nId=1\nRemote=10.0.0.2, nope\n', 4, /bad address "nope"/],
  ['vxlan id too big', '[Vxlan]\nName=v\nId=16777216\n', 3, /Id 16777216 out of range \(0\.\.16777215\)/],
  ['vxlan id not a number', '[Vxlan]\nName=v\nId=0x10\n', 3, /decimal integer/],
  ['vxlan missing id', '[Vxlan]\nName=v\n', 1, /missing Id/],
  ['geneve id too big', '[Geneve]\nName=g\nId=99999999\nRemote=10.0.0.1\n', 3, /out of range/],
  ['geneve missing remote', '[Geneve]\nName=g\nId=1\n', 1, /missing Remote/],
  ['vlan id 0', '[Vlan]\nName=v\nParent=eth0\nId=0\n', 4, /Id 0 out of range \(1\.\.4094\)/],
  ['vlan id 4095', '[Vlan]\nName=v\nParent=eth0\nId=4095\n', 4, /out of range/],
  ['vlan missing parent', '[Vlan]\nName=v\nId=5\n', 1, /missing Parent/],
  ['mtu out of range', '[Bridge]\nName=b\nMTU=40\n', 3, /MTU 40 out of range/],
  ['dstport out of range', '[Vxlan]\nName=v\nId=1\nDstPort=70000\n', 4, /DstPort 70000 out of range/],
  ['undeclared bridge', '[Vxlan]\nName=v\nId=1\nBridge=br0\n', 4, /Bridge "br0" is not declared/],
  ['undeclared bridge (namespace)', '[Namespace]\nName=c1\nBridge=br0\n', 3, /Bridge "br0" is not declared/],
  ['undeclared namespace', '[Macvlan]\nName=m\nParent=eth0\nNamespace=nowhere\n', 4, /namespace "nowhere" is not declared/],
  ['undeclared peer namespace', '[Veth]\nName=a\nPeer=b\nPeerNamespace=x\n', 4, /namespace "x" is not declared/],
  ['veth missing peer', '[Veth]\nName=a\n', 1, /missing Peer/],
  ['gateway without address', '[Bridge]\nName=b\n[Namespace]\nName=c\nBridge=b\nGateway=10.0.0.1\n', 6, /Gateway needs Address/],
  ['gateway outside prefix', '[Bridge]\nName=b\n[Namespace]\nName=c\nBridge=b\nAddress=10.0.0.2/24\nGateway=10.0.1.1\n', 7, /not inside the Address prefix/],
  ['namespace address without bridge', '[Namespace]\nName=c\nAddress=10.0.0.2/24\n', 3, /Address needs Bridge/],
  ['bad macvlan mode', '[Macvlan]\nName=m\nParent=eth0\nMode=weird\n', 4, /Mode must be one of/],
  ['mixed families', '[Vxlan]\nName=v\nId=1\nLocal=10.0.0.1\nRemote=fd00::2\n', 5, /different IP families/],
  ['duplicate remote', '[Vxlan]\nName=v\nId=1\nRemote=10.0.0.2\nRemote=10.0.0.2\n', 5, /duplicate Remote/],
  ['same vni twice', '[Vxlan]\nName=v1\nId=1\n[Vxlan]\nName=v2\nId=1\n', 6, /Id 1 on port 4789 is already used by v1/],
  ['bad namespace name', '[Namespace]\nName=../etc\n', 2, /may only contain/],
  ['mesh and addresses', '[Vxlan]\nName=v\nId=1\nLocal=10.0.0.1\nDev=tun0\nRemote=mesh\nRemote=10.0.0.2\n', 7, /Remote = mesh \(line 6\) takes no other Remote/],
  ['mesh without Dev', '[Vxlan]\nName=v\nId=1\nLocal=10.0.0.1\nRemote=mesh\n', 5, /Remote = mesh needs Dev/],
  ['mesh without Local', '[Vxlan]\nName=v\nId=1\nDev=tun0\nRemote=Mesh\n', 5, /Remote = mesh needs Local/],
  ['veth bridge with namespace', '[Bridge]\nName=b\n[Namespace]\nName=n\n[Veth]\nName=a\nPeer=c\nNamespace=n\nBridge=b\n', 9, /Bridge needs the Name end on the host/],
];

for (const [title, text, line, message] of errors) {
  test(`error with its line: ${title}`, (t) => {
    const err = t.throws(() => parseSite(text, FILE), { instanceOf: SiteConfigError });
    t.is(err?.line, line);
    t.regex(err.message, new RegExp(`^${FILE}:${line}: `));
    t.regex(err.message, message);
  });
}

test('derived names: veth host ends fit IFNAMSIZ and are stable and distinct', (t) => {
  t.is(vethHostName('c1'), 've-c1');
  const long1 = vethHostName('tv-site-12345-abcdef-c1');
  const long2 = vethHostName('tv-site-12345-abcdef-c2');
  t.true(long1.length <= 15 && long2.length <= 15);
  t.not(long1, long2);
  t.is(vethHostName('tv-site-12345-abcdef-c1'), long1);
  t.regex(moveTempName('c1', 'eth0'), /^tvm-[0-9a-f]{8}$/);
});
