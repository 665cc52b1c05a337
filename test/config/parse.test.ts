import test from 'ava';
import { parseConfig, redactConfig, formatConfig, type QuickConfig } from '../../src/config/index.js';
import { encodeKey } from '../../src/crypto/keys.js';
import { formatIp, formatPrefix } from '../../src/net/ip.js';

// RFC 7748 Alice's private key and its public key; Bob's public key; two more syntactically valid keys.
const PRIV = 'dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=';
const PUB = 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=';
const PEER1 = '3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=';
const PEER2 = 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=';
const PSK = 'AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=';

const FULL = `# every key tunvpn knows
[Interface]
PrivateKey = ${PRIV}
Address = 10.0.0.1/24, fd00::1/64
Address = 192.168.5.7
ListenPort = 51820
MTU = 1420
Table = 1234
FwMark = 0x51820
DNS = 10.0.0.53, 2001:db8::53, corp.example
DNS = lab.example
SaveConfig = false
PreUp = echo pre-up
PostUp = iptables -A FORWARD -i %i -j ACCEPT
PostUp = echo second = with equals
PreDown = echo pre-down
PostDown = echo post-down

[Peer]
PublicKey = ${PEER1}
PresharedKey = ${PSK}
AllowedIPs = 10.0.0.2/32, fd00::2/128
AllowedIPs = 172.16.0.0/12
Endpoint = 203.0.113.5:51820
PersistentKeepalive = 25

[Peer]
PublicKey = ${PEER2}
AllowedIPs = 10.0.1.0/24
Endpoint = [2001:db8::1]:51821
PersistentKeepalive = off
`;

const parse = (text: string): QuickConfig => parseConfig(text, 'wg0.conf');

test('a config with every key parses to the right values', (t) => {
  const c = parse(FULL);
  t.is(c.file, 'wg0.conf');
  const i = c.interface;
  t.is(i.line, 2);
  t.is(encodeKey(i.privateKey), PRIV);
  t.is(encodeKey(i.publicKey), PUB);
  t.deepEqual(i.addresses.map(formatPrefix), ['10.0.0.1/24', 'fd00::1/64', '192.168.5.7/32']);
  t.is(i.listenPort, 51820);
  t.is(i.mtu, 1420);
  t.is(i.table, 1234);
  t.is(i.fwMark, 0x51820);
  t.deepEqual(i.dns.servers.map(formatIp), ['10.0.0.53', '2001:db8::53']);
  t.deepEqual(i.dns.search, ['corp.example', 'lab.example']);
  t.false(i.saveConfig);
  t.deepEqual(i.preUp, ['echo pre-up']);
  t.deepEqual(i.postUp, ['iptables -A FORWARD -i %i -j ACCEPT', 'echo second = with equals']);
  t.deepEqual(i.preDown, ['echo pre-down']);
  t.deepEqual(i.postDown, ['echo post-down']);

  t.is(c.peers.length, 2);
  const [p1, p2] = c.peers;
  t.is(p1!.line, 19);
  t.is(encodeKey(p1!.publicKey), PEER1);
  t.is(encodeKey(p1!.presharedKey!), PSK);
  t.deepEqual(p1!.allowedIPs.map(formatPrefix), ['10.0.0.2/32', 'fd00::2/128', '172.16.0.0/12']);
  t.deepEqual(p1!.endpoint, { host: '203.0.113.5', port: 51820 });
  t.is(p1!.persistentKeepalive, 25);
  t.is(p2!.line, 27);
  t.is(p2!.presharedKey, undefined);
  t.deepEqual(p2!.endpoint, { host: '2001:db8::1', port: 51821 });
  t.is(p2!.persistentKeepalive, undefined);
  t.deepEqual(c.warnings, []);
});

test('defaults: no optional keys, no peers', (t) => {
  const c = parse(`[Interface]\nPrivateKey = ${PRIV}\n`);
  const i = c.interface;
  t.deepEqual(i.addresses, []);
  t.is(i.listenPort, undefined);
  t.is(i.mtu, undefined);
  t.is(i.table, 'auto');
  t.is(i.fwMark, undefined);
  t.deepEqual(i.dns, { servers: [], search: [] });
  t.false(i.saveConfig);
  t.deepEqual(c.peers, []);
});

