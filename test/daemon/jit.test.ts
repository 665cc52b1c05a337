/**
 * tuneTierUp: with the daemon's budget a small function is optimised by V8 after a thousand or so calls; with V8's
 * default budget (TUNVPN_V8_INTERRUPT_BUDGET=0) it is not yet. Run in a child node with natives syntax, so the
 * optimisation status can be read, and without concurrent recompilation, so it is decided at the call.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const JIT = pathToFileURL(join(process.cwd(), 'dist/src/daemon/jit.js')).href;
/** V8's OptimizationStatus bit for "optimised code" (src/runtime/runtime.h, kOptimized). */
const OPTIMIZED = 1 << 4;
const CALLS = 1500;

function statusAfterCalls(budgetEnv: string | undefined): number {
  const script = `
    const { tuneTierUp } = await import(${JSON.stringify(JIT)});
    tuneTierUp();
    function hot(o) { return o.x + o.y * 2; }
    const o = { x: 1, y: 2 };
    for (let i = 0; i < ${CALLS}; i++) hot(o);
    process.stdout.write(String(%GetOptimizationStatus(hot)));`;
  const env = { ...process.env };
  delete env.TUNVPN_V8_INTERRUPT_BUDGET;
  if (budgetEnv !== undefined) env.TUNVPN_V8_INTERRUPT_BUDGET = budgetEnv;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation', '--input-type=module', '-e', script], { env, encoding: 'utf8' });
  return Number(out);
}

test(`the daemon's tier-up budget optimises a hot function within ${CALLS} calls; V8's default does not`, (t) => {
  t.not(statusAfterCalls(undefined) & OPTIMIZED, 0, 'tuned: optimised');
  t.is(statusAfterCalls('0') & OPTIMIZED, 0, 'default budget: still unoptimised');
});
