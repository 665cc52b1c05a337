/**
 * The first pass over a wg-quick file: split it into sections of `Key = Value` entries, the way wg-quick reads
 * it. Everything after the first '#' on a line is a comment (wg-quick does the same, even inside PostUp
 * commands); whitespace around keys, values and '=' is ignored; the value is everything after the first '='.
 * Section and key names are case-insensitive. Problems are appended to `errors`; lexing never throws.
 */
import type { ConfigProblem } from './types.js';
import { quote } from './values.js';

/** `mesh` is tunvpn's own [Mesh] section (config/mesh.ts); wg-quick knows the other two. */
export type SectionKind = 'interface' | 'peer' | 'mesh';

export interface Entry {
  line: number;
  /** As written (trimmed); compare case-insensitively. */
  key: string;
  /** Trimmed, comment removed; may be empty. */
  value: string;
}

export interface Section {
  kind: SectionKind;
  /** Line of the "[Interface]" / "[Peer]" / "[Mesh]" header. */
  line: number;
  entries: Entry[];
}

const HEADER = /^\[\s*([^\]]*?)\s*\]$/;
const SECTION_NAMES: Readonly<Record<string, SectionKind>> = { interface: 'interface', peer: 'peer', mesh: 'mesh' };
const EXPECTED = 'expected [Interface], [Peer] or [Mesh]';

export function splitSections(text: string, file: string, errors: ConfigProblem[]): Section[] {
  const sections: Section[] = [];
  // undefined: before any header; null: inside an unknown section (its entries were already reported once).
  let current: Section | null | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const hash = lines[i]!.indexOf('#');
    const content = (hash < 0 ? lines[i]! : lines[i]!.slice(0, hash)).trim();
    if (content === '') continue;
    const err = (message: string) => errors.push({ file, line, message });

    if (content.startsWith('[')) {
      const m = HEADER.exec(content);
      if (!m) {
        err(`malformed section header ${quote(content)}: ${EXPECTED}`);
        current = null;
        continue;
      }
      const kind = SECTION_NAMES[m[1]!.toLowerCase()];
      if (!kind) {
        err(`unknown section [${m[1]}]: ${EXPECTED}`);
        current = null;
        continue;
      }
      current = { kind, line, entries: [] };
      sections.push(current);
      continue;
    }

    const eq = content.indexOf('=');
    if (eq < 0) {
      err(`expected "Key = Value", got ${quote(content)}`);
      continue;
    }
    const key = content.slice(0, eq).trim();
    const value = content.slice(eq + 1).trim();
    if (key === '') {
      err('missing key name before "="');
      continue;
    }
    if (current === undefined) {
      err(`${key} is outside a section: put it under [Interface] or [Peer]`);
      continue;
    }
    if (current === null) continue;
    current.entries.push({ line, key, value });
  }
  return sections;
}
