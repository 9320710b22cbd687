// Training recipes (issue 14), all figures measured in this run, one round each (the machine is
// shared: timings are noisy). Eval time is excluded from "training seconds"; SwiftLearn's scoring
// is included (it runs inside the loop).
// - swiftlearnSpeedup / swiftlearnDropPts: zoo CNN, plain vs SwiftLearn keep 0.3 (warm-up 1,
//   re-score every 2 epochs); training seconds to the plain run's final accuracy - 0.5 point.
// - haetAccAt*s / plainAccAt*s / haetGainPts: zoo ResNet, --train images (default 2000, not the 5000), a wall budget each
//   (smaller than 60 s to keep the bench short: see budgetSeconds), HAET parts frugal has.
// - mixsizeSpeedup: zoo ResNet, plain vs sizes [16, 22, 28] (batch rule), seconds to plain - 0.5.
// - batchAugStepsRatio: zoo CNN, steps to plain final - 0.5 with M=2 over steps of plain.
// Run: npm run bench:recipes   (writes bench/results/recipes.json)
import * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../src/data/dataset.js';
import { fashionMnistAvailable, loadFashionMnist } from '../src/data/fashion-mnist.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { buildModel } from '../src/models/zoo.js';
import {
  dataRecipeConfig,
  prepareDataRecipe,
  prepareRecipe,
  recipeConfig,
} from '../src/recipes/index.js';
import type { BatchPlan } from '../src/train/batch-plan.js';
import type { StepHooks } from '../src/train/gradients.js';
import { train } from '../src/train/loop.js';
import { numberArg, writeResults } from './lib/index.js';

const BUDGET_S = numberArg('budget', 10);
const N = numberArg('train', 2000);
const fashion = fashionMnistAvailable();
const load = (n: number, t: number): ClassificationData =>
  fashion
    ? loadFashionMnist({ trainCount: n, testCount: t })
    : loadMnist({ trainCount: n, testCount: t, seed: 1 });

interface Point {
  seconds: number;
  steps: number;
  acc: number;
}

async function curve(
  model: tf.LayersModel,
  data: ClassificationData,
  cfg: { epochs: number; batchSize: number; maxStepsPerEpoch?: number; learningRate?: number },
  opts: { batchPlan?: BatchPlan; hooks?: StepHooks; timeBudgetMs?: number } = {},
): Promise<Point[]> {
  const pts: Point[] = [];
  const t0 = performance.now();
  let evalMs = 0;
  let last = t0;
  let steps = 0;
  await train(
    model,
    data,
    { ...cfg, seed: 1, measureMemory: false },
    {
      ...opts,
      onProgress: (e) => {
        if (e.kind === 'step') {
          last = performance.now();
          steps++;
        } else if (e.kind === 'epoch-end') {
          const now = performance.now();
          evalMs += now - last;
          pts.push({ seconds: (now - t0 - evalMs) / 1000, steps, acc: e.testAccuracy });
          last = now;
        } else if (e.kind === 'epoch-start') last = performance.now();
      },
    },
  );
  // epoch-start to first step (SwiftLearn's scoring) stays in; only eval is taken out.
  model.dispose();
  return pts;
}

const reach = (pts: Point[], target: number) => pts.find((p) => p.acc >= target);

