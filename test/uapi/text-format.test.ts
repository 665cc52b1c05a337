import test from 'ava';
import fc from 'fast-check';
import { formatPrefix, networkOf, parsePrefix, type Prefix } from '../../src/net/ip.js';
import type { DeviceSnapshot, SetOperation } from '../../src/uapi/control.js';
import { EINVAL, EPROTO } from '../../src/uapi/errors.js';
import { formatErrnoReply, formatGetReply, formatSetRequest, parseGetReply, parseSetBody } from '../../src/uapi/text-format.js';
import { encodeHexKey } from '../../src/crypto/keys.js';

const key = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + i * 7) & 0xff);
const hex = (seed: number) => encodeHexKey(key(seed));
const prefix = (s: string): Prefix => parsePrefix(s)!;

function parseOk(lines: string[]): SetOperation {
  const r = parseSetBody(lines);
  if (!r.ok) throw new Error(`unexpected error: ${r.error.message}`);
  return r.value;
}

function errnoOf(lines: string[]): number | undefined {
  const r = parseSetBody(lines);
  return r.ok ? undefined : r.error.errno;
}

test('get reply has exactly wireguard-go shape and order', (t) => {
  const snap: DeviceSnapshot = {
    privateKey: key(1),
    listenPort: 51820,
    fwmark: 0x1234,
    peers: [
      {
        publicKey: key(2),
        presharedKey: key(3),
        endpoint: '192.0.2.7:51820',
        persistentKeepaliveInterval: 25,
        lastHandshakeTimeSec: 1700000000,
        lastHandshakeTimeNsec: 123456789,
        rxBytes: 1000,
        txBytes: 2000,
        allowedIps: [prefix('10.0.0.0/24'), prefix('fd00::/64')],
        protocolVersion: 1,
      },
      {
        publicKey: key(4),
        persistentKeepaliveInterval: 0,
        lastHandshakeTimeSec: 0,
        lastHandshakeTimeNsec: 0,
        rxBytes: 0,
        txBytes: 0,
        allowedIps: [],
        protocolVersion: 1,
      },
    ],
  };
  const expected =
    `private_key=${hex(1)}\n` +
    'listen_port=51820\n' +
    `fwmark=${0x1234}\n` +
    `public_key=${hex(2)}\n` +
    `preshared_key=${hex(3)}\n` +
    'protocol_version=1\n' +
    'endpoint=192.0.2.7:51820\n' +
    'last_handshake_time_sec=1700000000\n' +
    'last_handshake_time_nsec=123456789\n' +
    'tx_bytes=2000\n' +
    'rx_bytes=1000\n' +
    'persistent_keepalive_interval=25\n' +
    'allowed_ip=10.0.0.0/24\n' +
    'allowed_ip=fd00::/64\n' +
    `public_key=${hex(4)}\n` +
    `preshared_key=${'0'.repeat(64)}\n` +
    'protocol_version=1\n' +
    'last_handshake_time_sec=0\n' +
    'last_handshake_time_nsec=0\n' +
    'tx_bytes=0\n' +
    'rx_bytes=0\n' +
    'persistent_keepalive_interval=0\n' +
    'errno=0\n\n';
  t.is(formatGetReply(snap), expected);
});

test('get reply omits a zero or absent private key, port 0 and fwmark 0', (t) => {
  t.is(formatGetReply({ listenPort: 0, fwmark: 0, peers: [] }), 'errno=0\n\n');
  t.is(formatGetReply({ privateKey: new Uint8Array(32), listenPort: 0, fwmark: 0, peers: [] }), 'errno=0\n\n');
});

