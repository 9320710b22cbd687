// bench:recipes, sections mixsize and batchaug: a data recipe against plain, epoch (or 10-step
// round) by round in turn (bench/lib/interleave.ts), one run per seed in --seeds (default 1,2,3);
// each seed gives both arms the same initialisation and batch order.
// - mixsize: zoo ResNet [8, 16] on 2,000 images, plain 3 epochs vs sizes [16, 22, 28] (batch
//   rule) up to 5, seconds to plain's final - 0.5 point (mixsizeSpeedup).
// - batchaug: zoo CNN on 1,000 images, M = 2 copies (shift 2, cutout 8), 20 rounds of 10 steps
//   each arm, steps to plain's final - 0.5 point over plain's (batchAugStepsRatio).
import { loadavg } from 'node:os';
import type * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../../src/data/dataset.js';
import {
  type DataRecipeConfig,
  dataRecipeConfig,
  prepareDataRecipe,
} from '../../src/recipes/index.js';
import { makeOptimizer } from '../../src/train/optimizer.js';
import { type CurvePoint, interleavedCurves } from './interleave.js';
import {
  cnn,
  compare,
  disposeAll,
  load,
  ratioFigures,
  resnet,
  type Section,
  type SectionResult,
  seedList,
  summaryFigures,
} from './recipes-common.js';

export interface DataRecipeRun {
  seed: number;
  date: string;
  loadAverage: number;
  plain: CurvePoint[];
  method: CurvePoint[];
  target: number;
  /** Plain's seconds to the target over the method's (null: never reached). */
  speedup: number | null;
  /** The method's steps to the target over plain's (null: never reached). */
  stepsRatio: number | null;
  deltaAtPlainTimePts: number;
  deltaAtPlainStepsPts: number;
}

interface Spec {
  name: 'mixsize' | 'batchaug';
  trainImages: number;
  testImages: number;
  model: (d: ClassificationData, seed: number) => tf.LayersModel;
  recipe: DataRecipeConfig;
  plainRounds: number;
  methodRounds: number;
  batchSize: number;
  maxStepsPerEpoch?: number;
  smoothing: number;
  note: string;
  /** The headline figures: `prefix` names them, `axis` is what plain's budget is counted in. */
  figures: { prefix: 'mixsize' | 'batchAug'; axis: keyof typeof AXES };
}

/** Plain's budget in training time or in steps: the run's gain and delta on that axis. */
const AXES = {
  time: {
    gain: 'Speedup',
    budget: 'Time',
    gainOf: (r: DataRecipeRun) => r.speedup,
    deltaOf: (r: DataRecipeRun) => r.deltaAtPlainTimePts,
  },
  steps: {
    gain: 'StepsRatio',
    budget: 'Steps',
    gainOf: (r: DataRecipeRun) => r.stepsRatio,
    deltaOf: (r: DataRecipeRun) => r.deltaAtPlainStepsPts,
  },
};

/**
 * A section's figures: the gain to plain's target (ratio figures: null unless every seed got
 * there), the accuracy delta at plain's budget in points (paired over seeds), the seed count.
 */
function sectionHeadline(s: Spec, runs: DataRecipeRun[]): SectionResult['headline'] {
  const { prefix, axis } = s.figures;
  const a = AXES[axis];
  return {
    ...ratioFigures(`${prefix}${a.gain}`, runs.map(a.gainOf)),
    ...summaryFigures(`${prefix}DeltaAtPlain${a.budget}`, runs.map(a.deltaOf), 'Pts'),
    [`${prefix}Seeds`]: runs.length,
  };
}

