import {
  accessSync,
  constants,
  existsSync,
  readdirSync,
  readFileSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * Checks of output paths, run before any work starts so that a bad path fails in a second with a
 * message naming it, not after training with a raw EEXIST/EACCES about a temporary file.
 */

/** The names frugal writes into a model directory; it never touches any other file there. */
export const MODEL_FILE_NAMES = ['model.json', 'weights.bin', 'report.json'] as const;

/** statfs magic numbers of Linux file systems that hold no user files (see statfs(2)). */
const VIRTUAL_FILE_SYSTEMS: Record<number, string> = {
  40864: 'proc',
  1650812274: 'sysfs',
  7377: 'devpts',
  2613483: 'cgroup',
  1667723888: 'cgroup2',
  1684170528: 'debugfs',
  1953653091: 'tracefs',
  1935894131: 'securityfs',
  3405662737: 'bpf',
  1634035564: 'pstore',
  1650812272: 'configfs',
  3730735588: 'efivarfs',
  4185718668: 'selinuxfs',
  1702057283: 'fusectl',
  427819522: 'mqueue',
  1112100429: 'binfmt_misc',
};

/** The virtual file system `path` (an existing path) lies on, or null for a real one. */
function virtualFileSystem(path: string): string | null {
  if (process.platform !== 'linux') return null;
  try {
    return VIRTUAL_FILE_SYSTEMS[Number(statfsSync(path).type)] ?? null;
  } catch {
    return null;
  }
}

/** The path itself if it exists, else its nearest existing ancestor. */
function nearestExisting(path: string): string {
  let p = resolve(path);
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

function fail(label: string, path: string, reason: string): never {
  throw new Error(`${label} '${path}': ${reason}`);
}

/** Checks that files can be created inside directory `dir` (or in the directories above it). */
function checkWritableAt(label: string, path: string, dir: string): void {
  const at = nearestExisting(dir);
  if (!statSync(at).isDirectory())
    fail(label, path, `'${at}' is a file, so no directory can be made under it`);
  const fs = virtualFileSystem(at);
  if (fs) fail(label, path, `'${at}' is on a virtual file system (${fs}) that holds no files`);
  try {
    accessSync(at, constants.W_OK);
  } catch {
    fail(label, path, `no permission to write in '${at}'`);
  }
}

/**
 * Checks an output file path (a JSON report): not empty, not a directory or a device, and its
 * directory can be written. `label` names the option, e.g. `--out`. Replacing an existing regular
 * file is allowed (that is what writing a report there means).
 */
export function checkOutputFile(path: string, label = 'output file'): void {
  if (typeof path !== 'string' || path.trim() === '')
    throw new Error(`${label} is empty: give a file path`);
  if (existsSync(path)) {
    const st = statSync(path);
    if (st.isDirectory()) fail(label, path, 'is a directory; give a file path');
    if (!st.isFile())
      fail(label, path, 'exists and is not a regular file (a device or pipe); give a file path');
  }
  checkWritableAt(label, path, dirname(resolve(path)));
}

/** Whether `dir` holds a tfjs layers model (a `model.json` with a topology and weights manifest). */
export function isModelDir(dir: string): boolean {
  const json = join(dir, 'model.json');
  try {
    if (!statSync(json).isFile()) return false;
    const m = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
    return (
      typeof m === 'object' &&
      m !== null &&
      m.modelTopology !== undefined &&
      Array.isArray(m.weightsManifest)
    );
  } catch {
    return false;
  }
}

export interface ModelDirCheckOptions {
  /**
   * Allow a non-empty directory that holds no model: frugal's files (model.json, weights.bin,
   * report.json) are written there, replacing files of those names; no other file is touched.
   */
  overwrite?: boolean;
  /** What to name in messages, e.g. `--save` (default: `model directory`). */
  label?: string;
  /** How to lift the refusal of a non-empty directory, e.g. `pass --overwrite`. */
  overwriteHint?: string;
}

/**
 * Checks a directory a model is saved to: not empty, not a file, writable, on a real file system,
 * and either missing, empty, a model directory (its model files are replaced, nothing else is
 * touched) or, with `overwrite`, any directory.
 */
export function checkModelDir(dir: string, options: ModelDirCheckOptions = {}): void {
  const label = options.label ?? 'model directory';
  if (typeof dir !== 'string' || dir.trim() === '')
    throw new Error(`${label} is empty: give a directory`);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) fail(label, dir, 'exists and is not a directory');
    const entries = readdirSync(dir);
    if (entries.length > 0 && !options.overwrite && !isModelDir(dir)) {
      const why = entries.includes('model.json')
        ? 'its model.json is not a tfjs model'
        : `it holds ${entries.length} file${entries.length === 1 ? '' : 's'} and no model.json`;
      fail(
        label,
        dir,
        `is not empty and not a model directory (${why}); frugal will not write its files (${MODEL_FILE_NAMES.join(', ')}) among others: choose a new or empty directory, or ${options.overwriteHint ?? 'set overwrite: true'} to write them there (files of those names are replaced, nothing else is touched)`,
      );
    }
    for (const name of MODEL_FILE_NAMES) {
      const p = join(dir, name);
      if (existsSync(p) && !statSync(p).isFile())
        fail(label, dir, `'${p}' exists and is not a regular file`);
    }
  }
  checkWritableAt(label, dir, resolve(dir));
}
