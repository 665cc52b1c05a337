/**
 * Endpoint hostnames while DNS is not ready: temporary resolver failures (EAI_AGAIN) are retried as wg retries them
 * (wireguard-tools src/config.c: WG_ENDPOINT_RESOLUTION_RETRIES, default 15, `infinity`; delays 1 s, then 6/5 of
 * the last, at most 20 s), each retry logged once; permanent failures (EAI_NONAME, which Node reports as
 * ENOTFOUND; EAI_FAIL) fail at once with FILE:LINE. The resolver and the sleep are injected: no DNS, no waiting.
 */
import test from 'ava';
import { ConfigError, endpointFromResolved, parseConfig, resolutionRetries, resolveEndpoints, sameResolvedEndpoint, type LookupFn } from '../../src/config/index.js';
import { retryDelayUs } from '../../src/config/resolve.js';

const PRIV = 'dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=';
const PEER1 = '3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=';

/** One peer, its [Peer] at line 4, whose Endpoint is vpn.example:51820. */
const config = parseConfig(`[Interface]\nPrivateKey = ${PRIV}\n\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = 10.0.0.0/8\nEndpoint = vpn.example:51820\n`, 'wg0.conf');

function resolverError(code: string, host: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ${code} ${host}`), { code, syscall: 'getaddrinfo', hostname: host });
}

/** A resolver that fails with `codes` in turn, then answers 192.0.2.7; it counts its calls. */
function scripted(codes: string[]) {
  const calls: string[] = [];
  const lookup: LookupFn = (host) => {
    calls.push(host);
    const code = codes[calls.length - 1];
    return code ? Promise.reject(resolverError(code, host)) : Promise.resolve({ address: '192.0.2.7', family: 4 });
  };
  return { lookup, calls };
}

function recorder() {
  const slept: number[] = [];
  const logged: string[] = [];
  return {
    slept,
    logged,
    sleep: (ms: number) => {
      slept.push(ms);
      return Promise.resolve();
    },
    onRetry: (message: string) => logged.push(message),
  };
}

test('EAI_AGAIN is retried after 1 s, then 1.2 s, …, and up comes up once the name resolves; one log line per retry', async (t) => {
  const { lookup, calls } = scripted(['EAI_AGAIN', 'EAI_AGAIN', 'EAI_AGAIN']);
  const r = recorder();
  const resolved = await resolveEndpoints(config, { lookup, retries: 15, sleep: r.sleep, onRetry: r.onRetry });
  t.deepEqual(resolved, [{ family: 4, address: '192.0.2.7', port: 51820 }]);
  t.is(calls.length, 4);
  t.deepEqual(r.slept, [1000, 1200, 1440]);
  t.deepEqual(r.logged, [
    'wg0.conf:4: cannot resolve Endpoint host "vpn.example" of this peer yet: EAI_AGAIN; trying again in 1.00 seconds (retry 1 of 15)',
    'wg0.conf:4: cannot resolve Endpoint host "vpn.example" of this peer yet: EAI_AGAIN; trying again in 1.20 seconds (retry 2 of 15)',
    'wg0.conf:4: cannot resolve Endpoint host "vpn.example" of this peer yet: EAI_AGAIN; trying again in 1.44 seconds (retry 3 of 15)',
  ]);
});

for (const code of ['ENOTFOUND', 'EAI_FAIL']) {
  test(`a permanent failure (${code}) fails at once with FILE:LINE, without retrying`, async (t) => {
    const { lookup, calls } = scripted([code, code]);
    const r = recorder();
    const e = await t.throwsAsync(resolveEndpoints(config, { lookup, retries: 15, sleep: r.sleep, onRetry: r.onRetry }), {
      instanceOf: ConfigError,
    });
    t.is(e.message, `wg0.conf:4: cannot resolve Endpoint host "vpn.example" of this peer: ${code}`);
    t.is(calls.length, 1);
    t.deepEqual(r.slept, []);
    t.deepEqual(r.logged, []);
  });
}

test('after the last retry a temporary failure fails with FILE:LINE and says how to ask for more', async (t) => {
  const { lookup, calls } = scripted(Array<string>(10).fill('EAI_AGAIN'));
  const r = recorder();
  const e = await t.throwsAsync(resolveEndpoints(config, { lookup, retries: 3, sleep: r.sleep, onRetry: r.onRetry }), {
    instanceOf: ConfigError,
  });
  t.is(
    e.message,
    'wg0.conf:4: cannot resolve Endpoint host "vpn.example" of this peer: EAI_AGAIN (gave up after 3 retries; WG_ENDPOINT_RESOLUTION_RETRIES sets how many)',
  );
  t.is(calls.length, 4);
  t.deepEqual(r.slept, [1000, 1200, 1440]);
  t.is(r.logged.length, 3);
  // Zero retries: the first temporary failure is final, as with WG_ENDPOINT_RESOLUTION_RETRIES=0.
  const once = scripted(['EAI_AGAIN']);
  await t.throwsAsync(resolveEndpoints(config, { lookup: once.lookup, retries: 0, sleep: r.sleep }), { instanceOf: ConfigError });
  t.is(once.calls.length, 1);
});

test('retries = infinity keeps trying, the delay growing by 6/5 up to 20 s', async (t) => {
  const { lookup, calls } = scripted(Array<string>(40).fill('EAI_AGAIN'));
  const r = recorder();
  const resolved = await resolveEndpoints(config, { lookup, retries: Infinity, sleep: r.sleep, onRetry: r.onRetry });
  t.is(resolved[0]!.address, '192.0.2.7');
  t.is(calls.length, 41);
  t.is(r.slept.length, 40);
  t.deepEqual(r.slept.slice(0, 8), [1000, 1200, 1440, 1728, 2073.6, 2488.32, 2985.984, 3583.18]);
  t.is(Math.max(...r.slept), 20_000);
  t.is(r.slept.at(-1), 20_000);
  t.regex(r.logged.at(-1)!, /trying again in 20\.00 seconds \(retry 40\)$/);
});

test('the delays are wg\'s: µs, each 6/5 of the last rounded down, capped at 20 s', (t) => {
  const expected: number[] = [];
  for (let us = 1_000_000, k = 0; k < 30; k++, us = Math.min(20_000_000, Math.floor((us * 6) / 5))) expected.push(us);
  t.deepEqual(Array.from({ length: 30 }, (_, i) => retryDelayUs(i + 1)), expected);
  t.is(retryDelayUs(18), 20_000_000);
});

test('WG_ENDPOINT_RESOLUTION_RETRIES: 15 when unset, a number, or infinity; anything else is an error', (t) => {
  t.is(resolutionRetries({}), 15);
  t.is(resolutionRetries({ WG_ENDPOINT_RESOLUTION_RETRIES: '0' }), 0);
  t.is(resolutionRetries({ WG_ENDPOINT_RESOLUTION_RETRIES: '3' }), 3);
  t.is(resolutionRetries({ WG_ENDPOINT_RESOLUTION_RETRIES: 'infinity' }), Infinity);
  t.is(resolutionRetries({ WG_ENDPOINT_RESOLUTION_RETRIES: '2147483647' }), 2147483647);
  for (const bad of ['-1', 'Infinity', '2147483648', '1.5', '', 'ten']) {
    t.throws(() => resolutionRetries({ WG_ENDPOINT_RESOLUTION_RETRIES: bad }), { message: /^WG_ENDPOINT_RESOLUTION_RETRIES must be/ }, bad);
  }
});

test('the variable is honoured when no retry count is given', async (t) => {
  const saved = process.env.WG_ENDPOINT_RESOLUTION_RETRIES;
  t.teardown(() => {
    if (saved === undefined) delete process.env.WG_ENDPOINT_RESOLUTION_RETRIES;
    else process.env.WG_ENDPOINT_RESOLUTION_RETRIES = saved;
  });
  process.env.WG_ENDPOINT_RESOLUTION_RETRIES = '2';
  const { lookup, calls } = scripted(Array<string>(5).fill('EAI_AGAIN'));
  const r = recorder();
  await t.throwsAsync(resolveEndpoints(config, { lookup, sleep: r.sleep }), { message: /gave up after 2 retries/ });
  t.is(calls.length, 3);
});

test('a zone name resolves to that interface\'s index, a number stays as is; an unknown name fails with FILE:LINE', async (t) => {
  const scoped = (endpoint: string) =>
    parseConfig(`[Interface]\nPrivateKey = ${PRIV}\n\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = 10.0.0.0/8\nEndpoint = ${endpoint}\n`, 'wg0.conf');
  const zones = { indexOf: (name: string) => (name === 'veth0' ? 7 : undefined) };
  const never: LookupFn = () => Promise.reject(new Error('no lookup for a literal'));
  t.deepEqual(await resolveEndpoints(scoped('[fe80::b%veth0]:51820'), { lookup: never, zones }), [
    { family: 6, address: 'fe80::b', port: 51820, scopeId: 7 },
  ]);
  t.deepEqual(await resolveEndpoints(scoped('[fe80::b%3]:51820'), { lookup: never, zones }), [
    { family: 6, address: 'fe80::b', port: 51820, scopeId: 3 },
  ]);
  const e = await t.throwsAsync(resolveEndpoints(scoped('[fe80::b%veth9]:51820'), { lookup: never, zones }), { instanceOf: ConfigError });
  t.is(e.message, 'wg0.conf:4: Endpoint [fe80::b%veth9]:51820: no interface named "veth9" for its zone');
});

test('a resolved endpoint keeps its zone: the Endpoint carries the scope id, and a change of zone alone is a change', (t) => {
  const a = { family: 6 as const, address: 'fe80::1', port: 51820, scopeId: 3 };
  t.is(endpointFromResolved(a).scopeId, 3);
  t.false(sameResolvedEndpoint(a, { ...a, scopeId: 4 }));
  t.false(sameResolvedEndpoint(a, { family: 6, address: 'fe80::1', port: 51820 }));
  t.true(sameResolvedEndpoint({ family: 4, address: '192.0.2.1', port: 1 }, { family: 4, address: '192.0.2.1', port: 1, scopeId: 0 }));
  t.true(sameResolvedEndpoint(undefined, undefined));
  t.false(sameResolvedEndpoint(a, undefined));
});
