import { existsSync, mkdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { checkOutputFile } from './output-paths.js';

export interface OutputFile {
  /** File name inside the directory (no path separators). */
  name: string;
  data: string | Uint8Array;
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  EXDEV: 'cannot rename across file systems',
};

/** An fs error as a message about `path`, not about the temporary file that was written. */
function writeError(path: string, e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code ? (REASONS[err.code] ?? err.code) : err.message;
  return new Error(`cannot write '${path}': ${reason}`, { cause: e });
}

/** Creates `dir` and its missing parents; returns the directories it created, outermost first. */
function makeDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let p = resolve(dir); !existsSync(p); p = dirname(p)) {
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  mkdirSync(dir, { recursive: true });
  return missing;
}

/**
 * Writes files into `dir` all or nothing, as far as a file system allows: each goes to a
 * temporary sibling first and only when every one is written are they renamed into place, so a
 * failure (no space, no permission, an unserialisable value) leaves no partial file and no
 * directory it created. Only the named files are replaced; nothing else in `dir` is touched.
 */
export function writeFilesAtomic(dir: string, files: OutputFile[]): void {
  for (const f of files) {
    if (f.name !== basename(f.name) || f.name === '' || f.name === '.' || f.name === '..')
      throw new Error(`writeFilesAtomic: '${f.name}' is not a plain file name`);
    checkOutputFile(join(dir, f.name));
  }
  let created: string[];
  try {
    created = makeDirs(dir);
  } catch (e) {
    throw writeError(dir, e);
  }
  const tmps: string[] = [];
  let current = dir;
  try {
    for (const f of files) {
      current = join(dir, f.name);
      const tmp = join(dir, `.${f.name}.${process.pid}.tmp`);
      tmps.push(tmp);
      writeFileSync(tmp, f.data);
    }
    files.forEach((f, i) => {
      current = join(dir, f.name);
      renameSync(tmps[i], current);
    });
  } catch (e) {
    for (const t of tmps) rmSync(t, { force: true });
    for (const d of created.reverse()) {
      try {
        rmdirSync(d); // only if still empty
      } catch {
        break;
      }
    }
    throw writeError(current, e);
  }
}

/** Writes a file via a temporary sibling and a rename, so a failure never leaves a partial file. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  checkOutputFile(path);
  writeFilesAtomic(dirname(path), [{ name: basename(path), data }]);
}

/** Writes JSON (2-space indent, trailing newline) atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
