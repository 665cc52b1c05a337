/**
 * A small INI tokenizer for site files: `[Section]` headers, `Key = Value` lines, `#` comments (whole-line and
 * trailing). Keys and section names keep their spelling here; callers compare them case-insensitively. Every
 * item carries its 1-based line number for `FILE:LINE` errors.
 */
import { SiteConfigError } from './errors.js';

export interface IniEntry {
  key: string;
  value: string;
  line: number;
}

export interface IniSection {
  name: string;
  line: number;
  entries: IniEntry[];
}

const SECTION_RE = /^\[\s*([A-Za-z][A-Za-z0-9]*)\s*\]$/;
const KEY_RE = /^[A-Za-z][A-Za-z0-9]*$/;

function stripComment(raw: string): string {
  const hash = raw.indexOf('#');
  return (hash < 0 ? raw : raw.slice(0, hash)).trim();
}

export function tokenizeIni(text: string, file: string): IniSection[] {
  const sections: IniSection[] = [];
  let current: IniSection | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = stripComment(lines[i]!);
    if (line === '') continue;
    if (line.startsWith('[')) {
      const m = SECTION_RE.exec(line);
      if (!m) throw new SiteConfigError(file, lineNo, `malformed section header: ${line}`);
      current = { name: m[1]!, line: lineNo, entries: [] };
      sections.push(current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new SiteConfigError(file, lineNo, `expected "Key = Value", got: ${line}`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (!KEY_RE.test(key)) throw new SiteConfigError(file, lineNo, `malformed key: "${key}"`);
    if (!current) throw new SiteConfigError(file, lineNo, `key "${key}" outside of any section`);
    if (value === '') throw new SiteConfigError(file, lineNo, `empty value for ${key}`);
    current.entries.push({ key, value, line: lineNo });
  }
  return sections;
}
