/**
 * Typed access to one site-file section's entries, each error pointing at the offending line
 * (`FILE:LINE: message`). The link kinds (kinds/) and the [Namespace] parser read their keys through it.
 */
import { parseIp, parsePrefix, type IpAddress, type Prefix } from '../net/ip.js';
import { SiteConfigError } from './errors.js';
import type { IniEntry, IniSection } from './ini.js';
import { MTU_MAX, MTU_MIN } from './mtu.js';
import { ifnameProblem } from './names.js';

export class SectionReader {
  private readonly byKey = new Map<string, IniEntry[]>();

  /**
   * `keys`: the keys the section allows (lower case); `repeatable`: those of them that may appear more than once.
   * Throws SiteConfigError on an unknown key or a repeated one.
   */
  constructor(
    readonly file: string,
    readonly section: IniSection,
    keys: readonly string[],
    repeatable: readonly string[] = [],
  ) {
    for (const e of section.entries) {
      const key = e.key.toLowerCase();
      if (!keys.includes(key)) this.fail(e.line, `unknown key "${e.key}" in [${section.name}]`);
      const list = this.byKey.get(key) ?? [];
      if (list.length > 0 && !repeatable.includes(key)) {
        this.fail(e.line, `duplicate key "${e.key}" in [${section.name}] (first at line ${list[0]!.line})`);
      }
      list.push(e);
      this.byKey.set(key, list);
    }
  }

  /** Throws SiteConfigError at `line`. */
  fail(line: number, message: string): never {
    throw new SiteConfigError(this.file, line, message);
  }

  /** The first entry of `key` (lower case), if any. */
  entry(key: string): IniEntry | undefined {
    return this.byKey.get(key)?.[0];
  }

  /** Every entry of a repeatable key, in file order. */
  all(key: string): IniEntry[] {
    return this.byKey.get(key) ?? [];
  }

  /** Line of `key`, or of the section header when the key is absent. */
  lineOf(key: string): number {
    return this.entry(key)?.line ?? this.section.line;
  }

  /** `Name`, required, a valid interface name. */
  name(): string {
    const e = this.entry('name');
    if (!e) this.fail(this.section.line, `[${this.section.name}] is missing Name`);
    const problem = ifnameProblem(e.value);
    if (problem) this.fail(e.line, problem);
    return e.value;
  }

  /** An optional key naming an interface (Bridge, Parent, Dev, Peer). */
  ifname(key: string): string | undefined {
    const e = this.entry(key);
    if (!e) return undefined;
    const problem = ifnameProblem(e.value);
    if (problem) this.fail(e.line, problem);
    return e.value;
  }

  /** The entry of a required key; `label` is its spelling in the message ("missing Remote"). */
  required(key: string, label: string): IniEntry {
    const e = this.entry(key);
    if (!e) this.fail(this.section.line, `[${this.section.name}] is missing ${label}`);
    return e;
  }

  /** An optional decimal integer in min..max. */
  int(key: string, label: string, min: number, max: number): number | undefined {
    const e = this.entry(key);
    if (!e) return undefined;
    if (!/^[0-9]{1,10}$/.test(e.value)) this.fail(e.line, `${label} must be a decimal integer, got "${e.value}"`);
    const n = Number(e.value);
    if (n < min || n > max) this.fail(e.line, `${label} ${n} out of range (${min}..${max})`);
    return n;
  }

  /** An optional address with its prefix length (192.168.50.1/24). */
  prefix(key: string, label: string): Prefix | undefined {
    const e = this.entry(key);
    if (!e) return undefined;
    if (!e.value.includes('/')) this.fail(e.line, `${label} needs a prefix length, e.g. 192.168.50.1/24: "${e.value}"`);
    const p = parsePrefix(e.value);
    if (!p) this.fail(e.line, `bad address "${e.value}"`);
    return p;
  }

  /** An IP address from `entry` (or `text`, one item of its list); undefined without an entry. */
  ip(entry: IniEntry | undefined, text = entry?.value): IpAddress | undefined {
    if (!entry || text === undefined) return undefined;
    const a = parseIp(text);
    if (!a) this.fail(entry.line, `bad address "${text}"`);
    return a;
  }

  /** `MTU`, optional, MTU_MIN..MTU_MAX. */
  mtu(): number | undefined {
    return this.int('mtu', 'MTU', MTU_MIN, MTU_MAX);
  }
}
