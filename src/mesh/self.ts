/**
 * Our own member record, from the [Mesh] settings and the interface, with the documented defaults:
 *
 * - Name: the host name (os.hostname()), which must then be a valid Name.
 * - Endpoint: as written, a host name resolved once here (records carry IP literals only, see member.ts); absent,
 *   the source address the kernel picks towards the first reachable etcd URL (a routing decision, no packet sent),
 *   with the interface's listening port.
 * - AllowedIPs: as written; absent, the interface's Address entries as host routes (/32, /128).
 */
import { createSocket } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns/promises';
import { hostname as osHostname } from 'node:os';
import { parseIp, type IpAddress, type Prefix } from '../net/ip.js';
import type { MemberRecord } from './member.js';
import { isMeshName, type MeshSettings } from '../config/mesh.js';

export interface SelfContext {
  publicKey: Uint8Array;
  /** The interface's Address entries (host bits kept). */
  addresses: readonly Prefix[];
  /** The UDP port the device listens on (the bound one when ListenPort was left random). */
  listenPort?: number;
  /** The VXLAN tunnel endpoint address, when a site needs one (site `Remote = mesh`). */
  vtep?: IpAddress;
  /** Defaults to os.hostname(). */
  hostname?: string;
  /** Host name → address; defaults to the system resolver (getaddrinfo). */
  lookup?: (host: string) => Promise<IpAddress>;
  /** The source address towards host:port; defaults to sourceAddressTowards. */
  sourceAddress?: (host: string, port: number) => Promise<IpAddress>;
}

/**
 * Why our record cannot be built; the message is meant for the user (no FILE:LINE: the setting is absent).
 * `retryable`: the network may fix it (a resolver or a route not there yet), unlike an invalid Name.
 */
export class MeshSelfError extends Error {
  override name = 'MeshSelfError';

  constructor(message: string, readonly retryable = false) {
    super(message);
  }
}

const systemLookup = async (host: string): Promise<IpAddress> => {
  const answer = await dnsLookup(host);
  const ip = parseIp(answer.address);
  if (!ip) throw new Error(`resolver returned ${JSON.stringify(answer.address)}`);
  return ip;
};

/**
 * What this node routes into the mesh: [Mesh] AllowedIPs, or by default the interface's Address entries as host
 * routes (/32, /128), as the issue's [Mesh] section defines it.
 */
export function meshAllowedIPs(settings: Pick<MeshSettings, 'allowedIPs'>, addresses: readonly Prefix[]): Prefix[] {
  return settings.allowedIPs ?? addresses.map((a) => ({ family: a.family, bytes: a.bytes, bits: a.family === 4 ? 32 : 128 }));
}

/** Builds our record (without registeredAt: the agent sets it). Throws MeshSelfError. */
export async function buildSelfRecord(settings: MeshSettings, ctx: SelfContext): Promise<MemberRecord> {
  const name = settings.name ?? ctx.hostname ?? osHostname();
  if (!isMeshName(name)) {
    throw new MeshSelfError(`the host name ${JSON.stringify(name)} is not a valid mesh Name; set Name in [Mesh]`);
  }
  const record: MemberRecord = {
    name,
    publicKey: ctx.publicKey,
    allowedIPs: meshAllowedIPs(settings, ctx.addresses),
  };
  if (settings.endpoint) {
    const { host, port } = settings.endpoint;
    let address = parseIp(host);
    if (!address) {
      try {
        address = await (ctx.lookup ?? systemLookup)(host);
      } catch (e) {
        throw new MeshSelfError(`cannot resolve the mesh Endpoint host ${JSON.stringify(host)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, true);
      }
    }
    record.endpoint = { address, port };
  } else {
    if (!ctx.listenPort) throw new MeshSelfError('[Mesh] has no Endpoint and the interface no ListenPort: set one of them');
    const towards = ctx.sourceAddress ?? sourceAddressTowards;
    const problems: string[] = [];
    for (const etcd of settings.etcd) {
      try {
        record.endpoint = { address: await towards(etcd.host, etcd.port), port: ctx.listenPort };
        break;
      } catch (e) {
        problems.push(`${etcd.url}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    if (!record.endpoint) {
      throw new MeshSelfError(`no route towards any Etcd URL to choose the default mesh Endpoint (${problems.join('; ')}); set Endpoint`, true);
    }
  }
  if (ctx.vtep) record.vtep = ctx.vtep;
  return record;
}

/**
 * The local address the kernel would use as source towards host:port: a UDP socket is connect()ed (a route lookup
 * only; UDP sends nothing on connect) and asked for its address. Host names resolve through the system resolver.
 * Rejects when there is no route.
 */
export function sourceAddressTowards(host: string, port: number): Promise<IpAddress> {
  const family = parseIp(host)?.family;
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  return new Promise<IpAddress>((resolve, reject) => {
    socket.once('error', (e) => {
      socket.close();
      reject(e);
    });
    socket.connect(port, host, () => {
      try {
        const ip = parseIp(socket.address().address);
        if (!ip) throw new Error(`unexpected local address ${socket.address().address}`);
        resolve(ip);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      } finally {
        socket.close();
      }
    });
  });
}