test('every set key is parsed', (t) => {
  const priv = new Uint8Array(32).fill(0xff);
  const op = parseOk([
    `private_key=${encodeHexKey(priv)}`,
    'listen_port=51820',
    'fwmark=4294967295',
    'replace_peers=true',
    `public_key=${hex(2).toUpperCase()}`,
    'update_only=true',
    `preshared_key=${hex(3)}`,
    'endpoint=[fd00::1]:51820',
    'persistent_keepalive_interval=25',
    'replace_allowed_ips=true',
    'allowed_ip=10.1.2.3/24',
    'allowed_ip=-fd00::/64',
    'protocol_version=1',
    `public_key=${hex(4)}`,
    'remove=true',
    `public_key=${hex(5)}`,
    'endpoint=198.51.100.1:1',
  ]);
  // Clamped as wireguard-go stores it.
  t.is(op.privateKey![0], 0xf8);
  t.is(op.privateKey![31], 0x7f);
  t.is(op.listenPort, 51820);
  t.is(op.fwmark, 4294967295);
  t.true(op.replacePeers);
  t.is(op.peers.length, 3);
  const [a, b, c] = op.peers as [SetOperation['peers'][0], SetOperation['peers'][0], SetOperation['peers'][0]];
  t.deepEqual(a.publicKey, key(2));
  t.true(a.updateOnly);
  t.false(a.remove);
  t.deepEqual(a.presharedKey, key(3));
  t.is(a.endpoint?.toString(), '[fd00::1]:51820');
  t.is(a.endpoint?.port, 51820);
  t.is(a.endpoint?.family, 6);
  t.is(a.persistentKeepaliveInterval, 25);
  t.true(a.replaceAllowedIps);
  t.deepEqual(
    a.allowedIps.map((x) => `${x.remove ? '-' : ''}${formatPrefix(x.prefix)}`),
    ['10.1.2.0/24', '-fd00::/64'],
  );
  t.deepEqual(b.publicKey, key(4));
  t.true(b.remove);
  t.is(c.endpoint?.toString(), '198.51.100.1:1');
});

test('zero private key is kept as zero (it means: remove the key)', (t) => {
  const op = parseOk([`private_key=${'0'.repeat(64)}`]);
  t.deepEqual(op.privateKey, new Uint8Array(32));
});

test('replace_allowed_ips drops allowed IPs listed before it in the same peer', (t) => {
  const op = parseOk([`public_key=${hex(2)}`, 'allowed_ip=10.0.0.0/8', 'replace_allowed_ips=true', 'allowed_ip=10.9.0.0/16']);
  t.deepEqual(op.peers[0]!.allowedIps.map((x) => formatPrefix(x.prefix)), ['10.9.0.0/16']);
});

test('after remove=true later peer lines are validated but change nothing', (t) => {
  const op = parseOk([`public_key=${hex(2)}`, 'allowed_ip=10.0.0.0/8', 'remove=true', 'endpoint=1.2.3.4:5', 'allowed_ip=10.1.0.0/16']);
  const p = op.peers[0]!;
  t.true(p.remove);
  t.is(p.endpoint, undefined);
  t.deepEqual(p.allowedIps, []);
  t.is(errnoOf([`public_key=${hex(2)}`, 'remove=true', 'endpoint=nonsense']), EINVAL);
});

test('invalid keys are EINVAL', (t) => {
  t.is(errnoOf([`private_key=${hex(1).slice(1)}`]), EINVAL);
  t.is(errnoOf([`private_key=${hex(1)}0`]), EINVAL);
  t.is(errnoOf([`public_key=${'g'.repeat(64)}`]), EINVAL);
  t.is(errnoOf(['public_key=']), EINVAL);
  t.is(errnoOf([`public_key=${hex(2)}`, `preshared_key=${hex(3).slice(0, 62)}`]), EINVAL);
});

test('unknown keys, device keys after a peer and bad flags are EINVAL; a line without = is EPROTO', (t) => {
  t.is(errnoOf(['bogus=1']), EINVAL);
  t.is(errnoOf([`public_key=${hex(2)}`, 'bogus=1']), EINVAL);
  t.is(errnoOf([`public_key=${hex(2)}`, 'listen_port=1']), EINVAL);
  t.is(errnoOf(['protocol_version=1']), EINVAL);
  t.is(errnoOf(['replace_peers=false']), EINVAL);
  t.is(errnoOf([`public_key=${hex(2)}`, 'remove=1']), EINVAL);
  t.is(errnoOf([`public_key=${hex(2)}`, 'update_only=yes']), EINVAL);
  t.is(errnoOf([`public_key=${hex(2)}`, 'replace_allowed_ips=TRUE']), EINVAL);
  t.is(errnoOf([`public_key=${hex(2)}`, 'protocol_version=2']), EINVAL);
  t.is(errnoOf(['listen_port']), EPROTO);
  t.is(errnoOf(['']), EPROTO);
});

