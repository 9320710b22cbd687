// What the sections of bench:recipes share: the data, the zoo models, curve smoothing and the
// method-vs-plain comparison, seed lists, paired statistics as headline figures, and the record
// store (each section keeps one record per seed and setting; a rerun replaces its own records and
// keeps the others', so seeds can be measured in separate runs of a few minutes each).
import type { ClassificationData } from '../../src/data/dataset.js';
import { fashionMnistAvailable, loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { loadMnist } from '../../src/data/mnist.js';
import { buildModel } from '../../src/models/zoo.js';
import { argValue } from './args.js';
import type { CurvePoint } from './interleave.js';
import { pairedSummary } from './paired.js';
import type { Headline } from './results.js';
import { mean } from './stats.js';

export const fashion = fashionMnistAvailable();
export const load = (n: number, t: number): ClassificationData =>
  fashion
    ? loadFashionMnist({ trainCount: n, testCount: t })
    : loadMnist({ trainCount: n, testCount: t, seed: 1 });

export interface SectionResult {
  headline: Headline;
  section: Record<string, unknown>;
}

/** A section: runs new records, and summarises all stored records (new and kept). */
export interface Section<R> {
  /** The records of this run. */
  run(): Promise<R[]>;
  /** A record's identity: a new record replaces a stored one with the same key. */
  key(r: R): string;
  /** The stored records of this section in the results file (older layouts included). */
  stored(file: Record<string, unknown> | undefined): R[];
  summarize(records: R[]): SectionResult;
}

/** Stored records, with those of `fresh` replacing the ones that have the same key. */
export function mergeRecords<R>(stored: R[], fresh: R[], key: (r: R) => string): R[] {
  const keys = new Set(fresh.map(key));
  return [...stored.filter((r) => !keys.has(key(r))), ...fresh];
}

/** `--seeds 1,2,3` (integers >= 1), or the section's default. */
export function seedList(fallback: string): number[] {
  const raw = argValue('seeds', fallback);
  const seeds = raw.split(',').map((x) => Number(x));
  if (seeds.some((x) => !Number.isInteger(x) || x < 1))
    throw new Error(`--seeds takes comma-separated integers >= 1, got '${raw}'`);
  return seeds;
}

/**
 * Each point's accuracy as the mean of the last `w` evaluations (fewer at the start): one test
 * evaluation moves by a point or two between neighbouring epochs, more than the 0.5-point margin.
 */
export function smooth(pts: CurvePoint[], w: number): CurvePoint[] {
  return pts.map((p, i) => {
    const win = pts.slice(Math.max(0, i - w + 1), i + 1);
    return { ...p, acc: win.reduce((a, q) => a + q.acc, 0) / win.length };
  });
}
const reach = (pts: CurvePoint[], target: number) => pts.find((p) => p.acc >= target);
const last = (pts: CurvePoint[]) => pts[pts.length - 1];

/**
 * Plain vs a method, interleaved, both curves smoothed over `w` evaluations: the target is plain's
 * final (smoothed) accuracy - 0.5 point; the drop is plain's final minus the method's (at the
 * method's point `at`, default its last).
 */
export function compare(plainRaw: CurvePoint[], methodRaw: CurvePoint[], w: number, at?: number) {
  const plain = smooth(plainRaw, w);
  const method = smooth(methodRaw, w);
  const target = last(plain).acc - 0.005;
  const mAt = method[Math.min(at ?? method.length - 1, method.length - 1)];
  const plainHit = reach(plain, target) as CurvePoint;
  const hit = reach(method, target);
  return {
    target,
    window: w,
    plainHit,
    hit,
    /** Plain's seconds to the target over the method's; null when the method never got there. */
    speedup: hit ? plainHit.seconds / hit.seconds : null,
    /** The method's steps to the target over plain's; null when the method never got there. */
    stepsRatio: hit ? hit.steps / plainHit.steps : null,
    dropPts: (last(plain).acc - mAt.acc) * 100,
    /** Plain's final training time over the method's at point `at`. */
    timeRatioAt: last(plain).seconds / mAt.seconds,
    /** The method's (smoothed) accuracy at plain's final training time minus plain's final, points. */
    deltaAtPlainTimePts:
      ((method.filter((p) => p.seconds <= last(plain).seconds).pop() ?? method[0]).acc -
        last(plain).acc) *
      100,
    /** The method's accuracy at plain's final step count minus plain's final, points. */
    deltaAtPlainStepsPts:
      ((method.filter((p) => p.steps <= last(plain).steps).pop() ?? method[0]).acc -
        last(plain).acc) *
      100,
  };
}

export const cnn = (d: ClassificationData, seed = 1) =>
  buildModel('cnn', {
    inputShape: d.sampleShape,
    numClasses: 10,
    filters: [8, 16],
    dense: 32,
    seed,
  });
export const resnet = (d: ClassificationData, seed = 1, widths = [8, 16]) =>
  buildModel('resnet', {
    inputShape: d.sampleShape,
    numClasses: 10,
    widths,
    batchNormMomentum: 0.9,
    seed,
  });
export const disposeAll = (xs: Iterable<{ dispose(): void }>) => {
  for (const x of new Set(xs)) x.dispose();
};

/**
 * Headline figures `{name}`, `{name}Sd`, `{name}Se`, `{name}Ci95Lo`, `{name}Ci95Hi` of a sample of
 * per-seed values (paired differences: each seed gives both arms the same init and batches);
 * the spread figures are null for fewer than 2 values.
 */
export function summaryFigures(name: string, xs: number[], unit = ''): Headline {
  const n = xs.length;
  if (n < 2)
    return {
      [`${name}${unit}`]: n === 1 ? xs[0] : null,
      [`${name}Sd${unit}`]: null,
      [`${name}Se${unit}`]: null,
      [`${name}Ci95Lo${unit}`]: null,
      [`${name}Ci95Hi${unit}`]: null,
    };
  const s = pairedSummary(xs);
  return {
    [`${name}${unit}`]: s.mean,
    [`${name}Sd${unit}`]: s.sd,
    [`${name}Se${unit}`]: s.se,
    [`${name}Ci95Lo${unit}`]: s.ci95[0],
    [`${name}Ci95Hi${unit}`]: s.ci95[1],
  };
}

/**
 * A time- or steps-to-target ratio over seeds: the mean when every seed reached the target (null
 * otherwise), with its interval, and how many seeds reached it.
 */
export function ratioFigures(name: string, xs: (number | null)[]): Headline {
  const hits = xs.filter((x): x is number => x !== null);
  const all = hits.length === xs.length && xs.length > 0;
  const h: Headline = all ? summaryFigures(name, hits) : { [name]: null };
  h[`${name}Hits`] = hits.length;
  h[`${name}OfHits`] = hits.length > 0 ? mean(hits) : null;
  return h;
}
