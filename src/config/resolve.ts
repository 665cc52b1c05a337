/**
 * Turning peer Endpoint hosts into addresses, as `wg` does when it loads a configuration (wireguard-tools,
 * src/config.c, parse_endpoint): the system resolver (getaddrinfo), with the same retries while name resolution is
 * not ready yet (at boot, before the network is up).
 *
 * wg's rule: EAI_NONAME, EAI_FAIL and EAI_NODATA are permanent failures ("no point in retrying later", glibc's
 * NameResolver notes), reported at once; every other failure (EAI_AGAIN above all) is retried after 1 s, each
 * delay 6/5 of the one before, at most 20 s, up to WG_ENDPOINT_RESOLUTION_RETRIES times (15 by default, `infinity`
 * for no limit). Node's dns.lookup reports EAI_NONAME and EAI_NODATA as ENOTFOUND.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { Endpoint, zoneScopeId, type Zones } from '../net/endpoint.js';
import { parseIp } from '../net/ip.js';
import { formatEndpoint } from './redact.js';
import { ConfigError, type ConfigProblem, type QuickConfig } from './types.js';

export interface ResolvedEndpoint {
  family: 4 | 6;
  /** An IP literal: as written in the file, or as the resolver returned it. */
  address: string;
  port: number;
  /** The IPv6 scope id (interface index) the Endpoint's zone stands for; absent without a zone. */
  scopeId?: number;
}

/** The Endpoint a resolved one stands for, scope id (zone) included. */
export function endpointFromResolved(r: ResolvedEndpoint): Endpoint {
  return Endpoint.fromIp(parseIp(r.address)!, r.port, r.scopeId);
}

/** Whether two resolved endpoints are the same address, port and scope id (both absent counts as the same). */
export function sameResolvedEndpoint(a: ResolvedEndpoint | undefined, b: ResolvedEndpoint | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.address === b.address && a.port === b.port && (a.scopeId ?? 0) === (b.scopeId ?? 0);
}

/** The subset of dns.promises.lookup we use; injectable for tests. */
export type LookupFn = (host: string) => Promise<{ address: string; family: number }>;

/** The environment variable wg reads for the number of retries. */
export const RETRIES_VARIABLE = 'WG_ENDPOINT_RESOLUTION_RETRIES';
/** wg's default number of retries after a temporary failure. */
export const DEFAULT_RESOLUTION_RETRIES = 15;
/** wg's first delay before a retry (µs; wg counts in µs and rounds each step down, so we do too). */
const FIRST_RETRY_DELAY_US = 1_000_000;
/** wg's longest delay between retries (µs). */
const MAX_RETRY_DELAY_US = 20_000_000;
/** Largest retry count wg accepts (INT_MAX). */
const MAX_RETRIES = 2 ** 31 - 1;
const US_PER_MS = 1000;
const US_PER_S = 1_000_000;

/** Resolver error codes that are permanent failures (not retried). */
const PERMANENT = new Set(['ENOTFOUND', 'EAI_NONAME', 'EAI_NODATA', 'ENODATA', 'EAI_FAIL']);

export interface ResolveOptions {
  /** The resolver (default: dns.promises.lookup, i.e. getaddrinfo). */
  lookup?: LookupFn;
  /** Retries after a temporary failure; Infinity for no limit (default: from WG_ENDPOINT_RESOLUTION_RETRIES). */
  retries?: number;
  /** Waits `ms` milliseconds (default: a timer); injectable so tests do not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Told once per retry, with a "FILE:LINE: ..." line saying what failed and when the next try is. */
  onRetry?: (message: string) => void;
  /** Turns a zone name into its interface index (conn/zones.ts for this namespace); without it only numbers resolve. */
  zones?: Pick<Zones, 'indexOf'>;
}

/**
 * The number of retries WG_ENDPOINT_RESOLUTION_RETRIES asks for: a decimal 0..2^31-1, `infinity` (Infinity), or
 * 15 when unset. Throws an Error naming the variable when it is set to anything else (wg exits then too).
 */
