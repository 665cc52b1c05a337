/**
 * Failed file-system changes, explained. Under systemd's ProtectSystem=strict (or any read-only mount) creating a
 * directory or file fails with EROFS, or with ENOENT when a parent that would have to be created is on the
 * read-only part; both used to reach the user as a bare "ENOENT: no such file or directory". This names the
 * read-only file system and the way out.
 */
import { access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The deepest existing directory at or above `path`. */
async function nearestExisting(path: string): Promise<string> {
  let dir = path;
  for (;;) {
    try {
      await access(dir, constants.F_OK);
      return dir;
    } catch {
      const up = dirname(dir);
      if (up === dir) return dir;
      dir = up;
    }
  }
}

/**
 * An Error whose message says why `action` (e.g. "create directory") on `path` failed: "read-only file system:
 * DIR" when the place it would be written is read-only (access(2) W_OK answers EROFS), "permission denied: DIR"
 * for EACCES/EPERM, else the original message. `code` and `cause` are kept.
 */
export async function explainFsError(e: unknown, action: string, path: string): Promise<Error> {
  const err = e as NodeJS.ErrnoException;
  const code = err?.code;
  const wrap = (why: string) => Object.assign(new Error(`cannot ${action} ${path}: ${why}`, { cause: e }), { code });
  if (code === 'EROFS') return wrap(`read-only file system: ${path}${HINT}`);
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') {
    const dir = await nearestExisting(dirname(path));
    try {
      await access(dir, constants.W_OK);
    } catch (probe) {
      const p = (probe as NodeJS.ErrnoException).code;
      if (p === 'EROFS') return wrap(`read-only file system: ${dir}${HINT}`);
      if (p === 'EACCES' || p === 'EPERM') return wrap(`permission denied: ${dir} is not writable by this user`);
    }
  }
  return err instanceof Error ? err : new Error(String(e));
}

const HINT = ' (under systemd with ProtectSystem=strict, list the directory in RuntimeDirectory= or ReadWritePaths=)';
