/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: every line is empty, a HELP,
 * a TYPE or a sample; a family's TYPE comes before its samples; label values are quoted with \\ \" \n escapes;
 * values are numbers, NaN or ±Inf. Throws on anything else, so "it parses" means something.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** The samples of `name` whose labels include `match`. */
  find(name: string, match?: Record<string, string>): Sample[];
  /** The single value of `name` with labels including `match`; throws unless exactly one sample matches. */
  value(name: string, match?: Record<string, string>): number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '_info'];

function family(sample: string, types: Map<string, string>): string | undefined {
  if (types.has(sample)) return sample;
  for (const s of SUFFIXES) if (sample.endsWith(s) && types.has(sample.slice(0, -s.length))) return sample.slice(0, -s.length);
  return undefined;
}

function parseValue(text: string, line: string): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/.test(text)) throw new Error(`bad value in ${JSON.stringify(line)}`);
  return Number(text);
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  if (!text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue; // the format ignores empty lines
    if (line.startsWith('# HELP ')) {
      if (!NAME.test(line.slice(7).split(' ')[0]!)) throw new Error(`bad HELP ${JSON.stringify(line)}`);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (!NAME.test(name!) || !TYPES.has(type!)) throw new Error(`bad TYPE ${JSON.stringify(line)}`);
      if (types.has(name!)) throw new Error(`TYPE of ${name} given twice`);
      types.set(name!, type!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?[0-9]+)?$/.exec(line);
    if (!m) throw new Error(`not a sample: ${JSON.stringify(line)}`);
    const name = m[1]!;
    if (family(name, types) === undefined) throw new Error(`sample ${name} before its TYPE`);
    const labels: Record<string, string> = {};
    let rest = m[3] ?? '';
    while (rest !== '') {
      const l = LABEL.exec(rest);
      if (!l) throw new Error(`bad labels in ${JSON.stringify(line)}`);
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      rest = rest.slice(l[0].length);
    }
    samples.push({ name, labels, value: parseValue(m[4]!, line) });
  }
  const find = (name: string, match: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  return {
    types,
    samples,
    find,
    value(name, match = {}) {
      const found = find(name, match);
      if (found.length !== 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(match)}`);
      return found[0]!.value;
    },
  };
}