test('numbers are range-checked plain decimals', (t) => {
  t.is(errnoOf(['listen_port=65536']), EINVAL);
  t.is(errnoOf(['listen_port=-1']), EINVAL);
  t.is(errnoOf(['listen_port=+1']), EINVAL);
  t.is(errnoOf(['listen_port=0x10']), EINVAL);
  t.is(errnoOf(['listen_port=']), EINVAL);
  t.is(errnoOf(['fwmark=4294967296']), EINVAL);
  t.is(errnoOf(['fwmark=99999999999999999999999']), EINVAL);
  t.is(errnoOf([`public_key=${hex(2)}`, 'persistent_keepalive_interval=65536']), EINVAL);
  t.is(parseOk(['listen_port=0']).listenPort, 0);
});

test('bad endpoints are EINVAL', (t) => {
  for (const ep of [
    '1.2.3.4',
    '1.2.3.4:',
    '1.2.3.4:65536',
    '1.2.3.4:x',
    'fd00::1:51820',
    '[fd00::1]',
    '[fd00::1]51820',
    '[fe80::1%eth0]:51820',
    '[1.2.3.4]:51820',
    'example.com:51820',
    '256.1.1.1:1',
    '01.2.3.4:1',
    '',
  ]) {
    t.is(errnoOf([`public_key=${hex(2)}`, `endpoint=${ep}`]), EINVAL, ep);
  }
});

test('a scoped endpoint as wg sends it ([fe80::b%veth0]:51820) resolves the name in the daemon; unknown names are EINVAL', (t) => {
  const zones = { indexOf: (name: string) => (name === 'veth0' ? 7 : undefined) };
  const set = (ep: string) => parseSetBody([`public_key=${hex(2)}`, `endpoint=${ep}`], { zones });
  const named = set('[fe80::b%veth0]:51820');
  t.true(named.ok);
  if (named.ok) t.is(named.value.peers[0]!.endpoint!.scopeId, 7);
  const numbered = set('[fe80::b%7]:51820');
  if (numbered.ok) t.is(numbered.value.peers[0]!.endpoint!.toString(), '[fe80::b%7]:51820');
  else t.fail(numbered.error.message);
  for (const bad of ['[fe80::b%veth9]:51820', '[fd00::b%veth0]:51820']) {
    const r = set(bad);
    t.is(r.ok ? undefined : r.error.errno, EINVAL, bad);
  }
});

test('get replies with a zone name (wireguard-go\'s form) or number parse and keep the zone as written', (t) => {
  for (const ep of ['[fe80::a%veth0]:51820', '[fe80::a%7]:1', '[FE80::A%veth0]:51820']) {
    const r = parseGetReply(`public_key=${hex(2)}\nendpoint=${ep}\nerrno=0\n\n`);
    if (!r.ok) {
      t.fail(`${ep}: ${r.error.message}`);
      continue;
    }
    t.is(r.value.peers[0]!.endpoint, ep.replace('FE80::A', 'fe80::a'));
  }
  const bad = parseGetReply(`public_key=${hex(2)}\nendpoint=[fe80::a%a/b]:1\nerrno=0\n\n`);
  t.false(bad.ok);
});

test('bad allowed IPs are EINVAL', (t) => {
  for (const ip of ['10.0.0.1', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '/24', '10.0.0.0/08', 'x/1', '--10.0.0.0/8', '']) {
    t.is(errnoOf([`public_key=${hex(2)}`, `allowed_ip=${ip}`]), EINVAL, ip);
  }
});