test('keys and section names are case-insensitive; whitespace around = is ignored', (t) => {
  const c = parse(`[INTERFACE]\n  privatekey=${PRIV}\nLISTENPORT   =   7\naddress\t=\t10.1.0.1/16\n[peer]\npublickey =${PEER1}\nallowedips= 10.2.0.0/16\nENDPOINT = h.example:9\n`);
  t.is(c.interface.listenPort, 7);
  t.deepEqual(c.interface.addresses.map(formatPrefix), ['10.1.0.1/16']);
  t.deepEqual(c.peers[0]!.endpoint, { host: 'h.example', port: 9 });
});

test('comments (full line and trailing), blank lines and CRLF are ignored', (t) => {
  const text = `# leading comment\r\n\r\n[Interface] # the interface\r\nPrivateKey = ${PRIV} # secret\r\n   # indented comment\r\nListenPort = 1000#no space\r\n\r\n[Peer]\r\nPublicKey = ${PEER1}\r\nAllowedIPs = 10.0.0.0/8 # everything internal\r\n`;
  const c = parse(text);
  t.is(c.interface.listenPort, 1000);
  t.deepEqual(c.peers[0]!.allowedIPs.map(formatPrefix), ['10.0.0.0/8']);
});

test('FwMark is a 32-bit unsigned value: marks with the top bit set are taken as written', (t) => {
  const mark = (text: string) => parse(`[Interface]\nPrivateKey = ${PRIV}\nFwMark = ${text}\n`).interface.fwMark;
  t.is(mark('0x80000000'), 0x80000000);
  t.is(mark('2147483648'), 0x80000000);
  t.is(mark('0xffffffff'), 0xffffffff);
  t.is(mark('0xFFFFFFFF'), 0xffffffff);
  t.is(mark('0x51820'), 0x51820);
});

test('ListenPort 0 means random; FwMark off/0 and PersistentKeepalive 0 mean unset; named tables', (t) => {
  const base = (extra: string) => parse(`[Interface]\nPrivateKey = ${PRIV}\n${extra}\n`).interface;
  t.is(base('ListenPort = 0').listenPort, undefined);
  t.is(base('ListenPort = 65535').listenPort, 65535);
  t.is(base('FwMark = off').fwMark, undefined);
  t.is(base('FwMark = 0').fwMark, undefined);
  t.is(base('FwMark = 4294967295').fwMark, 0xffffffff);
  t.is(base('Table = off').table, 'off');
  t.is(base('Table = Auto').table, 'auto');
  t.is(base('Table = main').table, 254);
  t.is(base('Table = 4294967295').table, 0xffffffff);
  t.true(base('SaveConfig = True').saveConfig);
  t.is(base('MTU = 576').mtu, 576);
  t.is(base('MTU = 1280\nAddress = fd00::1/64').mtu, 1280);
  const peer = (extra: string) =>
    parse(`[Interface]\nPrivateKey = ${PRIV}\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = 10.0.0.0/8\n${extra}\n`).peers[0]!;
  t.is(peer('PersistentKeepalive = 0').persistentKeepalive, undefined);
  t.is(peer('PersistentKeepalive = 65535').persistentKeepalive, 65535);
});

test('IPv6 and hostname endpoints', (t) => {
  const endpoint = (e: string) =>
    parse(`[Interface]\nPrivateKey = ${PRIV}\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = ::/0\nEndpoint = ${e}\n`).peers[0]!.endpoint;
  t.deepEqual(endpoint('[::1]:51820'), { host: '::1', port: 51820 });
  t.deepEqual(endpoint('[fe80::1:2]:1'), { host: 'fe80::1:2', port: 1 });
  // Link-local with a zone, as wg-quick takes it: an interface name (resolved at up) or a scope id.
  t.deepEqual(endpoint('[fe80::b%veth0]:51820'), { host: 'fe80::b', port: 51820, zone: 'veth0' });
  t.deepEqual(endpoint('[fe80::b%3]:51820'), { host: 'fe80::b', port: 51820, zone: '3' });
  const scoped = parse(`[Interface]\nPrivateKey = ${PRIV}\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = ::/0\nEndpoint = [fe80::b%veth0]:51820\n`);
  t.regex(formatConfig(scoped), /^Endpoint = \[fe80::b%veth0\]:51820$/m);
  t.deepEqual(endpoint('localhost:51820'), { host: 'localhost', port: 51820 });
  t.deepEqual(endpoint('vpn-1.example.net.:443'), { host: 'vpn-1.example.net.', port: 443 });
});

