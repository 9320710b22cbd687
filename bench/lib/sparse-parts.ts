// The parts of bench/sparse-grad.ts that `--only NAME` reruns on their own: transposable 2:4
// weight training and stochastic gradient pruning against dense gradients on the CNN, more seeds
// and a longer schedule than the full run's 3-seed, 80-step comparison, reported as paired
// differences (mean, SE, 95% t-interval) against the target.
import { loadMnist } from '../../src/data/mnist.js';
import type { GradPrune } from '../../src/sparse/grad-prune.js';
import { transposableTraining } from '../../src/sparse/transposable-train.js';
import { type PairedSummary, pairedSummary, verdict } from './paired.js';
import { type CnnMethod, type CnnRun, runCnnComparison } from './sparse-cnn.js';
import { mean } from './stats.js';

export interface LongSchedule {
  /** Training digits (MNIST has 8000 here; the full run's CNN uses 5120). */
  train: number;
  test: number;
  epochs: number;
  batch: number;
  seeds: number[];
}

export interface PartResult {
  method: string;
  schedule: LongSchedule & { steps: number };
  /** Dense minus method test accuracy in points, by seed (seed order). */
  dropPtsBySeed: number[];
  drop: PairedSummary;
  target: number;
  verdict: string;
  denseMeanAccuracy: number;
  methodMeanAccuracy: number;
  meanStepMs: { dense: number; method: number };
  runs: CnnRun[];
  seconds: number;
  /** Seeds whose dense run came from another part of the same process (`KnownRuns`). */
  reusedDenseSeeds?: number[];
}

/**
 * Dense runs another part of the same process already trained on this schedule (the runs are
 * seeded: a seed gives the same accuracy whichever part trains it), so a part trains dense only
 * on the seeds it lacks.
 */
export interface KnownRuns {
  schedule: Pick<LongSchedule, 'train' | 'test' | 'epochs' | 'batch'>;
  runs: CnnRun[];
}

async function pairedPart(
  s: LongSchedule,
  method: (steps: number) => CnnMethod,
  target: number,
  known: KnownRuns[] = [],
): Promise<PartResult> {
  const t0 = performance.now();
  const data = loadMnist({ trainCount: s.train, testCount: s.test, seed: 1, layout: 'image' });
  const steps = s.epochs * Math.floor(s.train / s.batch);
  const m = method(steps);
  const same = (k: KnownRuns) =>
    (['train', 'test', 'epochs', 'batch'] as const).every((f) => k.schedule[f] === s[f]);
  const reused: CnnRun[] = [];
  for (const seed of s.seeds) {
    const r = known
      .filter(same)
      .flatMap((k) => k.runs)
      .find((x) => x.method === 'dense' && x.seed === seed);
    if (r) reused.push(r);
  }
  // Seed by seed, dense (where not reused) then the method: interleaved as before.
  const ran: CnnRun[] = [];
  for (const seed of s.seeds) {
    const methods = reused.some((r) => r.seed === seed) ? [m] : [{ name: 'dense' }, m];
    ran.push(...(await runCnnComparison(data, methods, { ...s, seeds: [seed] })));
  }
  const r = summarizePart(
    m.name,
    { ...s, steps },
    [...reused, ...ran],
    target,
    (performance.now() - t0) / 1000,
  );
  return reused.length ? { ...r, reusedDenseSeeds: reused.map((x) => x.seed) } : r;
}

/** A part's figures from its runs (dense and `method` on every seed of the schedule). */
export function summarizePart(
  method: string,
  schedule: LongSchedule & { steps: number },
  runs: CnnRun[],
  target: number,
  seconds: number,
): PartResult {
  const acc = (name: string) =>
    schedule.seeds.map(
      (seed) => runs.find((r) => r.method === name && r.seed === seed)?.accuracy ?? NaN,
    );
  const dense = acc('dense');
  const mine = acc(method);
  const drops = dense.map((d, i) => 100 * (d - mine[i]));
  const drop = pairedSummary(drops);
  const step = (name: string) =>
    mean(runs.filter((r) => r.method === name).map((r) => r.meanStepMs));
  return {
    method,
    schedule,
    dropPtsBySeed: drops,
    drop,
    target,
    verdict: verdict(drop, target),
    denseMeanAccuracy: mean(dense),
    methodMeanAccuracy: mean(mine),
    meanStepMs: { dense: step('dense'), method: step(method) },
    runs,
    seconds,
  };
}

/**
 * Transposable 2:4 weights (conv2 and dense1) by the full run's recipe, scaled to the schedule:
 * SR-STE decay `decay`, masks recomputed every step, pruned weights faded out over the first
 * `rampFraction` of the steps (60 of 80 in the full run; chosen on seeds 10 and 11). Target:
 * within 1 point of dense.
 */
export function transposablePart(
  s: LongSchedule,
  recipe: { decay: number; rampFraction: number },
  known: KnownRuns[] = [],
): Promise<PartResult> {
  return pairedPart(
    s,
    (steps) => {
      const ramp = Math.floor(recipe.rampFraction * steps);
      return {
        name: `transposable 2:4 SR-STE ${recipe.decay}, gradual over ${ramp} of ${steps}, recomputed every step`,
        setup: async (model) => {
          const t = transposableTraining(model, {
            recomputeEvery: 1,
            decay: recipe.decay,
            rampSteps: ramp,
          });
          return {
            hooks: t.hooks,
            done: () => {
              t.finish();
              const st = t.stats();
              return {
                layers: t.layers.map((l) => l.name),
                recomputes: st.recomputes,
                meanMaskChangeFraction: mean(st.maskChangeFraction),
              };
            },
          };
        },
      };
    },
    1,
    known,
  );
}

/** Stochastic pruning (Ye et al.) of every Dense/Conv2D's dy at rate p. Target: within 0.5 point. */
export async function stochasticPart(
  s: LongSchedule,
  p: number,
  known: KnownRuns[] = [],
): Promise<PartResult & { zeroFraction: number }> {
  const grad: GradPrune = { kind: 'stochastic', p };
  const r = await pairedPart(s, () => ({ name: `stochastic p=${p}`, grad }), 0.5, known);
  const mine = r.runs.filter((x) => x.method === r.method);
  return { ...r, zeroFraction: mean(mine.map((x) => x.zeroFraction as number)) };
}