test('set errno replies carry wireguard-go\'s negative sign; get errors stay positive', (t) => {
  t.is(formatErrnoReply('set', 0), 'errno=0\n\n');
  t.is(formatErrnoReply('set', EINVAL), 'errno=-22\n\n');
  t.is(formatErrnoReply('get', EINVAL), 'errno=22\n\n');
});

test('formatSetRequest is the inverse of parseSetBody for canonical text', (t) => {
  const lines = [
    `private_key=${encodeHexKey(key(1).map((b, i) => (i === 0 ? b & 248 : i === 31 ? (b & 127) | 64 : b)))}`,
    'listen_port=1000',
    'fwmark=7',
    'replace_peers=true',
    `public_key=${hex(2)}`,
    'update_only=true',
    `preshared_key=${hex(3)}`,
    'endpoint=[2001:db8::1]:9',
    'persistent_keepalive_interval=0',
    'replace_allowed_ips=true',
    'allowed_ip=10.0.0.0/8',
    'allowed_ip=-::/0',
    `public_key=${hex(4)}`,
    'remove=true',
  ];
  t.is(formatSetRequest(parseOk(lines)), `set=1\n${lines.join('\n')}\n\n`);
});

const prefixArb = fc.oneof(
  fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })).map(([b, bits]) => `${[...b].join('.')}/${bits}`),
  fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })).map(([b, bits]) => {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
    return `${groups.join(':')}/${bits}`;
  }),
);

const snapshotArb: fc.Arbitrary<DeviceSnapshot> = fc.record({
  privateKey: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => k.some((b) => b !== 0)), { nil: undefined }),
  listenPort: fc.integer({ min: 0, max: 65535 }),
  fwmark: fc.integer({ min: 0, max: 0xffffffff }),
  peers: fc.array(
    fc.record({
      publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      presharedKey: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => k.some((b) => b !== 0)), { nil: undefined }),
      endpoint: fc.option(
        fc.oneof(
          fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([a, p]) => `${a}:${p}`),
          fc.constantFrom('[fd00::1]:51820', '[2001:db8::]:1'),
        ),
        { nil: undefined },
      ),
      persistentKeepaliveInterval: fc.integer({ min: 0, max: 65535 }),
      lastHandshakeTimeSec: fc.integer({ min: 0, max: 2 ** 40 }),
      lastHandshakeTimeNsec: fc.integer({ min: 0, max: 999_999_999 }),
      rxBytes: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      txBytes: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      allowedIps: fc.array(prefixArb.map((s) => networkOf(parsePrefix(s)!)), { maxLength: 4 }),
      protocolVersion: fc.constant(1 as const),
    }),
    { maxLength: 4 },
  ),
});

/** Compare with absent optional fields normalised away. */
function normal(s: DeviceSnapshot): unknown {
  return JSON.parse(
    JSON.stringify(s, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)),
    (_k, v: unknown) => (v === null ? undefined : v),
  );
}

test('parseGetReply(formatGetReply(s)) is s (property)', (t) => {
  fc.assert(
    fc.property(snapshotArb, (s) => {
      const back = parseGetReply(formatGetReply(s));
      if (!back.ok) return false;
      t.deepEqual(normal(back.value), normal(s));
      return true;
    }),
    { numRuns: 200 },
  );
});

test('parseGetReply reports a non-zero errno and malformed replies', (t) => {
  const r = parseGetReply('errno=22\n\n');
  t.false(r.ok);
  if (!r.ok) t.is(r.error.errno, EINVAL);
  const m = parseGetReply('listen_port=abc\nerrno=0\n\n');
  t.false(m.ok);
  if (!m.ok) t.is(m.error.errno, EPROTO);
  t.false(parseGetReply('listen_port=1\n').ok);
});

test('parseSetBody never throws on arbitrary lines (property)', (t) => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 80 }), { maxLength: 20 }), (lines) => {
      const r = parseSetBody(lines);
      return r.ok || (r.error.errno === EINVAL || r.error.errno === EPROTO);
    }),
    { numRuns: 500 },
  );
  t.is(errnoOf(['\u0000=\u0000']), EINVAL);
});