async function runSpec(s: Spec): Promise<DataRecipeRun[]> {
  const d = load(s.trainImages, s.testImages);
  const out: DataRecipeRun[] = [];
  for (const seed of seedList('1,2,3')) {
    const plainModel = s.model(d, seed);
    const model = s.model(d, seed);
    const prepared = prepareDataRecipe(model, d, s.recipe, { seed });
    const opts = [makeOptimizer('adam', 3e-3), makeOptimizer('adam', 3e-3)];
    console.log(`${s.name} seed ${seed}`);
    const curves = await interleavedCurves(
      [
        { name: 'plain', model: plainModel, optimizer: opts[0], rounds: s.plainRounds },
        {
          name: 'method',
          model,
          optimizer: opts[1],
          plan: prepared.plan,
          rounds: s.methodRounds,
        },
      ],
      d,
      {
        rounds: Math.max(s.plainRounds, s.methodRounds),
        batchSize: s.batchSize,
        seed,
        maxStepsPerEpoch: s.maxStepsPerEpoch,
      },
    );
    disposeAll([plainModel, model, ...opts]);
    const cmp = compare(curves.plain, curves.method, s.smoothing);
    console.log(
      `  speedup ${cmp.speedup?.toFixed(2) ?? 'never'}, steps ratio ${cmp.stepsRatio?.toFixed(2) ?? 'never'}, at plain's time ${cmp.deltaAtPlainTimePts.toFixed(2)} pt`,
    );
    out.push({
      seed,
      date: new Date().toISOString(),
      loadAverage: loadavg()[0],
      plain: curves.plain,
      method: curves.method,
      target: cmp.target,
      speedup: cmp.speedup,
      stepsRatio: cmp.stepsRatio,
      deltaAtPlainTimePts: cmp.deltaAtPlainTimePts,
      deltaAtPlainStepsPts: cmp.deltaAtPlainStepsPts,
    });
  }
  return out;
}

function sectionOf(s: Spec) {
  const section: Section<DataRecipeRun> = {
    run: () => runSpec(s),
    key: (r) => String(r.seed),
    // Runs of the one-seed layout before seeds were stored as curves in the section are dropped:
    // their setting is the same, but they were measured with another bench (one seed, 2026-12-07).
    stored: (file) =>
      ((file?.[s.name] as { runs?: DataRecipeRun[] } | undefined)?.runs ?? []).filter(
        (r) => typeof r.seed === 'number',
      ),
    summarize: (all) => {
      const runs = [...all].sort((x, y) => x.seed - y.seed);
      return {
        headline: sectionHeadline(s, runs),
        section: {
          recipe: s.recipe,
          trainImages: s.trainImages,
          testImages: s.testImages,
          plainRounds: s.plainRounds,
          methodRounds: s.methodRounds,
          batchSize: s.batchSize,
          maxStepsPerRound: s.maxStepsPerEpoch ?? null,
          smoothing: s.smoothing,
          runs,
          notes: [s.note],
        },
      };
    },
  };
  return section;
}

export const mixsizeSection = sectionOf({
  name: 'mixsize',
  trainImages: 2000,
  testImages: 1000,
  model: (d, seed) => resnet(d, seed),
  recipe: dataRecipeConfig({ mixedSize: { sizes: [16, 22, 28] } }),
  plainRounds: 3,
  methodRounds: 5,
  batchSize: 32,
  smoothing: 2,
  note: "resnet [8, 16], sizes [16, 22, 28] (batch rule: batch x (28/size)^2), evaluated at 28; Adam 3e-3 constant, batch 32; plain 3 epochs, mixed size up to 5; mixsizeSpeedup: plain's seconds to its final - 0.5 pt (last 2 epochs averaged) over mixed size's, the mean over seeds when every seed got there (Hits: how many did); mixsizeDeltaAtPlainTimePts: mixed size's accuracy at plain's final training time minus plain's final, paired over seeds",
  figures: { prefix: 'mixsize', axis: 'time' },
});

export const batchaugSection = sectionOf({
  name: 'batchaug',
  trainImages: 1000,
  testImages: 1000,
  model: (d, seed) => cnn(d, seed),
  recipe: dataRecipeConfig({ batchAugment: { copies: 2 } }),
  plainRounds: 20,
  methodRounds: 20,
  batchSize: 32,
  maxStepsPerEpoch: 10,
  smoothing: 3,
  note: "cnn, M = 2 copies (shift 2, cutout 8) of each of the 32 samples of a batch, Adam 3e-3 constant; 20 rounds of 10 steps each arm, evaluated after each; batchAugStepsRatio: batch augmentation's steps to plain's final - 0.5 pt (last 3 evaluations averaged) over plain's, the mean over seeds when every seed got there (Hits: how many did); batchAugDeltaAtPlainStepsPts: its accuracy at plain's final step count minus plain's final, paired over seeds",
  figures: { prefix: 'batchAug', axis: 'steps' },
});
