/**
 * parseConfig: wg-quick text → QuickConfig, or a ConfigError listing every problem as "FILE:LINE: message".
 *
 * Order of work: split into sections (lines.ts), parse each section's values (interface.ts, peer.ts, and mesh.ts
 * for tunvpn's own [Mesh]), then checks across sections (checks.ts). Every stage records problems and carries on,
 * so one run reports them all.
 */
import { ConfigError, formatProblem, type QuickConfig } from './types.js';
import { splitSections } from './lines.js';
import { ParseContext } from './context.js';
import { parseInterface, type ParsedInterface } from './interface.js';
import { parsePeer } from './peer.js';
import { checkAllowedIpOverlap, checkInterfaceMtu, checkMesh, checkPeerKeys } from './checks.js';
import { parseMeshSection, type MeshSettings } from './mesh.js';

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
  const meshSections = sections.filter((s) => s.kind === 'mesh');
  let mesh: { settings: MeshSettings; line: number } | undefined;
  if (meshSections.length > 0) {
    const section = meshSections[0]!;
    const parsed = parseMeshSection(section.entries, section.line);
    for (const w of parsed.warnings) ctx.warn(w.line, w.message);
    if (parsed.ok) mesh = { settings: parsed.settings, line: section.line };
    else for (const e of parsed.errors) ctx.error(e.line, e.message);
    for (const extra of meshSections.slice(1)) {
      ctx.error(extra.line, `a second [Mesh] section (the first is at line ${section.line}); only one is allowed`);
    }
  }

  checkInterfaceMtu(ctx, iface);
  checkPeerKeys(ctx, iface, peers);
  checkAllowedIpOverlap(ctx, peers);
  if (mesh) checkMesh(ctx, iface, peers, mesh);

  if (ctx.errors.length > 0 || !iface.config) throw new ConfigError(ctx.errors);
  const warnings = [...ctx.warnings].sort((a, b) => a.line - b.line).map(formatProblem);
  return { file, interface: iface.config, peers: peers.map((p) => p.config!), ...(mesh && { mesh: mesh.settings }), warnings };
}

/**
 * A file that holds only a [Mesh] section (`tunvpnd --mesh FILE`: wg-quick's own file cannot carry one, `wg setconf`
 * refuses the section). AllowedIPs is required there: the daemon does not know the interface's addresses.
 * Throws ConfigError with every FILE:LINE problem; warnings are returned.
 */
export function parseMeshFile(text: string, file: string): { settings: MeshSettings; warnings: string[] } {
  const ctx = new ParseContext(file);
  const sections = splitSections(text, file, ctx.errors);
  const meshSections = sections.filter((s) => s.kind === 'mesh');
  for (const other of sections.filter((s) => s.kind !== 'mesh')) {
    ctx.error(other.line, `this file holds a [Mesh] section only; [${other.kind === 'interface' ? 'Interface' : 'Peer'}] belongs in the wg configuration`);
  }
  let settings: MeshSettings | undefined;
  if (meshSections.length === 0) ctx.error(1, 'no [Mesh] section');
  else {
    const section = meshSections[0]!;
    const parsed = parseMeshSection(section.entries, section.line);
    for (const w of parsed.warnings) ctx.warn(w.line, w.message);
    if (parsed.ok) {
      settings = parsed.settings;
      if (!settings.allowedIPs) ctx.error(section.line, '[Mesh] needs AllowedIPs here: tunvpnd does not know the interface\'s addresses');
    } else for (const e of parsed.errors) ctx.error(e.line, e.message);
    for (const extra of meshSections.slice(1)) ctx.error(extra.line, `a second [Mesh] section (the first is at line ${section.line})`);
  }
  if (ctx.errors.length > 0 || !settings) throw new ConfigError(ctx.errors);
  return { settings, warnings: [...ctx.warnings].sort((a, b) => a.line - b.line).map(formatProblem) };
}
