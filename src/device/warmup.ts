/**
 * Warms the data path before the interface carries traffic. V8 compiles a function with its optimising compiler
 * only after it has run many times; until then each call and property access goes through generic inline-cache
 * handlers, and a daemon at a ping's rate stays there for minutes (docs/bench.md, "History"). Two throwaway
 * devices in this process, over an in-memory TUN and UDP pair, complete a handshake and exchange ping-sized packets
 * both ways, so the device, the protocol core, the packet batches and the cipher are compiled before the first
 * real packet arrives. Nothing of it leaves the process: no socket, no TUN device, keys made for the occasion.
 */
import { MemoryNetwork } from '../conn/memory-bind.js';
import { generatePrivateKey } from '../crypto/keys.js';
import { publicKeyOf } from '../crypto/x25519.js';
import { systemRng } from '../crypto/random.js';
import { Device } from './device.js';
import { silentLogger } from '../log.js';
import { Endpoint } from '../net/endpoint.js';
import { parsePrefix } from '../net/ip.js';
import { MemoryTun } from '../tun/memory-tun.js';

/** Round trips (an echo request a → b and its reply b → a) a warm-up makes by default. */
export const WARMUP_ROUND_TRIPS = 2000;
/** Bytes of the packets exchanged: an IPv4 ping with 56 data bytes, what ping(8) sends by default. */
const PACKET_BYTES = 84;
const ICMP_ECHO_REQUEST = 8;
const ICMP_ECHO_REPLY = 0;
const ADDRESS_A = [10, 255, 0, 1] as const;
const ADDRESS_B = [10, 255, 0, 2] as const;

/** A minimal IPv4 ICMP echo packet (RFC 791 header without options, RFC 792 echo); checksums left zero. */
function echo(src: readonly number[], dst: readonly number[], type: number): Uint8Array {
  const p = new Uint8Array(PACKET_BYTES);
  p[0] = 0x45;
  p[2] = PACKET_BYTES >> 8;
  p[3] = PACKET_BYTES & 0xff;
  p[8] = 64;
  p[9] = 1;
  p.set(src, 12);
  p.set(dst, 16);
  p[20] = type;
  return p;
}

/**
 * Runs `roundTrips` echo exchanges through two in-process devices, then closes them. Resolves with the round
 * trips completed; never throws (a failure only means the daemon starts cold).
 */
export async function warmDataPath(roundTrips = WARMUP_ROUND_TRIPS): Promise<number> {
  const net = new MemoryNetwork();
  const keyA = generatePrivateKey(systemRng);
  const keyB = generatePrivateKey(systemRng);
  const tunA = new MemoryTun({ name: 'warm-a' });
  const tunB = new MemoryTun({ name: 'warm-b' });
  const a = new Device({ tun: tunA, bind: net.createBind('192.0.2.1'), privateKey: keyA, listenPort: 1, log: silentLogger });
  const b = new Device({ tun: tunB, bind: net.createBind('192.0.2.2'), privateKey: keyB, listenPort: 2, log: silentLogger });
  let done = 0;
  try {
    a.setPeer({ publicKey: publicKeyOf(keyB), allowedIPs: [parsePrefix('10.255.0.2/32')!], endpoint: Endpoint.fromString('192.0.2.2:2') });
    b.setPeer({ publicKey: publicKeyOf(keyA), allowedIPs: [parsePrefix('10.255.0.1/32')!] });
    await a.start();
    await b.start();
    const request = echo(ADDRESS_A, ADDRESS_B, ICMP_ECHO_REQUEST);
    const reply = echo(ADDRESS_B, ADDRESS_A, ICMP_ECHO_REPLY);
    for (; done < roundTrips; done++) {
      tunA.inject(request);
      await tunB.nextWritten();
      tunB.inject(reply);
      await tunA.nextWritten();
    }
  } catch {
    // Starting cold is no failure.
  } finally {
    await a.close().catch(() => undefined);
    await b.close().catch(() => undefined);
  }
  return done;
}
