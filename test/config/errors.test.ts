import test from 'ava';
import fc from 'fast-check';
import { ConfigError, parseConfig } from '../../src/config/index.js';

const PRIV = 'dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=';
const PUB = 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=';
const PEER1 = '3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=';
const FILE = 'conf/wg0.conf';

/** Every error line of parsing `text`; fails the test if it parses. */
function errorsOf(text: string): string[] {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const lines = e.errors.map((p) => `${p.file}:${p.line}: ${p.message}`);
    if (e.message !== lines.join('\n')) throw new Error('ConfigError.message is not its errors joined', { cause: e });
    return lines;
  }
  throw new Error('expected a ConfigError');
}

const iface = (extra = '') => `[Interface]\nPrivateKey = ${PRIV}\n${extra}`;

test('the four errors from the issue, all reported from one file with their lines', (t) => {
  const text = `[Interface]
PrivateKey = not-a-key
ListenPort = 99999
Address = 10.0.0.300/24
ListenPrt = 51820
`;
  t.deepEqual(errorsOf(text), [
    `${FILE}:2: PrivateKey is not a valid key: expected 44 base64 characters, got 9`,
    `${FILE}:3: ListenPort must be 0..65535 (0 picks a random port), got 99999`,
    `${FILE}:4: Address "10.0.0.300/24": "10.0.0.300" is not an IPv4 or IPv6 address`,
    `${FILE}:5: unknown key "ListenPrt" in [Interface]; did you mean ListenPort?`,
  ]);
});

test('a bad key never appears in the message', (t) => {
  const secret = PRIV.slice(0, 43) + '!';
  const [line] = errorsOf(`[Interface]\nPrivateKey = ${secret}\n`);
  t.is(line, `${FILE}:2: PrivateKey is not a valid key: must end with '='`);
  t.false(line!.includes(secret.slice(0, 20)));
  t.deepEqual(errorsOf(iface(`[Peer]\nPublicKey = ${PEER1.slice(0, 42)}p=\nPresharedKey = ${'*'.repeat(43)}=\nAllowedIPs = 10.0.0.0/8\n`)), [
    `${FILE}:4: PublicKey is not a valid key: not canonical base64 (character 43 has padding bits set)`,
    `${FILE}:5: PresharedKey is not a valid key: character 1 is not in the base64 alphabet`,
  ]);
});

test('structure errors: unknown section, key outside a section, line without =, malformed header', (t) => {
  t.deepEqual(errorsOf(`ListenPort = 1\n[Interface]\nPrivateKey = ${PRIV}\n[Peers]\nPublicKey = ${PEER1}\njust some words\n[Peer\n`), [
    `${FILE}:1: ListenPort is outside a section: put it under [Interface] or [Peer]`,
    `${FILE}:4: unknown section [Peers]: expected [Interface], [Peer] or [Mesh]`,
    `${FILE}:6: expected "Key = Value", got "just some words"`,
    `${FILE}:7: malformed section header "[Peer": expected [Interface], [Peer] or [Mesh]`,
  ]);
});

test('unknown keys name the key and suggest a near one; keys of the other section say where they belong', (t) => {
  t.deepEqual(errorsOf(iface(`Adress = 10.0.0.1/24\nFrobnicate = 1\nPublicKey = ${PEER1}\n[Peer]\nPublicKey = ${PEER1}\nAllowedIP = 10.0.0.0/8\nListenPort = 5\n`)), [
    `${FILE}:3: unknown key "Adress" in [Interface]; did you mean Address?`,
    `${FILE}:4: unknown key "Frobnicate" in [Interface]`,
    `${FILE}:5: PublicKey belongs in [Peer], not [Interface]`,
    `${FILE}:8: unknown key "AllowedIP" in [Peer]; did you mean AllowedIPs?`,
    `${FILE}:9: ListenPort belongs in [Interface], not [Peer]`,
  ]);
});

