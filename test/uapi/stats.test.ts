/** tunvpn's `stats=1` extension of the configuration protocol: framing, reply format, server and client. */
import test from 'ava';
import { UapiClient } from '../../src/uapi/client.js';
import { RequestFramer } from '../../src/uapi/framing.js';
import { MemoryDeviceControl } from '../../src/uapi/memory-control.js';
import { formatStatsReply, parseStatsReply } from '../../src/uapi/text-format.js';
import { UapiServer } from '../../src/uapi/server.js';
import { converse, tempDir } from './helpers.js';

test('stats=1 is framed like get=1, and trailing data after it is a framing error', (t) => {
  const f = new RequestFramer();
  f.push(Buffer.from('stats=1\n\nget=1\n\n'));
  t.deepEqual(f.next(), { kind: 'stats' });
  t.deepEqual(f.next(), { kind: 'get' });
  const g = new RequestFramer();
  g.push(Buffer.from('stats=1\nx=1\n'));
  t.is(g.next()?.kind, 'error');
});

test('the stats reply keeps numeric counters with safe keys only, and parses back', (t) => {
  const text = formatStatsReply({ datagrams: 12, 'dropped.invalidMac1': 3, 'bad key': 1, nan: Number.NaN });
  t.is(text, 'datagrams=12\ndropped.invalidMac1=3\nerrno=0\n\n');
  t.deepEqual(parseStatsReply(text), { datagrams: 12, 'dropped.invalidMac1': 3 });
  t.is(parseStatsReply('errno=-22\n\n'), undefined);
  t.is(parseStatsReply('garbage'), undefined);
});

class CountingControl extends MemoryDeviceControl {
  stats(): Record<string, number> {
    return { datagrams: 5, 'dropped.unknownType': 2 };
  }
}

test('a client reads the device counters; a device without them answers with none', async (t) => {
  const dir = await tempDir(t);
  const server = new UapiServer({ iface: 'tvst', control: new CountingControl(), dir });
  await server.listen();
  t.teardown(() => server.close());
  const c = await UapiClient.connect('tvst', { dir });
  t.teardown(() => c.close());
  t.deepEqual(await c.stats(), { datagrams: 5, 'dropped.unknownType': 2 });
  t.is((await c.get()).peers.length, 0); // the connection stays usable for ordinary requests

  const plain = new UapiServer({ iface: 'tvs2', control: new MemoryDeviceControl(), dir });
  await plain.listen();
  t.teardown(() => plain.close());
  const { text } = await converse(plain.path, 'stats=1\n\n', { replies: 1 });
  t.is(text, 'errno=0\n\n');
});