test('AllowedIPs host bits are cleared with a warning; a duplicate within a peer counts once, at its last place', (t) => {
  const c = parse(`[Interface]\nPrivateKey = ${PRIV}\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = 10.0.0.1/24, fd00::1/64\nAllowedIPs = 10.0.0.0/24\n`);
  // wg setconf + wireguard-go list these as fd00::/64, 10.0.0.0/24: adding a prefix again moves it to the end.
  t.deepEqual(c.peers[0]!.allowedIPs.map(formatPrefix), ['fd00::/64', '10.0.0.0/24']);
  t.deepEqual(c.warnings, [
    'wg0.conf:5: AllowedIPs 10.0.0.1/24 has host bits set; using 10.0.0.0/24',
    'wg0.conf:5: AllowedIPs fd00::1/64 has host bits set; using fd00::/64',
    'wg0.conf:6: AllowedIPs 10.0.0.0/24 is listed twice for this peer (also at line 5)',
  ]);
});

test('the same AllowedIPs under two peers is accepted: the last peer owns it, a warning names both lines', (t) => {
  // The input: a fallback peer above the preferred one, both with 0.0.0.0/0.
  const c = parse(`[Interface]\nPrivateKey = ${PRIV}\n\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = 0.0.0.0/0\n\n[Peer]\nPublicKey = ${PEER2}\nAllowedIPs = 0.0.0.0/0\n`);
  t.is(c.peers.length, 2);
  t.deepEqual(c.warnings, [
    'wg0.conf:10: AllowedIPs 0.0.0.0/0 is also listed by the peer at line 4 (AllowedIPs at line 6); ' +
      'as with wg, the later peer (line 8) owns it and the peer at line 4 gets no traffic for it',
  ]);
  // After clearing host bits, across lines of one peer; the superseded claim takes no part in nesting warnings.
  const d = parse(
    `[Interface]\nPrivateKey = ${PRIV}\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = 10.0.0.0/16, fd00::/64\n[Peer]\nPublicKey = ${PEER2}\nAllowedIPs = 10.0.0.7/16\nAllowedIPs = fd00::/64, 10.0.5.0/24\n`,
  );
  t.deepEqual(d.warnings, [
    'wg0.conf:8: AllowedIPs 10.0.0.7/16 has host bits set; using 10.0.0.0/16',
    'wg0.conf:8: AllowedIPs 10.0.0.0/16 is also listed by the peer at line 3 (AllowedIPs at line 5); ' +
      'as with wg, the later peer (line 6) owns it and the peer at line 3 gets no traffic for it',
    'wg0.conf:9: AllowedIPs fd00::/64 is also listed by the peer at line 3 (AllowedIPs at line 5); ' +
      'as with wg, the later peer (line 6) owns it and the peer at line 3 gets no traffic for it',
  ]);
});

test('nested AllowedIPs across peers are a warning, a /0 beside a /24 is fine', (t) => {
  const c = parse(
    `[Interface]\nPrivateKey = ${PRIV}\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = 0.0.0.0/0, 10.0.0.0/16\n[Peer]\nPublicKey = ${PEER2}\nAllowedIPs = 10.0.5.0/24\n`,
  );
  t.is(c.peers.length, 2);
  t.deepEqual(c.warnings, [
    'wg0.conf:8: AllowedIPs 10.0.5.0/24 lies inside 10.0.0.0/16 of the peer at line 3 (line 5); the longer prefix wins',
  ]);
});

test('SaveConfig = true is accepted with a warning', (t) => {
  const c = parse(`[Interface]\nPrivateKey = ${PRIV}\nSaveConfig = true\n`);
  t.true(c.interface.saveConfig);
  t.deepEqual(c.warnings, ['wg0.conf:3: SaveConfig is not supported: tunvpn never rewrites the configuration file']);
});

test('a peer without AllowedIPs gets a warning', (t) => {
  const c = parse(`[Interface]\nPrivateKey = ${PRIV}\n[Peer]\nPublicKey = ${PEER1}\n`);
  t.deepEqual(c.warnings, ['wg0.conf:3: peer has no AllowedIPs: no traffic will be sent to it or accepted from it']);
});

