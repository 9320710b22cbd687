// `--only PART --seeds 0,5-9`: a paired part run on more seeds, merged with the seeds already in
// the JSON's section. The runs are seeded, so a seed run twice must give the same accuracies: the
// seeds both runs hold are compared, and the sections are merged only when every such seed
// reproduces exactly and the method and schedule are the same (otherwise the new run stands
// alone, with the reason in `merge.note`).
import { type PartResult, summarizePart } from './sparse-parts.js';
import { mean } from './stats.js';

/** Parses a seed list: "5-9", "0,5-9", "3" (non-negative integers, no repeats). */
export function parseSeedList(v: string): number[] {
  const out: number[] = [];
  for (const part of v.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`--seeds: expected a list like 0,5-9, got '${v}'`);
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (b < a) throw new Error(`--seeds: range ${part} runs backwards`);
    for (let s = a; s <= b; s++) out.push(s);
  }
  if (new Set(out).size !== out.length) throw new Error(`--seeds: '${v}' repeats a seed`);
  return out;
}

export interface MergeInfo {
  merged: boolean;
  previousSeeds: number[];
  newSeeds: number[];
  /** Seeds both runs hold, with their accuracies in each (dense, method). */
  overlap: { seed: number; before: [number, number]; now: [number, number] }[];
  note: string;
}

type Part = PartResult & { zeroFraction?: number };

function accuracies(r: Part, seed: number): [number, number] {
  const a = (m: string) => r.runs.find((x) => x.method === m && x.seed === seed)?.accuracy ?? NaN;
  return [a('dense'), a(r.method)];
}

/** `now` merged with `prev` (the JSON's section for the part) where that is sound; see above. */
export function mergePart(
  prev: Part | undefined,
  now: Part,
): { result: Part; merge: MergeInfo | null } {
  if (!prev) return { result: now, merge: null };
  const info = (merged: boolean, note: string, overlap: MergeInfo['overlap'] = []) => ({
    merged,
    previousSeeds: prev.schedule.seeds,
    newSeeds: now.schedule.seeds,
    overlap,
    note,
  });
  const same = (['train', 'test', 'epochs', 'batch', 'steps'] as const).every(
    (k) => prev.schedule[k] === now.schedule[k],
  );
  if (prev.method !== now.method || !same)
    return {
      result: now,
      merge: info(false, 'not merged: the previous section ran another method or schedule'),
    };
  const overlap = now.schedule.seeds
    .filter((s) => prev.schedule.seeds.includes(s))
    .map((seed) => ({ seed, before: accuracies(prev, seed), now: accuracies(now, seed) }));
  const differ = overlap.filter((o) => o.before[0] !== o.now[0] || o.before[1] !== o.now[1]);
  if (differ.length > 0)
    return {
      result: now,
      merge: info(
        false,
        `not merged: seeds ${differ.map((o) => o.seed).join(', ')} did not reproduce the previous accuracies`,
        overlap,
      ),
    };
  const added = now.schedule.seeds.filter((s) => !prev.schedule.seeds.includes(s));
  if (added.length === 0)
    return { result: now, merge: info(false, 'not merged: no new seed', overlap) };
  const seeds = [...prev.schedule.seeds, ...added].sort((a, b) => a - b);
  const runs = [...prev.runs.filter((r) => !now.schedule.seeds.includes(r.seed)), ...now.runs];
  const result: Part = summarizePart(
    now.method,
    { ...now.schedule, seeds },
    runs,
    now.target,
    prev.seconds + now.seconds,
  );
  if (now.zeroFraction !== undefined)
    result.zeroFraction = mean(
      runs.filter((r) => r.method === now.method).map((r) => r.zeroFraction as number),
    );
  return {
    result,
    merge: info(
      true,
      `seeds ${added.join(', ')} added to ${prev.schedule.seeds.join(', ')}${overlap.length ? `; seeds ${overlap.map((o) => o.seed).join(', ')} rerun and reproduced exactly` : ''}`,
      overlap,
    ),
  };
}
