import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic, writeJsonAtomic } from '../../src/io/atomic-write.js';

/**
 * bench/results, wherever the benchmark is started from; BENCH_RESULTS_DIR moves it (for a smoke
 * run that must not overwrite the committed figures).
 */
export const RESULTS_DIR =
  process.env.BENCH_RESULTS_DIR || join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** The figures a reader looks at first, each computed in the run that writes it. */
export type Headline = Record<string, number | string | boolean | null>;

export interface Results {
  /** The headline figures of the run (see `Headline`). */
  headline: Headline;
  [key: string]: unknown;
}

export interface WriteOptions {
  /** File name without `.json` (default: the benchmark's name). */
  file?: string;
  /** Folder (default: bench/results). */
  dir?: string;
}

/**
 * Writes bench/results/<file>.json (atomically) as `{ bench, date, headline, ...rest }` and
 * returns its path. A headline figure that is not a finite number is written as null with a
 * warning (a figure that could not be measured in this run).
 */
export function writeResults(bench: string, results: Results, options: WriteOptions = {}): string {
  const { file = bench, dir = RESULTS_DIR } = options;
  const { headline, ...rest } = results;
  if (Object.keys(headline).length === 0)
    console.warn(`${bench}: the headline is empty; say which figures matter`);
  const clean: Headline = {};
  for (const [k, v] of Object.entries(headline)) {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      console.warn(`${bench}: headline.${k} is ${v}, written as null`);
      clean[k] = null;
    } else clean[k] = v;
  }
  const path = join(dir, `${file}.json`);
  writeJsonAtomic(path, { bench, date: new Date().toISOString(), headline: clean, ...rest });
  return path;
}

/** Writes another result file (a plot) under bench/results and returns its path. */
export function writeResultFile(name: string, text: string): string {
  const path = join(RESULTS_DIR, name);
  writeFileAtomic(path, text);
  return path;
}
