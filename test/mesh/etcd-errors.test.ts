/** errorText: etcd client and gRPC errors as the mesh logs them. Pure; no etcd needed. */
import test from 'ava';
import { errorText } from '../../src/mesh/etcd-registry.js';

test('gRPC errors lose their numeric code and empty trailers; a non-etcd answer gets a hint', (t) => {
  t.is(
    errorText(new Error('14 UNAVAILABLE: No connection established. Last error: null. Resolution note: ')),
    'UNAVAILABLE: No connection established.',
  );
  t.is(errorText(new Error('12 UNIMPLEMENTED: Received HTTP status code 404')), 'UNIMPLEMENTED: Received HTTP status code 404 (is this an etcd v3 client URL?)');
  t.is(errorText(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded')), 'DEADLINE_EXCEEDED: Deadline exceeded');
  t.is(errorText('plain text'), 'plain text');
});

test('a lease-lost error whose template got an explanation instead of an ID keeps the explanation', (t) => {
  t.is(
    errorText(new Error('Lease We lost connection to etcd and our lease has expired. is expired or revoked')),
    'We lost connection to etcd and our lease has expired',
  );
  t.is(errorText(new Error('Lease 7587 is expired or revoked')), 'Lease 7587 is expired or revoked');
});
