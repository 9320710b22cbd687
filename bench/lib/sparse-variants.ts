// `npm run bench:sparse-grad -- --only transposableVariants`: the transposable 2:4 variants
// against dense on the 3-seed CNN comparison's schedule (fixed masks from init, plain STE
// recomputed every SPARSE_BENCH_TRANSPOSABLE_EVERY steps, SR-STE recomputed as often, and
// fine-tuning after SPARSE_BENCH_TRANSPOSABLE_PRETRAIN dense steps). They explain the recipe of
// the headline's transposable24DropPts but are not figures the issue names, so they run on
// their own (about 2-4 minutes), not in the default full run, which keeps their last figures.
import { loadMnist } from '../../src/data/mnist.js';
import { transposableTraining } from '../../src/sparse/transposable-train.js';
import { train } from '../../src/train/loop.js';
import { envNumber } from './args.js';
import type { Headline } from './results.js';
import { type CnnMethod, type CnnRun, runCnnComparison, summarizeCnn } from './sparse-cnn.js';
import { mean } from './stats.js';

/** The 3-seed CNN schedule (the same env settings as the full run's CNN section). */
export function variantsConfig() {
  return {
    train: envNumber('SPARSE_BENCH_CNN_TRAIN', 5120),
    test: envNumber('SPARSE_BENCH_TEST', 2000),
    epochs: envNumber('SPARSE_BENCH_CNN_EPOCHS', 1),
    batch: 64,
    seeds: Array.from({ length: envNumber('SPARSE_BENCH_CNN_SEEDS', 3) }, (_, i) => i),
    every: envNumber('SPARSE_BENCH_TRANSPOSABLE_EVERY', 16),
    pretrain: envNumber('SPARSE_BENCH_TRANSPOSABLE_PRETRAIN', 60),
    decay: envNumber('SPARSE_BENCH_SRSTE_DECAY', 0.02),
  };
}
type Config = ReturnType<typeof variantsConfig>;

// Weights, not gradients: transposable 2:4 masks on every kernel with channels that are
// multiples of 4 (conv2, dense1; conv1 has 1 input channel, the logits 10 outputs), computed from
// the initial weights and kept fixed (every = 0), or recomputed every `every` steps from the
// straight-through dense weights.
function transposableMethod(
  name: string,
  every: number,
  batch: number,
  pretrainSteps?: number,
  more: { decay?: number; rampSteps?: number } = {},
): CnnMethod {
  return {
    name,
    pretrainSteps,
    setup: async (model, data, seed) => {
      if (pretrainSteps !== undefined)
        await train(model, data, {
          epochs: 1,
          batchSize: batch,
          seed,
          maxStepsPerEpoch: pretrainSteps,
          measureMemory: false,
        });
      const t = transposableTraining(model, { recomputeEvery: every, ...more });
      return {
        hooks: t.hooks,
        done: () => {
          t.finish();
          const s = t.stats();
          return {
            layers: t.layers,
            skipped: t.skipped.map((k) => k.name),
            recomputes: s.recomputes,
            meanMaskChangeFraction: s.recomputes > 0 ? mean(s.maskChangeFraction) : null,
            greedyRepairs: s.greedyRepairs,
          };
        },
      };
    },
  };
}

const names = (c: Config) => ({
  fixed: 'transposable 2:4',
  recompute: `transposable 2:4, recomputed every ${c.every}`,
  finetune: `transposable 2:4 after ${c.pretrain} dense steps`,
  srSte: `transposable 2:4 SR-STE, recomputed every ${c.every}`,
});

export interface VariantsResult {
  config: Config;
  summary: ReturnType<typeof summarizeCnn>;
  runs: CnnRun[];
  seconds: number;
}

/** Dense and the four variants on the 3-seed CNN schedule. */
export async function transposableVariantsPart(
  c: Config = variantsConfig(),
): Promise<VariantsResult> {
  const t0 = performance.now();
  const data = loadMnist({ trainCount: c.train, testCount: c.test, seed: 1, layout: 'image' });
  const n = names(c);
  const methods: CnnMethod[] = [
    { name: 'dense' },
    transposableMethod(n.fixed, 0, c.batch),
    transposableMethod(n.recompute, c.every, c.batch),
    transposableMethod(n.finetune, 0, c.batch, c.pretrain),
    transposableMethod(n.srSte, c.every, c.batch, undefined, { decay: c.decay }),
  ];
  const runs = await runCnnComparison(data, methods, {
    seeds: c.seeds,
    epochs: c.epochs,
    batch: c.batch,
  });
  const summary = summarizeCnn(runs, 'dense');
  for (const row of summary)
    console.log(
      `cnn ${row.method}: mean ${(100 * row.meanAccuracy).toFixed(2)}%, drop ${row.meanDropPts.toFixed(2)} pt (sd ${row.dropPtsStd.toFixed(2)})`,
    );
  return { config: c, summary, runs, seconds: (performance.now() - t0) / 1000 };
}

/** The variants' headline figures, from a run (or the JSON's section of one). */
export function variantsHeadline(r: VariantsResult): Headline {
  const n = names(r.config);
  const drop = (name: string) => r.summary.find((s) => s.method === name)?.meanDropPts ?? null;
  const change = (name: string) =>
    mean(
      r.runs.filter((x) => x.method === name).map((x) => x.extra?.meanMaskChangeFraction as number),
    );
  return {
    transposable24FixedDropPts: drop(n.fixed),
    transposable24SrSteRecomputeDropPts: drop(n.srSte),
    transposable24RecomputeDropPts: drop(n.recompute),
    transposable24FinetuneDropPts: drop(n.finetune),
    transposable24RecomputeMaskChange: change(n.recompute),
    transposable24SrSteRecomputeMaskChange: change(n.srSte),
  };
}
