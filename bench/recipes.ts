// Training recipes (issue 14), all figures measured in this run on the wasm backend with frugal's
// fast conv-gradient kernels (the tfjs cpu backend takes seconds per ResNet step). Every method
// runs against plain training in the same run, interleaved (bench/lib/interleave.ts,
// bench/lib/budget-race.ts), with the same optimizer (Adam, --lr, default 3e-3) and batches.
// - haetAccAt60s / plainAccAt60s / haetGainPts: the zoo ResNet (widths [8, 16]) on 5,000 training
//   images (Fashion-MNIST when Debian's dataset-fashion-mnist is installed, else MNIST), tested on
//   2,000: the HAET recipe (SAM 0.05, label smoothing 0.2, gradient centralisation, patch-whitened
//   stem, CELU 0.075, decoupled weight decay 5e-4) against plain training, each given the same
//   training wall budget (--budget, default 60 s), interleaved in slices of --slice s (default 10)
//   by bench/lib/budget-race.ts. HAET's patch whitening counts against its budget; evaluation
//   between slices does not. The headline keys carry the budget (haetAccAt60s at the default).
//   haetSam8*: the same recipe with SAM's second pass on every 8th step only (--sam-every 8).
// - swiftlearnSpeedup / swiftlearnDropPts: zoo CNN on --train (default 5,000) images, --sl-epochs
//   (6) epochs each, plain vs SwiftLearn keep 0.3 (warm-up 2 epochs, re-score every epoch,
//   importance-sampled per class); training seconds to the plain run's final accuracy - 0.5 point
//   (scoring included, evaluation excluded); the drop is at the same number of epochs.
// - mixsizeSpeedup: zoo ResNet on 2,000 images, plain (3 epochs) vs sizes [16, 22, 28] (batch
//   rule, up to 5 epochs), seconds to plain's final - 0.5 point.
// - batchAugStepsRatio: zoo CNN on 1,000 images, M=2, steps to plain's final - 0.5 point over the
//   steps plain took (evaluated every 10 steps, 200 steps each).
// Accuracies for targets and drops are averaged over the last 2 evaluations (3 for batchAug),
// for plain and method alike: one evaluation moves by more than the 0.5-point margin.
// Run: npm run bench:recipes   (writes bench/results/recipes.json)
import * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../src/data/dataset.js';
import { fashionMnistAvailable, loadFashionMnist } from '../src/data/fashion-mnist.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import {
  dataRecipeConfig,
  prepareDataRecipe,
  prepareRecipe,
  type RecipeConfig,
  recipeConfig,
  recipeModel,
} from '../src/recipes/index.js';
import { makeOptimizer } from '../src/train/optimizer.js';
import { budgetRace, type RaceArm } from './lib/budget-race.js';
import { numberArg, writeResults } from './lib/index.js';
import { type CurvePoint, interleavedCurves } from './lib/interleave.js';

const BUDGET_S = numberArg('budget', 60);
const SLICE_S = numberArg('slice', 10);
const HAET_N = numberArg('haet-train', 5000);
const HAET_TEST = numberArg('haet-test', 2000);
const N = numberArg('train', 5000);
const SL_EPOCHS = numberArg('sl-epochs', 6);
const LR = numberArg('lr', 3e-3);
const SAM_EVERY = 8;
const fashion = fashionMnistAvailable();
const load = (n: number, t: number): ClassificationData =>
  fashion
    ? loadFashionMnist({ trainCount: n, testCount: t })
    : loadMnist({ trainCount: n, testCount: t, seed: 1 });

/**
 * Each point's accuracy as the mean of the last `w` evaluations (fewer at the start): one test
 * evaluation moves by a point or two between neighbouring epochs, more than the 0.5-point margin.
 */
function smooth(pts: CurvePoint[], w: number): CurvePoint[] {
  return pts.map((p, i) => {
    const win = pts.slice(Math.max(0, i - w + 1), i + 1);
    return { ...p, acc: win.reduce((a, q) => a + q.acc, 0) / win.length };
  });
}
const reach = (pts: CurvePoint[], target: number) => pts.find((p) => p.acc >= target);
const last = (pts: CurvePoint[]) => pts[pts.length - 1];

/**
 * Plain vs a method, interleaved, both curves smoothed over `w` evaluations: the target is plain's
 * final (smoothed) accuracy - 0.5 point; the drop is plain's final minus the method's.
 */