export function resolutionRetries(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[RETRIES_VARIABLE];
  if (text === undefined) return DEFAULT_RESOLUTION_RETRIES;
  if (text === 'infinity') return Infinity;
  const n = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(n <= MAX_RETRIES)) throw new Error(`${RETRIES_VARIABLE} must be a number 0..${MAX_RETRIES} or infinity, got ${JSON.stringify(text)}`);
  return n;
}

/** The delay before retry number `k` (1-based), in µs: wg's sequence 1 s, 1.2 s, 1.44 s, … up to 20 s. */
export function retryDelayUs(k: number): number {
  let us = FIRST_RETRY_DELAY_US;
  for (let i = 1; i < k && us < MAX_RETRY_DELAY_US; i++) us = Math.min(MAX_RETRY_DELAY_US, Math.floor((us * 6) / 5));
  return us;
}

const timerSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One entry per peer, in order: its resolved endpoint, or undefined for a peer without one. IP literals pass
 * through without a lookup; hostnames go through the resolver and the first answer is used, temporary failures
 * being retried as described at the top of this file. All peers resolve at once; if any fails, ConfigError names the
 * line of every failing peer.
 */
export async function resolveEndpoints(config: QuickConfig, opts: ResolveOptions = {}): Promise<(ResolvedEndpoint | undefined)[]> {
  const lookup = opts.lookup ?? ((host: string) => dnsLookup(host));
  const retries = opts.retries ?? resolutionRetries();
  const sleep = opts.sleep ?? timerSleep;
  const problems: ConfigProblem[] = [];
  const results = await Promise.all(
    config.peers.map(async (peer): Promise<ResolvedEndpoint | undefined> => {
      const endpoint = peer.endpoint;
      if (!endpoint) return undefined;
      const literal = parseIp(endpoint.host);
      if (literal && endpoint.zone !== undefined) {
        // As getaddrinfo reads "fe80::1%eth0": the interface's index in this namespace, or a number as is.
        const scopeId = zoneScopeId(endpoint.zone, literal.bytes, opts.zones);
        if (scopeId !== undefined) return { family: literal.family, address: endpoint.host, port: endpoint.port, scopeId };
        const message = `Endpoint ${formatEndpoint(endpoint)}: no interface named ${JSON.stringify(endpoint.zone)} for its zone`;
        problems.push({ file: config.file, line: peer.line, message });
        return undefined;
      }
      if (literal) return { family: literal.family, address: endpoint.host, port: endpoint.port };
      const where = `${config.file}:${peer.line}`;
      const what = `Endpoint host ${JSON.stringify(endpoint.host)} of this peer`;
      for (let attempt = 0; ; attempt++) {
        try {
          const answer = await lookup(endpoint.host);
          const family = answer.family === 6 ? 6 : 4;
          if (!parseIp(answer.address)) throw new Error(`resolver returned ${JSON.stringify(answer.address)}`);
          return { family, address: answer.address, port: endpoint.port };
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          const reason = code ?? (e as Error).message;
          const permanent = code === undefined || PERMANENT.has(code);
          if (permanent || attempt >= retries) {
            const gaveUp = permanent ? '' : ` (gave up after ${retries} retries; ${RETRIES_VARIABLE} sets how many)`;
            problems.push({ file: config.file, line: peer.line, message: `cannot resolve ${what}: ${reason}${gaveUp}` });
            return undefined;
          }
          const delayUs = retryDelayUs(attempt + 1);
          const of = retries === Infinity ? '' : ` of ${retries}`;
          opts.onRetry?.(`${where}: cannot resolve ${what} yet: ${reason}; trying again in ${(delayUs / US_PER_S).toFixed(2)} seconds (retry ${attempt + 1}${of})`);
          await sleep(delayUs / US_PER_MS);
        }
      }
    }),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return results;
}
