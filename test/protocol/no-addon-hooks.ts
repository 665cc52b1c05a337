/**
 * Module hooks (node:module register) for no-addon.test.ts: resolving any module of src/native/ fails, as it would
 * where the addon was never built. Loaded only by no-addon-fixture.ts.
 */
type Resolved = { url: string };
type NextResolve = (specifier: string, context: unknown) => Promise<Resolved>;

/** The resolve hook: passes every module through but those under src/native/, for which it throws. */
export async function resolve(specifier: string, context: unknown, nextResolve: NextResolve): Promise<Resolved> {
  const resolved = await nextResolve(specifier, context);
  if (/\/src\/native\//.test(resolved.url)) throw new Error(`the addon is absent here: ${resolved.url}`);
  return resolved;
}
