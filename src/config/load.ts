/** Reading a configuration file from disk, and the interface name wg-quick derives from its path. */
import { isWgQuickIfname, WG_QUICK_IFNAME_RULE } from '../net/ifname.js';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ConfigError, type QuickConfig } from './types.js';
import { parseConfig } from './parse.js';

/** Larger files are refused unread: no real configuration comes near this (bytes). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Permission bits that let group or others read the file. */
const READABLE_BY_OTHERS = 0o044;
/** wg-quick's rule: the file is INTERFACE.conf, INTERFACE following net/ifname.ts's wg-quick pattern. */
const CONFIG_SUFFIX = '.conf';

const READ_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ELOOP: 'too many symbolic links',
};

/** The interface name for a config path ("/etc/tunvpn/wg0.conf" → "wg0"); throws ConfigError if not valid. */
export function interfaceNameFromPath(path: string): string {
  const base = basename(path);
  const name = base.endsWith(CONFIG_SUFFIX) ? base.slice(0, -CONFIG_SUFFIX.length) : '';
  if (!isWgQuickIfname(name)) {
    throw new ConfigError([
      {
        file: path,
        line: 0,
        message: `the file name must be an interface name (${WG_QUICK_IFNAME_RULE}) followed by .conf`,
      },
    ]);
  }
  return name;
}

/**
 * Read, parse and validate `path`. Adds a warning (first in the list) when group or others may read the file,
 * since it holds a private key. Throws ConfigError for unreadable files and for every problem in the contents.
 */
export async function loadConfig(path: string): Promise<QuickConfig> {
  const fail = (message: string): never => {
    throw new ConfigError([{ file: path, line: 0, message }]);
  };
  let text: string;
  let mode: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) fail(st.isDirectory() ? 'is a directory, not a configuration file' : 'is not a regular file');
    if (st.size > MAX_CONFIG_BYTES) fail(`is ${st.size} bytes; a configuration file is at most ${MAX_CONFIG_BYTES}`);
    mode = st.mode;
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    return fail(`cannot read: ${READ_ERRORS[code] ?? (e as Error).message} (${code})`);
  }
  if (text.includes('\0')) fail('is not a text file (contains NUL bytes)');
  const config = parseConfig(text, path);
  if ((mode & READABLE_BY_OTHERS) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    config.warnings.unshift(`${path}: mode ${octal} lets group or others read it, but it holds a private key; chmod 600 ${path}`);
  }
  return config;
}
