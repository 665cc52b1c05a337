/** Where parsing collects its errors and warnings, and the key tables both section parsers share. */
import type { ConfigProblem } from './types.js';
import type { Entry, SectionKind } from './lines.js';
import { BadValue } from './values.js';
import { nearest } from './suggest.js';
import { MESH_KEYS } from './mesh.js';

export class ParseContext {
  readonly errors: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];

  constructor(readonly file: string) {}

  error(line: number, message: string): void {
    this.errors.push({ file: this.file, line, message });
  }

  warn(line: number, message: string): void {
    this.warnings.push({ file: this.file, line, message });
  }

  /** Run one value parser; a BadValue becomes an error at `line` and the result is undefined. */
  attempt<T>(line: number, parse: () => T): T | undefined {
    try {
      return parse();
    } catch (e) {
      if (e instanceof BadValue) {
        this.error(line, e.message);
        return undefined;
      }
      throw e;
    }
  }
}

/** The sections whose keys checkKey checks ([Mesh] has its own parser, config/mesh.ts). */
export type WgQuickSection = Exclude<SectionKind, 'mesh'>;

/** Canonical spelling of every key, by section. */
export const KEYS: Readonly<Record<WgQuickSection, readonly string[]>> = {
  interface: ['PrivateKey', 'Address', 'ListenPort', 'MTU', 'Table', 'FwMark', 'DNS', 'SaveConfig', 'PreUp', 'PostUp', 'PreDown', 'PostDown'],
  peer: ['PublicKey', 'PresharedKey', 'AllowedIPs', 'Endpoint', 'PersistentKeepalive'],
};

/** Keys wg-quick accumulates: each repetition adds to the list instead of being an error. */
const REPEATABLE = new Set(['address', 'dns', 'allowedips', 'preup', 'postup', 'predown', 'postdown']);

const SECTION_TITLE: Readonly<Record<SectionKind, string>> = { interface: '[Interface]', peer: '[Peer]', mesh: '[Mesh]' };

/**
 * The canonical name of `entry.key` in `kind`, or undefined after reporting why it is not acceptable there:
 * unknown (with a suggestion), belonging to the other section, or repeated where repetition is not allowed.
 * `seen` maps lowercase keys to the line that first set them, per section.
 */
export function checkKey(ctx: ParseContext, kind: WgQuickSection, entry: Entry, seen: Map<string, number>): string | undefined {
  const lower = entry.key.toLowerCase();
  const canonical = KEYS[kind].find((k) => k.toLowerCase() === lower);
  if (!canonical) {
    const other: WgQuickSection = kind === 'interface' ? 'peer' : 'interface';
    const elsewhere = KEYS[other].find((k) => k.toLowerCase() === lower);
    const inMesh = MESH_KEYS.find((k) => k.toLowerCase() === lower);
    if (elsewhere) {
      ctx.error(entry.line, `${elsewhere} belongs in ${SECTION_TITLE[other]}, not ${SECTION_TITLE[kind]}`);
    } else if (inMesh) {
      ctx.error(entry.line, `${inMesh} belongs in ${SECTION_TITLE.mesh}, not ${SECTION_TITLE[kind]}`);
    } else {
      const near = nearest(entry.key, KEYS[kind]);
      ctx.error(entry.line, `unknown key ${JSON.stringify(entry.key)} in ${SECTION_TITLE[kind]}${near ? `; did you mean ${near}?` : ''}`);
    }
    return undefined;
  }
  const first = seen.get(lower);
  if (first !== undefined && !REPEATABLE.has(lower)) {
    ctx.error(entry.line, `${canonical} is set twice in this section (first at line ${first})`);
    return undefined;
  }
  if (first === undefined) seen.set(lower, entry.line);
  if (entry.value === '' && !REPEATABLE.has(lower)) {
    ctx.error(entry.line, `${canonical} has no value`);
    return undefined;
  }
  return canonical;
}
