/** The one-shot read behind `tunvpn mesh show CONF`: the agent's validation and reconcile, nothing written. */
import test from 'ava';
import { encodeKey } from '../../src/crypto/keys.js';
import { encodeMember, memberKey } from '../../src/mesh/member.js';
import { MemoryRegistry, MemoryStore } from '../../src/mesh/memory-registry.js';
import { surveyMesh } from '../../src/mesh/survey.js';
import { parsePrefix } from '../../src/net/ip.js';
import { nodeRecord } from './fakes.js';

const PREFIX = '/tunvpn/';
const NOW = 1_767_225_700_000;

test('members as the agent would see them: refusals against static peers, invalid values, lease ages; nothing written', async (t) => {
  const store = new MemoryStore();
  const self = nodeRecord('site-a', 1);
  const b = { ...nodeRecord('site-b', 2, ['10.60.2.0/24']), registeredAt: 1_767_225_600 };
  const c = nodeRecord('site-c', 3, ['10.70.0.0/16']);
  const staticKey = nodeRecord('static', 9);
  store.put(memberKey(PREFIX, b.publicKey), encodeMember(b));
  store.put(memberKey(PREFIX, c.publicKey), encodeMember(c));
  store.put(`${PREFIX}members/not-a-key`, 'x');
  const revision = store.revision;
  const snap = await surveyMesh(new MemoryRegistry(store), {
    prefix: PREFIX,
    self,
    staticPeers: [{ publicKey: staticKey.publicKey, allowedIPs: [parsePrefix('10.70.1.0/24')!], label: '[Peer] at line 9' }],
    routes: { interfaceAddresses: [parsePrefix('10.50.0.1/24')!] },
    nowMs: NOW,
  });
  t.is(store.revision, revision, 'nothing written');
  t.is(snap.self.name, 'site-a');
  t.deepEqual(
    snap.members.map((m) => [m.name, m.status, m.allowedIPs, m.refusedAllowedIPs, m.leaseAgeSeconds]),
    [
      ['site-b', 'peer', ['10.50.0.2/32', '10.60.2.0/24'], [], 100],
      ['site-c', 'peer', ['10.50.0.3/32'], ['10.70.0.0/16'], undefined],
    ],
  );
  t.is(snap.invalid.length, 1);
  t.regex(snap.invalid[0]!.reason, /base64url/);
  t.is(snap.refusals.length, 1);
  t.regex(snap.refusals[0]!, /site-c .*10\.70\.0\.0\/16 refused: overlaps 10\.70\.1\.0\/24 of static peer \[Peer\] at line 9/);
});

test('our own key registered (running elsewhere, or a lease not yet expired): its record is shown as this node', async (t) => {
  const store = new MemoryStore();
  const self = nodeRecord('site-a', 1);
  const registered = { ...self, name: 'site-a-elsewhere', registeredAt: 1_767_225_690 };
  store.put(memberKey(PREFIX, self.publicKey), encodeMember(registered));
  const snap = await surveyMesh(new MemoryRegistry(store), { prefix: PREFIX, self, staticPeers: [], nowMs: NOW });
  t.is(snap.self.name, 'site-a-elsewhere');
  t.is(snap.self.publicKey, encodeKey(self.publicKey));
  t.is(snap.self.leaseAgeSeconds, 10);
  t.deepEqual(snap.members, []);
});

test('an unreachable registry rejects', async (t) => {
  const store = new MemoryStore();
  store.setOutage(true);
  await t.throwsAsync(surveyMesh(new MemoryRegistry(store), { prefix: PREFIX, self: nodeRecord('a', 1), staticPeers: [], nowMs: NOW }), { message: /unreachable/ });
});
