/**
 * Earlier optimisation of the data path by V8. A daemon's per-packet functions run once per datagram; at a ping's
 * rate V8 leaves them in its interpreter and baseline compiler for thousands of packets (a function is optimised
 * after about three "ticks" of `--interrupt-budget` bytes of bytecode executed, default 67,584 in Node 20's V8),
 * where each property access and call goes through a generic inline-cache handler: several times the cost of
 * optimised code, and the larger part of an idle round trip's latency (docs/bench.md). A smaller budget tiers
 * the hot functions up after a few hundred packets instead; what else runs in a daemon (configuration, the UAPI)
 * is small, so the extra compilation is small too.
 */
import { setFlagsFromString } from 'node:v8';

/** Bytecode bytes per tick (V8's --interrupt-budget) for the daemon: an eighth of the default. */
export const DAEMON_INTERRUPT_BUDGET = 8192;

let tuned = false;

/**
 * Sets V8's tier-up budget for this process (once; later calls do nothing). Call before the device handles
 * traffic. TUNVPN_V8_INTERRUPT_BUDGET=N overrides the budget (0 keeps V8's default), for measurements.
 */
export function tuneTierUp(): void {
  if (tuned) return;
  tuned = true;
  const env = process.env.TUNVPN_V8_INTERRUPT_BUDGET;
  const budget = env !== undefined && /^[0-9]+$/.test(env) ? Number(env) : DAEMON_INTERRUPT_BUDGET;
  if (budget > 0) setFlagsFromString(`--interrupt-budget=${budget}`);
}
