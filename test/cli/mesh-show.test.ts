/** `tunvpn mesh show`'s renderings: the table, the JSON, the durations. */
import test from 'ava';
import { formatMeshView, meshViewJson, shortDuration, type MeshView } from '../../src/cli/commands/mesh.js';

const NOW = 1_767_225_700_000;
const view: MeshView = {
  interface: 'tv0',
  source: 'daemon',
  status: {
    state: 'synced',
    since: NOW - 125_000,
    vtepDevices: ['vx-lan'],
    self: { name: 'site-a', publicKey: 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=', status: 'self', endpoint: '10.40.0.11:51820', allowedIPs: ['10.50.0.11/32'], refusedAllowedIPs: [], vtep: '10.50.0.11' },
    members: [
      { name: 'site-b', publicKey: '3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=', status: 'peer', endpoint: '10.40.0.12:51820', allowedIPs: ['10.50.0.12/32'], refusedAllowedIPs: ['10.50.0.11/32'], leaseAgeSeconds: 3725, createRevision: '9', latestHandshake: NOW - 12_000 },
      { name: 'site-c', publicKey: 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=', status: 'peer', allowedIPs: [], refusedAllowedIPs: [], createRevision: '11' },
    ],
    invalid: [{ key: '/tunvpn/members/x', reason: 'value is not JSON' }],
    refusals: ['member site-b (3p7b...IK08): AllowedIPs 10.50.0.11/32 refused: overlaps 10.50.0.11/32 of this node'],
  },
};

test('shortDuration', (t) => {
  t.deepEqual([0, 45, 125, 3725, 90_061].map(shortDuration), ['0s', '45s', '2m 5s', '1h 2m', '1d 1h']);
});

test('the table: one row per member with short keys, refused prefixes marked, then refusals and invalid values', (t) => {
  t.is(
    formatMeshView(view, NOW),
    [
      'mesh of tv0 (running, synced for 2m 5s)',
      '  this node: site-a  hSDw…bTmo  10.40.0.11:51820  10.50.0.11/32  VTEP 10.50.0.11',
      '  vxlan following the mesh: vx-lan',
      '',
      'NAME    KEY        STATUS  ENDPOINT          LEASE AGE  HANDSHAKE  ALLOWED IPS',
      'site-b  3p7b…IK08  peer    10.40.0.12:51820  1h 2m      12s ago    10.50.0.12/32, 10.50.0.11/32 (refused)',
      'site-c  AQEB…BAQE  peer    -                 -          none yet   (none)',
      '',
      'refused:',
      '  member site-b (3p7b...IK08): AllowedIPs 10.50.0.11/32 refused: overlaps 10.50.0.11/32 of this node',
      '',
      'invalid values in the registry:',
      '  /tunvpn/members/x: value is not JSON',
      '',
    ].join('\n'),
  );
});

test('the JSON keeps every field and adds short keys', (t) => {
  const json = meshViewJson(view) as { source: string; members: { shortKey: string; latestHandshake?: number }[]; self: { shortKey: string } };
  t.is(json.source, 'daemon');
  t.is(json.members[0]!.shortKey, '3p7b…IK08');
  t.is(json.members[0]!.latestHandshake, NOW - 12_000);
  t.is(json.self.shortKey, 'hSDw…bTmo');
});
