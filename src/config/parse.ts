/**
 * parseConfig: wg-quick text → QuickConfig, or a ConfigError listing every problem as "FILE:LINE: message".
 *
 * Order of work: split into sections (lines.ts), parse each section's values (interface.ts, peer.ts), then
 * checks across sections (checks.ts). Every stage records problems and carries on, so one run reports them all.
 */
import { ConfigError, formatProblem, type QuickConfig } from './types.js';
import { splitSections } from './lines.js';
import { ParseContext } from './context.js';
import { parseInterface, type ParsedInterface } from './interface.js';
import { parsePeer } from './peer.js';
import { checkAllowedIpOverlap, checkInterfaceMtu, checkPeerKeys } from './checks.js';

/**
 * Parse and validate. `file` is used verbatim in messages (pass the path as the user typed it). Throws
 * ConfigError when anything is wrong; warnings ride along in the result.
 */
export function parseConfig(text: string, file: string): QuickConfig {
  const ctx = new ParseContext(file);
  const sections = splitSections(text, file, ctx.errors);

  const interfaces = sections.filter((s) => s.kind === 'interface');
  let iface: ParsedInterface = { config: undefined, addressLines: [] };
  if (interfaces.length === 0) {
    ctx.error(1, 'no [Interface] section: one with a PrivateKey is required');
  } else {
    iface = parseInterface(ctx, interfaces[0]!);
    for (const extra of interfaces.slice(1)) {
      ctx.error(extra.line, `a second [Interface] section (the first is at line ${interfaces[0]!.line}); only one is allowed`);
    }
  }
  const peers = sections.filter((s) => s.kind === 'peer').map((s) => parsePeer(ctx, s));

  checkInterfaceMtu(ctx, iface);
  checkPeerKeys(ctx, iface, peers);
  checkAllowedIpOverlap(ctx, peers);

  if (ctx.errors.length > 0 || !iface.config) throw new ConfigError(ctx.errors);
  const warnings = [...ctx.warnings].sort((a, b) => a.line - b.line).map(formatProblem);
  return { file, interface: iface.config, peers: peers.map((p) => p.config!), warnings };
}
