/** The lab's pure parts: names, addresses, generated configs, the diagram. No root. */
import test from 'ava';
import { allowedIps, labDiagram, makePlan, quickConfig, randomTag, wgConfig } from '../../src/lab/index.js';
import { makeKeys } from '../../src/lab/configs.js';

const IFNAMSIZ_MAX = 15;

test('makePlan: names carry the tag, interface names fit IFNAMSIZ, addresses use the tag octet', (t) => {
  const p = makePlan('00ab2a');
  t.is(p.k, 0x2a);
  t.deepEqual(p.ns, { a: 'tvlab-00ab2a-a', b: 'tvlab-00ab2a-b', c: 'tvlab-00ab2a-c' });
  t.deepEqual(p.wg, { a: 'tv00ab2aa', b: 'tv00ab2ab' });
  for (const n of Object.values(p.wg)) t.true(n.length <= IFNAMSIZ_MAX);
  t.deepEqual(p.tunnel, { a: '10.213.42.1', b: '10.213.42.2' });
  t.is(p.lan.c, '10.214.42.2');
  t.is(p.underlay.b, '172.31.42.2');
  t.regex(randomTag(), /^[0-9a-f]{6}$/);
});

test('makePlan rejects a bad tag', (t) => {
  for (const bad of ['', 'ABCDEF', '12345', '1234567', '../../x', 'zzzzzz']) {
    t.throws(() => makePlan(bad), { message: /6 lowercase hex digits/ }, bad);
  }
});

test('configs: a has the endpoint and routes the LAN; b only a; wg form has no wg-quick keys', (t) => {
  const p = makePlan('0000aa');
  const ka = makeKeys();
  const kb = makeKeys();
  t.deepEqual(allowedIps(p, 'a'), ['10.213.170.2/32', '10.214.170.0/24']);
  t.deepEqual(allowedIps(p, 'b'), ['10.213.170.1/32']);
  const qa = quickConfig(p, 'a', ka, kb);
  t.true(qa.includes(`PrivateKey = ${ka.privateKey}\n`));
  t.true(qa.includes(`PublicKey = ${kb.publicKey}\n`));
  t.true(qa.includes('Address = 10.213.170.1/32\n'));
  t.true(qa.includes('Endpoint = 172.31.170.2:51820\n'));
  t.true(qa.includes('AllowedIPs = 10.213.170.2/32, 10.214.170.0/24\n'));
  const qb = quickConfig(p, 'b', kb, ka);
  t.false(qb.includes('Endpoint'));
  t.true(qb.includes('ListenPort = 51820\n'));
  const wa = wgConfig(p, 'a', ka, kb);
  t.false(/^(Address|MTU|DNS|Table)\s*=/m.test(wa));
  t.true(wa.includes(`PrivateKey = ${ka.privateKey}\n`));
  t.not(ka.privateKey, kb.privateKey);
});

test('labDiagram names every namespace and address; veth form says there is no tunnel', (t) => {
  const p = makePlan('0000aa');
  const d = labDiagram(p, 'tunvpn', 'wireguard-go');
  for (const s of [...Object.values(p.ns), p.tunnel.a, p.tunnel.b, p.underlay.a, p.lan.c, 'tv0000aaa (tunvpn)', 'tv0000aab (wireguard-go)']) {
    t.true(d.includes(s), s);
  }
  const rows = d.split('\n').filter((l) => l.startsWith('|'));
  t.true(rows.length > 0);
  t.is(new Set(rows.map((l) => l.length)).size, 1, 'box rows line up');
  const v = labDiagram(p, 'veth', 'veth');
  t.false(v.includes('10.213.'));
  t.true(v.includes('no tunnel'));
});
