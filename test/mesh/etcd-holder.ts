/**
 * A separate process that registers one member key in etcd and then just keeps its lease alive, so a test can
 * kill it with SIGKILL (a crashed node). Usage: node etcd-holder.js URL[,URL...] KEY VALUE TTL_SECONDS
 * Prints "registered LEASE" once the key is written.
 */
import { EtcdRegistry } from '../../src/mesh/etcd-registry.js';

const [urls, key, value, ttl] = process.argv.slice(2);
if (!urls || !key || value === undefined || !ttl) {
  process.stderr.write('usage: etcd-holder URLS KEY VALUE TTL\n');
  process.exit(2);
}
const registry = new EtcdRegistry({ endpoints: urls.split(',') });
const registration = await registry.register(key, value, Number(ttl));
process.stdout.write(`registered ${registration.lease}\n`);
// Keep the event loop (and with it the lease's keep-alives) running until killed.
setInterval(() => undefined, 1 << 30);