function compare(plainRaw: CurvePoint[], methodRaw: CurvePoint[], w: number) {
  const plain = smooth(plainRaw, w);
  const method = smooth(methodRaw, w);
  const target = last(plain).acc - 0.005;
  return {
    target,
    window: w,
    plainHit: reach(plain, target) as CurvePoint,
    hit: reach(method, target),
    dropPts: (last(plain).acc - last(method).acc) * 100,
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

async function main() {
  await initEngine({ backend: 'wasm' });
  useFastKernels();
  const started = performance.now();
  const cnn = (d: ClassificationData) =>
    buildModel('cnn', {
      inputShape: d.sampleShape,
      numClasses: 10,
      filters: [8, 16],
      dense: 32,
      seed: 1,
    });
  const resnet = (d: ClassificationData) =>
    buildModel('resnet', {
      inputShape: d.sampleShape,
      numClasses: 10,
      widths: [8, 16],
      batchNormMomentum: 0.9,
      seed: 1,
    });
  const disposeAll = (xs: { dispose(): void }[]) => {
    for (const x of xs) x.dispose();
  };

  // SwiftLearn vs plain, epoch by epoch in turn.
  const d5 = load(N, 2000);
  const slConfig = {
    keep: 0.3,
    warmupEpochs: 2,
    every: 1,
    select: 'sample',
    balance: 'class',
  } as const;
  const slPlainModel = cnn(d5);
  const slModel = cnn(d5);
  const sl = prepareDataRecipe(slModel, d5, dataRecipeConfig({ swiftlearn: slConfig }), {
    seed: 1,
  });
  const slOpts = [makeOptimizer('adam', LR), makeOptimizer('adam', LR)];
  const slCurves = await interleavedCurves(
    [
      { name: 'plain', model: slPlainModel, optimizer: slOpts[0] },
      { name: 'swiftlearn', model: slModel, optimizer: slOpts[1], plan: sl.plan },
    ],
    d5,
    { rounds: SL_EPOCHS, batchSize: 64, seed: 1 },
  );
  disposeAll([slPlainModel, slModel, ...slOpts]);
  const slCmp = compare(slCurves.plain, slCurves.swiftlearn, 2);
  console.log('swiftlearn', JSON.stringify(slCurves));

  // The HAET recipe (as published, and with SAM every 4th step) vs plain, the same training wall
  // budget each, interleaved.
  const dh = load(HAET_N, HAET_TEST);
  const whiteningSample = () => {
    const n = 512;
    return tf.tensor4d(dh.train.x.slice(0, n * 784), [n, 28, 28, 1]);
  };
  const owned: { dispose(): void }[] = [];
  const haetArm = (name: string, cfg: RecipeConfig): RaceArm & { notes: string[] } => {
    const base = resnet(dh);
    const t0 = performance.now();
    const hm = recipeModel(base, cfg);
    const prepared = prepareRecipe(hm.model, cfg, whiteningSample, { learningRate: LR });
    const setupMs = performance.now() - t0;
    const optimizer = makeOptimizer('adam', LR);
    owned.push(base, hm.model, optimizer);
    return { name, model: hm.model, optimizer, hooks: prepared.hooks, setupMs, notes: hm.notes };
  };
  const plainModel = resnet(dh);
  const plainOpt = makeOptimizer('adam', LR);
  owned.push(plainModel, plainOpt);
  const haet = haetArm('haet', recipeConfig('haet'));
  const haetSam = haetArm(`haetSam${SAM_EVERY}`, recipeConfig('haet', { samEvery: SAM_EVERY }));
  const [plainB, haetB, haetSamB] = await budgetRace(
    [{ name: 'plain', model: plainModel, optimizer: plainOpt }, haet, haetSam],
    dh,
    {
      budgetMs: BUDGET_S * 1000,
      sliceMs: SLICE_S * 1000,
      batchSize: 64,
      learningRate: LR,
      seed: 1,
    },
  );
  disposeAll(owned);

  // Mixed-size (ResNet, 2,000 images): plain 3 epochs, mixed-size up to 5.
  const d2 = load(2000, 1000);
  const msPlainModel = resnet(d2);
  const msModel = resnet(d2);
  const ms = prepareDataRecipe(
    msModel,
    d2,
    dataRecipeConfig({ mixedSize: { sizes: [16, 22, 28] } }),
    { seed: 1 },
  );
  const msOpts = [makeOptimizer('adam', LR), makeOptimizer('adam', LR)];
  const msCurves = await interleavedCurves(
    [
      { name: 'plain', model: msPlainModel, optimizer: msOpts[0], rounds: 3 },
      { name: 'mixsize', model: msModel, optimizer: msOpts[1], plan: ms.plan, rounds: 5 },
    ],
    d2,
    { rounds: 5, batchSize: 32, seed: 1 },
  );
  disposeAll([msPlainModel, msModel, ...msOpts]);
  const msCmp = compare(msCurves.plain, msCurves.mixsize, 2);
  console.log('mixsize', JSON.stringify(msCurves));

  // Batch augmentation (CNN, 1,000 images): steps to target, evaluated every 10 steps.
  const d1 = load(1000, 1000);
  const baPlainModel = cnn(d1);
  const baModel = cnn(d1);
  const ba = prepareDataRecipe(baModel, d1, dataRecipeConfig({ batchAugment: { copies: 2 } }), {
    seed: 1,
  });
  const baOpts = [makeOptimizer('adam', LR), makeOptimizer('adam', LR)];
  const baCurves = await interleavedCurves(
    [
      { name: 'plain', model: baPlainModel, optimizer: baOpts[0] },
      { name: 'batchAug', model: baModel, optimizer: baOpts[1], plan: ba.plan },
    ],
    d1,
    { rounds: 20, batchSize: 32, seed: 1, maxStepsPerEpoch: 10 },
  );
  disposeAll([baPlainModel, baModel, ...baOpts]);
  const baCmp = compare(baCurves.plain, baCurves.batchAug, 3);
  console.log('batchAug', JSON.stringify(baCurves));

  const plainAcc = plainB.acc;
  const path = writeResults('recipes', {
    headline: {
      swiftlearnSpeedup: slCmp.hit ? slCmp.plainHit.seconds / slCmp.hit.seconds : null,
      swiftlearnDropPts: slCmp.dropPts,
      [`haetAccAt${BUDGET_S}s`]: haetB.acc,
      [`plainAccAt${BUDGET_S}s`]: plainAcc,
      haetGainPts: (haetB.acc - plainAcc) * 100,
      [`haetSam${SAM_EVERY}AccAt${BUDGET_S}s`]: haetSamB.acc,
      [`haetSam${SAM_EVERY}GainPts`]: (haetSamB.acc - plainAcc) * 100,
      swiftlearnDeltaAtPlainTimePts: slCmp.deltaAtPlainTimePts,
      mixsizeSpeedup: msCmp.hit ? msCmp.plainHit.seconds / msCmp.hit.seconds : null,
      mixsizeDeltaAtPlainTimePts: msCmp.deltaAtPlainTimePts,
      batchAugStepsRatio: baCmp.hit ? baCmp.hit.steps / baCmp.plainHit.steps : null,
      batchAugDeltaAtPlainStepsPts: baCmp.deltaAtPlainStepsPts,
    },
    dataset: fashion ? 'fashion-mnist' : 'mnist',
    backend: 'wasm (1 thread) with frugal fast kernels',
    trainImages: { haet: HAET_N, swiftlearn: N, mixsize: 2000, batchAug: 1000 },
    testImages: { haet: HAET_TEST, swiftlearn: 2000, mixsize: 1000, batchAug: 1000 },
    budgetSeconds: BUDGET_S,
    sliceSeconds: SLICE_S,
    learningRate: LR,
    benchSeconds: (performance.now() - started) / 1000,
    notes: [
      'one round each on a shared 2-core machine: timings are noisy',
      `every arm: Adam ${LR}; method and plain interleaved (slices of ${SLICE_S} s for HAET, epochs or 10 steps for the rest)`,
      'HAET vs plain: same training wall budget each; HAET whitening counted, evaluation not',
      `HAET: SAM 0.05 + label smoothing 0.2 + gradient centralisation + patch-whitened stem + CELU 0.075 (one kernel each way) + decoupled weight decay 5e-4, batch 64; haetSam${SAM_EVERY}: the same with SAM's second pass every ${SAM_EVERY}th step`,
      'SwiftLearn: keep 0.3, warm-up 2 epochs, re-scored (EL2N) every epoch, kept rows drawn per class with probability proportional to the score',
      'training seconds exclude evaluation; SwiftLearn scoring is included',
      'targets and drops use accuracies averaged over the last 2 evaluations (SwiftLearn, mixsize: epochs) or 3 (batchAug: every 10 steps), for plain and method alike',
      "a null figure means the method never reached the target accuracy in its run; the *DeltaAtPlainTimePts / *DeltaAtPlainStepsPts figures are always measured: the method minus plain at plain's final training time (or step count)",
    ],
    swiftlearn: {
      ...slCurves,
      target: slCmp.target,
      smoothing: slCmp.window,
      config: slConfig,
      scoredAt: sl.swiftlearn?.state.scoredAt,
    },
    haet: {
      plain: plainB,
      haet: haetB,
      [`haetSam${SAM_EVERY}`]: haetSamB,
      setupSeconds: (haet.setupMs ?? 0) / 1000,
      model: 'resnet widths [8, 16], batch-norm momentum 0.9',
      parts: haet.notes,
    },
    mixsize: { ...msCurves, target: msCmp.target, smoothing: msCmp.window },
    batchAug: { ...baCurves, target: baCmp.target, smoothing: baCmp.window },
  });
  console.log(path);
}

await main();