test('missing PrivateKey: at the [Interface] line, or line 1 without any [Interface]', (t) => {
  t.deepEqual(errorsOf(`# hi\n[Interface]\nListenPort = 5\n`), [`${FILE}:2: [Interface] has no PrivateKey (it is required)`]);
  t.deepEqual(errorsOf(`[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = 10.0.0.0/8\n`), [
    `${FILE}:1: no [Interface] section: one with a PrivateKey is required`,
  ]);
  t.deepEqual(errorsOf(''), [`${FILE}:1: no [Interface] section: one with a PrivateKey is required`]);
});

test('peer without PublicKey, duplicate peer PublicKey (pointing at the first), own key as a peer', (t) => {
  t.deepEqual(
    errorsOf(
      iface(
        `[Peer]\nAllowedIPs = 10.0.0.0/24\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = 10.0.1.0/24\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = 10.0.2.0/24\n[Peer]\nPublicKey = ${PUB}\nAllowedIPs = 10.0.3.0/24\n`,
      ),
    ),
    [
      `${FILE}:3: [Peer] has no PublicKey (it is required)`,
      `${FILE}:9: duplicate peer PublicKey: the same key is already used at line 6`,
      `${FILE}:12: peer PublicKey is this interface's own public key (derived from its PrivateKey)`,
    ],
  );
});

test('an empty AllowedIPs line, or an empty item in one, is refused at its line, as wg refuses them', (t) => {
  const peer = (allowed: string) => iface(`[Peer]\nPublicKey = ${PEER1}\n${allowed}\n`);
  t.deepEqual(errorsOf(peer('AllowedIPs =')), [
    `${FILE}:5: AllowedIPs has no value (wg refuses an empty AllowedIPs line; leave the line out instead)`,
  ]);
  t.deepEqual(errorsOf(peer('AllowedIPs = 10.0.0.0/8,')), [`${FILE}:5: AllowedIPs "10.0.0.0/8," has an empty item between commas (wg refuses it)`]);
  t.deepEqual(errorsOf(peer('AllowedIPs = 10.0.0.0/8, , fd00::/8')), [
    `${FILE}:5: AllowedIPs "10.0.0.0/8, , fd00::/8" has an empty item between commas (wg refuses it)`,
  ]);
});

test('FwMark with a capital 0X is refused at its line, as wg refuses it (hex needs a lowercase 0x)', (t) => {
  t.deepEqual(errorsOf(iface('FwMark = 0X1234\n')), [`${FILE}:3: FwMark "0X1234": write hex with a lowercase 0x, as wg reads it`]);
  t.deepEqual(errorsOf(iface('FwMark = 0x\n')), [`${FILE}:3: FwMark must be off, a decimal number or 0x-prefixed hex, got "0x"`]);
});

test('repeated single-valued keys and a second [Interface] are errors; repeatable keys are not', (t) => {
  t.deepEqual(errorsOf(iface(`ListenPort = 1\nAddress = 10.0.0.1/24\nAddress = 10.0.0.2/24\nlistenport = 2\n[Interface]\nPrivateKey = ${PRIV}\n`)), [
    `${FILE}:6: ListenPort is set twice in this section (first at line 3)`,
    `${FILE}:7: a second [Interface] section (the first is at line 1); only one is allowed`,
  ]);
});

