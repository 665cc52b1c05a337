/**
 * `tunvpn strip`: the `wg`-only part of a wg-quick file, as `wg-quick strip` prints it, so that
 * `wg syncconf wg0 <(tunvpn strip wg0.conf)` works. Like wg-quick, it works line by line on the text: in the
 * [Interface] section, lines whose key (before '=', comments removed, case-insensitive) is one that only wg-quick
 * knows are left out; tunvpn's own [Mesh] section, which `wg` does not know, is left out whole (its header and
 * every line up to the next section); every other line (comments and blank lines included) is kept as written.
 */

/** The [Interface] keys `wg` does not know (wireguard-tools' wg-quick: parse_options). */
export const WG_QUICK_ONLY_KEYS: readonly string[] = ['Address', 'MTU', 'DNS', 'Table', 'PreUp', 'PreDown', 'PostUp', 'PostDown', 'SaveConfig'];

const ONLY = new Set(WG_QUICK_ONLY_KEYS.map((k) => k.toLowerCase()));

/** The text without its wg-quick-only lines. Pure; the caller validates the file first. */
export function stripConfig(text: string): string {
  const out: string[] = [];
  let inInterface = false;
  let inMesh = false;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    const hash = line.indexOf('#');
    const content = (hash < 0 ? line : line.slice(0, hash)).trim();
    const eq = content.indexOf('=');
    const key = (eq < 0 ? content : content.slice(0, eq)).trim();
    if (key.startsWith('[')) {
      inInterface = /^\[\s*interface\s*\]$/i.test(key);
      inMesh = /^\[\s*mesh\s*\]$/i.test(key);
    }
    if (inMesh) continue;
    if (inInterface && eq >= 0 && ONLY.has(key.toLowerCase())) continue;
    out.push(line);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
