/** Turning peer Endpoint hosts into addresses, as `wg` does when it loads a configuration. */
import { lookup as dnsLookup } from 'node:dns/promises';
import { parseIp } from '../net/ip.js';
import { ConfigError, type ConfigProblem, type QuickConfig } from './types.js';

export interface ResolvedEndpoint {
  family: 4 | 6;
  /** An IP literal: as written in the file, or as the resolver returned it. */
  address: string;
  port: number;
}

/** The subset of dns.promises.lookup we use; injectable for tests. */
export type LookupFn = (host: string) => Promise<{ address: string; family: number }>;

const defaultLookup: LookupFn = (host) => dnsLookup(host);

/**
 * One entry per peer, in order: its resolved endpoint, or undefined for a peer without one. IP literals pass
 * through without a lookup; hostnames go through the system resolver (getaddrinfo, like `wg`) and the first
 * answer is used. All lookups run at once; if any fails, ConfigError names the line of every failing peer.
 */
export async function resolveEndpoints(
  config: QuickConfig,
  lookup: LookupFn = defaultLookup,
): Promise<(ResolvedEndpoint | undefined)[]> {
  const problems: ConfigProblem[] = [];
  const results = await Promise.all(
    config.peers.map(async (peer): Promise<ResolvedEndpoint | undefined> => {
      const endpoint = peer.endpoint;
      if (!endpoint) return undefined;
      const literal = parseIp(endpoint.host);
      if (literal) return { family: literal.family, address: endpoint.host, port: endpoint.port };
      try {
        const answer = await lookup(endpoint.host);
        const family = answer.family === 6 ? 6 : 4;
        if (!parseIp(answer.address)) throw new Error(`resolver returned ${JSON.stringify(answer.address)}`);
        return { family, address: answer.address, port: endpoint.port };
      } catch (e) {
        const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        problems.push({
          file: config.file,
          line: peer.line,
          message: `cannot resolve Endpoint host ${JSON.stringify(endpoint.host)} of this peer: ${reason}`,
        });
        return undefined;
      }
    }),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return results;
}