test('interface value errors', (t) => {
  t.deepEqual(
    errorsOf(
      iface(
        [
          'ListenPort = -1',
          'MTU = 500',
          'Table = 0',
          'FwMark = 0x1ffffffff',
          'DNS = 1.1.1.1, not_a_domain!',
          'SaveConfig = yes',
          'Address = 10.0.0.1/33, fd00::1/129, 10.0.0.2',
          'PreUp =',
        ].join('\n') + '\n',
      ),
    ),
    [
      `${FILE}:3: ListenPort must be a number 0..65535 (0 picks a random port), got "-1"`,
      `${FILE}:4: MTU must be 576..9000 (tunvpn carries packets of up to 9000 bytes), got 500`,
      `${FILE}:5: Table must be 1..4294967295, got 0`,
      `${FILE}:6: FwMark must fit in 32 bits (at most 4294967295), got "0x1ffffffff"`,
      `${FILE}:7: DNS "not_a_domain!" is neither an IP address nor a search domain`,
      `${FILE}:8: SaveConfig must be true or false, got "yes"`,
      `${FILE}:9: Address "10.0.0.1/33": prefix length must be 0..32`,
      `${FILE}:9: Address "fd00::1/129": prefix length must be 0..128`,
    ],
  );
  t.deepEqual(errorsOf(iface('MTU =\nTable = wat\n')), [
    `${FILE}:3: MTU has no value`,
    `${FILE}:4: Table must be auto, off, main, local, default or a number 1..4294967295, got "wat"`,
  ]);
});

test('an MTU below 1280 with an IPv6 address is an error naming the address line', (t) => {
  t.deepEqual(errorsOf(iface('Address = 10.0.0.1/24\nMTU = 1200\nAddress = fd00::1/64\n')), [
    `${FILE}:4: MTU 1200 is below 1280, the minimum for IPv6 (Address fd00::1/64 at line 5)`,
  ]);
});

test('peer value errors: endpoints, keepalive, AllowedIPs', (t) => {
  const peer = (lines: string) => errorsOf(iface(`[Peer]\nPublicKey = ${PEER1}\n${lines}\n`));
  const cases: [string, string][] = [
    ['Endpoint = 1.2.3.4', 'Endpoint "1.2.3.4" needs a port: host:port'],
    ['Endpoint = 1.2.3.4:0', 'Endpoint port must be 1..65535, got 0'],
    ['Endpoint = 1.2.3.4:70000', 'Endpoint port must be 1..65535, got 70000'],
    ['Endpoint = 1.2.3.4:http', 'Endpoint port must be a number 1..65535, got "http"'],
    ['Endpoint = 1.2.3.400:1', 'Endpoint "1.2.3.400:1": "1.2.3.400" is not an IPv4 address'],
    ['Endpoint = ::1:51820', 'Endpoint "::1:51820": put an IPv6 address in brackets, as in [2001:db8::1]:51820'],
    ['Endpoint = [::1]51820', 'Endpoint "[::1]51820" needs a port: [address]:port'],
    ['Endpoint = [::1:51820', `Endpoint "[::1:51820" has '[' without ']'`],
    ['Endpoint = [1.2.3.4]:5', 'Endpoint "[1.2.3.4]:5": "1.2.3.4" is not an IPv6 address'],
    ['Endpoint = bad_host!:5', 'Endpoint "bad_host!:5": "bad_host!" is not an IP address or hostname'],
    ['Endpoint = :5', 'Endpoint ":5" has no host'],
    ['Endpoint = [fd00::b%veth0]:5', 'Endpoint "[fd00::b%veth0]:5": a zone name (%veth0) only qualifies a link-local address (fe80::/10)'],
    ['Endpoint = [fe80::b%a/b]:5', `Endpoint "[fe80::b%a/b]:5": after %, invalid interface name "a/b": contains '/', ':' or whitespace`],
    ['Endpoint = [fe80::b%4294967296]:5', 'Endpoint "[fe80::b%4294967296]:5": the zone after % must be an interface name or a number 0..4294967295'],
    ['Endpoint = [fe80::b%]:5', 'Endpoint "[fe80::b%]:5" has an empty zone after %'],
    ['PersistentKeepalive = 65536', 'PersistentKeepalive must be 0..65535 seconds or off, got 65536'],
    ['PersistentKeepalive = often', 'PersistentKeepalive must be a number 0..65535 seconds or off, got "often"'],
    ['AllowedIPs = 10.0.0.0/8, 300.0.0.0/8', 'AllowedIPs "300.0.0.0/8": "300.0.0.0" is not an IPv4 or IPv6 address'],
    ['AllowedIPs = 10.0.0.0/', 'AllowedIPs "10.0.0.0/": prefix length must be 0..32'],
  ];
  for (const [line, message] of cases) t.deepEqual(peer(line), [`${FILE}:5: ${message}`], line);
});