async function main() {
  await initEngine({ backend: 'cpu' });
  const cnn = (d: ClassificationData) =>
    buildModel('cnn', {
      inputShape: d.sampleShape,
      numClasses: 10,
      filters: [8, 16],
      dense: 32,
      seed: 1,
    });
  const resnet = (d: ClassificationData) =>
    buildModel('resnet', { inputShape: d.sampleShape, numClasses: 10, widths: [8, 16], seed: 1 });

  // SwiftLearn.
  const d5 = load(N, 1000);
  const E = 4;
  const plainSl = await curve(cnn(d5), d5, { epochs: E, batchSize: 64 });
  const m = cnn(d5);
  const sl = prepareDataRecipe(
    m,
    d5,
    dataRecipeConfig({ swiftlearn: { keep: 0.3, warmupEpochs: 1, every: 2 } }),
  );
  const slPts = await curve(m, d5, { epochs: E, batchSize: 64 }, { batchPlan: sl.plan });
  const plainFinal = plainSl[plainSl.length - 1];
  const slTarget = plainFinal.acc - 0.005;
  const slHit = reach(slPts, slTarget);
  const plainHit = reach(plainSl, slTarget) as Point;
  const slFinal = slPts[slPts.length - 1];
  console.log('swiftlearn', plainHit.seconds, slHit?.seconds, plainFinal.acc, slFinal.acc);

  // HAET parts vs plain, a wall budget each.
  const haetModel = resnet(d5);
  const prepared = prepareRecipe(haetModel, recipeConfig('haet'), () => {
    const n = 512;
    return tf.tensor4d(d5.train.x.slice(0, n * 784), [n, 28, 28, 1]);
  });
  const budgetMs = BUDGET_S * 1000;
  const plainB = await curve(
    resnet(d5),
    d5,
    { epochs: 1000, batchSize: 64, maxStepsPerEpoch: 20 },
    { timeBudgetMs: budgetMs },
  );
  const haetB = await curve(
    haetModel,
    d5,
    { epochs: 1000, batchSize: 64, maxStepsPerEpoch: 20 },
    {
      hooks: prepared.hooks,
      timeBudgetMs: budgetMs,
    },
  );

  // Mixed-size (ResNet, 2000 images).
  const d2 = load(1000, 500);
  const plainMs = await curve(resnet(d2), d2, { epochs: 2, batchSize: 32 });
  const rm = resnet(d2);
  const ms = prepareDataRecipe(rm, d2, dataRecipeConfig({ mixedSize: { sizes: [16, 22, 28] } }), {
    seed: 1,
  });
  const msPts = await curve(rm, d2, { epochs: 2, batchSize: 32 }, { batchPlan: ms.plan });
  const msTarget = plainMs[plainMs.length - 1].acc - 0.005;
  const msHit = reach(msPts, msTarget);
  const msPlainHit = reach(plainMs, msTarget) as Point;

  // Batch augmentation: steps to target (evaluated every 10 steps).
  const plainBa = await curve(cnn(d2), d2, { epochs: 6, batchSize: 32, maxStepsPerEpoch: 10 });
  const bm = cnn(d2);
  const ba = prepareDataRecipe(bm, d2, dataRecipeConfig({ batchAugment: { copies: 2 } }), {
    seed: 1,
  });
  const baPts = await curve(
    bm,
    d2,
    { epochs: 6, batchSize: 32, maxStepsPerEpoch: 10 },
    { batchPlan: ba.plan },
  );
  const baTarget = plainBa[plainBa.length - 1].acc - 0.005;
  const baHit = reach(baPts, baTarget);
  const baPlainHit = reach(plainBa, baTarget) as Point;

  const plainAcc = plainB[plainB.length - 1].acc;
  const haetAcc = haetB[haetB.length - 1].acc;
  const path = writeResults('recipes', {
    headline: {
      swiftlearnSpeedup: slHit ? plainHit.seconds / slHit.seconds : null,
      swiftlearnDropPts: (plainFinal.acc - slFinal.acc) * 100,
      [`haetAccAt${BUDGET_S}s`]: haetAcc,
      [`plainAccAt${BUDGET_S}s`]: plainAcc,
      haetGainPts: (haetAcc - plainAcc) * 100,
      mixsizeSpeedup: msHit ? msPlainHit.seconds / msHit.seconds : null,
      batchAugStepsRatio: baHit ? baHit.steps / baPlainHit.steps : null,
    },
    dataset: fashion ? 'fashion-mnist' : 'mnist',
    trainImages: { swiftlearnAndHaet: N, mixsizeAndBatchAug: 1000 },
    budgetSeconds: BUDGET_S,
    budgetNote: `a ${BUDGET_S} s wall budget each instead of 60 s, to keep the bench under ~6 minutes on a shared 2-core machine`,
    notes: [
      'one round each on a shared machine: timings are noisy',
      'training seconds exclude evaluation; SwiftLearn scoring is included',
      'a null figure means the method never reached the target accuracy in its run',
      'HAET: SAM 0.05 + label smoothing 0.2 + gradient centralisation + patch whitening (parts in frugal)',
    ],
    swiftlearn: {
      plain: plainSl,
      swiftlearn: slPts,
      target: slTarget,
      scoredAt: sl.swiftlearn?.state.scoredAt,
    },
    haet: { plain: plainB, haet: haetB },
    mixsize: { plain: plainMs, mixsize: msPts, target: msTarget },
    batchAug: { plain: plainBa, batchAug: baPts, target: baTarget },
  });
  console.log(path);
}

await main();