test('redactConfig and formatConfig hide private and preshared keys, show public keys', (t) => {
  const c = parse(FULL);
  const r = redactConfig(c);
  t.is(r.interface.privateKey, '(hidden)');
  t.is(r.interface.publicKey, PUB);
  t.is(r.peers[0]!.presharedKey, '(hidden)');
  t.is(r.peers[0]!.publicKey, PEER1);
  t.is(r.peers[1]!.endpoint, '[2001:db8::1]:51821');
  const json = JSON.stringify(r);
  t.false(json.includes(PRIV));
  t.false(json.includes(PSK));
  const text = formatConfig(c);
  t.false(text.includes(PRIV));
  t.false(text.includes(PSK));
  t.regex(text, /^PrivateKey = \(hidden\)$/m);
  t.regex(text, /^PresharedKey = \(hidden\)$/m);
  t.regex(text, new RegExp(`^PublicKey = ${PEER1.replace(/[+/]/g, '\\$&')}$`, 'm'));
  t.regex(text, /^Address = 10\.0\.0\.1\/24, fd00::1\/64, 192\.168\.5\.7\/32$/m);
  t.regex(text, /^FwMark = 0x51820$/m);
  t.regex(text, /^DNS = 10\.0\.0\.53, 2001:db8::53, corp\.example, lab\.example$/m);
});

test('formatConfig output parses back to the same config once keys are restored', (t) => {
  const c = parse(FULL);
  const text = formatConfig(c).replace('PrivateKey = (hidden)', `PrivateKey = ${PRIV}`).replace('PresharedKey = (hidden)', `PresharedKey = ${PSK}`);
  const again = parse(text);
  t.deepEqual(redactConfig(again).interface, redactConfig(c).interface);
  t.deepEqual(
    redactConfig(again).peers.map(({ line: _l, ...p }) => p),
    redactConfig(c).peers.map(({ line: _l, ...p }) => p),
  );
});

const MESH = `[Interface]
PrivateKey = ${PRIV}
Address = 10.50.0.11/24
ListenPort = 51820

[Mesh]
Etcd = http://10.40.0.1:2379, https://[fd00::1]:2379
Name = site-a
Endpoint = 10.40.0.11:51820
AllowedIPs = 10.50.0.11/32, 10.60.1.0/24
TTL = 4
EtcdUser = tunvpn
EtcdPasswordFile = /etc/tunvpn/etcd.pass

[Peer]
PublicKey = ${PEER1}
AllowedIPs = 10.60.0.0/16
`;

test('[Mesh] parses into config.mesh; defaults stay defaults; a clash with a static peer is a warning at [Mesh]', (t) => {
  const text = MESH.replace(', https://[fd00::1]:2379', '');
  const c = parse(text);
  t.truthy(c.mesh);
  t.deepEqual(c.mesh!.etcd.map((e) => e.url), ['http://10.40.0.1:2379']);
  t.is(c.mesh!.name, 'site-a');
  t.deepEqual(c.mesh!.endpoint, { host: '10.40.0.11', port: 51820 });
  t.deepEqual(c.mesh!.allowedIPs!.map(formatPrefix), ['10.50.0.11/32', '10.60.1.0/24']);
  t.is(c.mesh!.prefix, '/tunvpn/');
  t.is(c.mesh!.ttl, 4);
  t.deepEqual(c.mesh!.auth, { user: 'tunvpn', passwordFile: '/etc/tunvpn/etcd.pass' });
  t.is(c.peers.length, 1);
  t.deepEqual(c.warnings, ['wg0.conf:6: [Mesh] AllowedIPs 10.60.1.0/24 overlaps 10.60.0.0/16 of the peer at line 15: packets for it go to that peer']);
  t.is(parse(FULL).mesh, undefined);
});

test('a [Mesh] with mixed schemes is refused at its Etcd line', (t) => {
  const err = t.throws(() => parse(MESH));
  t.is(err.message, 'wg0.conf:7: Etcd URLs mix http:// and https://; use one scheme for every member');
});

test('formatConfig prints [Mesh] after [Interface], paths as written, defaults left out; it parses back', (t) => {
  const text = MESH.replace(', https://[fd00::1]:2379', '');
  const c = parse(text);
  const shown = formatConfig(c);
  t.true(
    shown.includes(
      [
        '[Mesh]',
        'Etcd = http://10.40.0.1:2379',
        'Name = site-a',
        'Endpoint = 10.40.0.11:51820',
        'AllowedIPs = 10.50.0.11/32, 10.60.1.0/24',
        'TTL = 4',
        'EtcdUser = tunvpn',
        'EtcdPasswordFile = /etc/tunvpn/etcd.pass',
        '',
        '[Peer]',
      ].join('\n'),
    ),
    shown,
  );
  t.false(shown.includes('Prefix'));
  t.deepEqual(redactConfig(c).mesh?.etcd, ['http://10.40.0.1:2379']);
  const back = parse(shown.replace('PrivateKey = (hidden)', `PrivateKey = ${PRIV}`));
  t.deepEqual(back.mesh, c.mesh);
});