test('arbitrary text never crashes the parser: it parses or throws ConfigError', (t) => {
  const keyish = fc.constantFrom('PrivateKey', 'ListenPort', 'Address', 'PublicKey', 'AllowedIPs', 'Endpoint', 'MTU', 'DNS', 'x');
  const valueish = fc.oneof(fc.string(), fc.constantFrom(PRIV, PEER1, '10.0.0.1/24', '[::1]:1', '0', '99999', '', '#'));
  const line = fc.oneof(
    fc.string(),
    fc.constantFrom('[Interface]', '[Peer]', '[x]', '['),
    fc.tuple(keyish, valueish).map(([k, v]) => `${k} = ${v}`),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
      try {
        parseConfig(lines.join('\n'), FILE);
        return true;
      } catch (e) {
        return e instanceof ConfigError && e.errors.length > 0 && e.errors.every((p) => p.file === FILE && p.line >= 1);
      }
    }),
    { numRuns: 500 },
  );
  t.throws(() => parseConfig('[Peer]', FILE), { instanceOf: ConfigError });
});

test('an MTU above what the data path carries is refused; the largest one it carries is accepted', (t) => {
  t.deepEqual(errorsOf(iface('MTU = 9001\n')), [`${FILE}:3: MTU must be 576..9000 (tunvpn carries packets of up to 9000 bytes), got 9001`]);
  t.deepEqual(errorsOf(iface('MTU = 65535\n')), [`${FILE}:3: MTU must be 576..9000 (tunvpn carries packets of up to 9000 bytes), got 65535`]);
  t.is(parseConfig(iface('MTU = 9000\n'), FILE).interface.mtu, 9000);
});

test('[Mesh]: its errors and warnings come as FILE:LINE with the rest of the file\'s', (t) => {
  const text = `[Interface]
PrivateKey = ${PRIV}
Address = 10.50.0.1/24
Etcd = http://10.40.0.1:2379

[Mesh]
Etcd = http://10.40.0.1:2379, ftp://x:1
TTL = 1
Nmae = a
ListenPort = 5

[Mesh]
Etcd = http://10.40.0.2:2379
`;
  t.deepEqual(errorsOf(text), [
    `${FILE}:4: Etcd belongs in [Mesh], not [Interface]`,
    `${FILE}:7: Etcd "ftp://x:1": scheme must be http or https, got "ftp"`,
    `${FILE}:8: TTL must be 2..3600 seconds, got 1`,
    `${FILE}:9: unknown key "Nmae" in [Mesh]; did you mean Name?`,
    `${FILE}:10: unknown key "ListenPort" in [Mesh]`,
    `${FILE}:12: a second [Mesh] section (the first is at line 6); only one is allowed`,
  ]);
});

test('[Mesh] without Etcd is refused at its header; without AllowedIPs it needs an Address to announce', (t) => {
  t.deepEqual(errorsOf(iface('Address = 10.50.0.1/24\n[Mesh]\nName = a\n')), [`${FILE}:4: [Mesh] has no Etcd (the etcd client URLs are required)`]);
  t.deepEqual(errorsOf(iface('[Mesh]\nEtcd = http://10.40.0.1:2379\n')), [
    `${FILE}:3: [Mesh] has no AllowedIPs and [Interface] no Address: this node would route nothing into the mesh; set one of them`,
  ]);
  t.notThrows(() => parseConfig(iface('[Mesh]\nEtcd = http://10.40.0.1:2379\nAllowedIPs = 10.60.0.0/24\n'), FILE));
});
