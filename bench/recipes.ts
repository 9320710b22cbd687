// Training recipes (issue 14), on the wasm backend with frugal's fast conv-gradient kernels (the
// tfjs cpu backend takes seconds per ResNet step). Every method runs against plain training in the
// same run, interleaved (bench/lib/interleave.ts, bench/lib/budget-race.ts), with the same
// optimizer (Adam, --lr, default 3e-3, constant for plain: the default a user gets) and batches.
// Sections (npm run bench:recipes -- --only haet,swiftlearn,mixsize,batchaug reruns some and keeps
// the others' figures; each section's date and load average are in sectionRuns):
// - haet: the zoo ResNet (widths [8, 16]) on 5,000 training images (Fashion-MNIST when Debian's
//   dataset-fashion-mnist is installed, else MNIST), tested on 2,000: the haet preset (SAM 0.05
//   with the second pass every --sam-every (8) steps, label smoothing 0.2, gradient
//   centralisation, patch-whitened stem, CELU 0.075, decoupled weight decay 5e-4, and its budget
//   schedule: up to 2x the rate over the first 20% of the budget, down to 0 at the deadline, on
//   the arm's own training clock) against plain, each given the same training wall budget
//   (--budget, default 150 s), interleaved in slices of --slice s (30). One race per seed
//   (--seeds 1,2; races of earlier runs with the same setting are kept, so seeds can be run
//   separately in under 6 minutes each). Headline per budget B: haetAccAt{B}s, plainAccAt{B}s,
//   haetGainAt{B}sPts (mean over seeds) and its sd; haetGainPts at 150 s. --haet-constant adds the
//   recipe at a constant rate, --ablation plain with the schedule alone.
// - swiftlearn: zoo CNN on --train (5,000) images, --sl-seeds (2) seeds, plain --sl-epochs (8) epochs vs SwiftLearn
//   with the library defaults at keep 0.3 up to --sl-rounds (12) epochs; swiftlearnSpeedup:
//   training seconds to plain's final accuracy - 0.5 point (scoring included, evaluation not);
//   swiftlearnDropPts and swiftlearnEqualEpochSpeedup at the same epoch count.
// - mixsize: zoo ResNet on 2,000 images, plain (3 epochs) vs sizes [16, 22, 28] (batch rule, up
//   to 5 epochs), seconds to plain's final - 0.5 point.
// - batchaug: zoo CNN on 1,000 images, M=2, steps to plain's final - 0.5 point over the steps
//   plain took (evaluated every 10 steps, 200 steps each).
// Accuracies for targets and drops are averaged over the last 2 evaluations (3 for batchaug),
// for plain and method alike: one evaluation moves by more than the 0.5-point margin.
// Run: npm run bench:recipes   (writes bench/results/recipes.json)

import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../src/data/dataset.js';
import { fashionMnistAvailable, loadFashionMnist } from '../src/data/fashion-mnist.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import {
  BUDGET_SCHEDULE,
  dataRecipeConfig,
  HAET_RECIPE,
  prepareDataRecipe,
  prepareRecipe,
  type RecipeConfig,
  recipeConfig,
  recipeModel,
  SWIFTLEARN_DEFAULTS,
} from '../src/recipes/index.js';
import { makeOptimizer } from '../src/train/optimizer.js';
import { budgetRace, type RaceArm, RaceClock, type RaceResult } from './lib/budget-race.js';
import {
  argValue,
  type Headline,
  hasFlag,
  mean,
  numberArg,
  RESULTS_DIR,
  sd,
  writeResults,
} from './lib/index.js';
import { type CurvePoint, interleavedCurves } from './lib/interleave.js';

const HEADLINE_BUDGET_S = 150;
const BUDGET_S = numberArg('budget', HEADLINE_BUDGET_S);
const SLICE_S = numberArg('slice', 30);
const HAET_N = numberArg('haet-train', 5000);
const HAET_TEST = numberArg('haet-test', 2000);
const SAM_EVERY = numberArg('sam-every', 8);
const HAET_PEAK = numberArg('haet-peak', HAET_RECIPE.schedule?.peak ?? 1);
const N = numberArg('train', 5000);
const SL_EPOCHS = numberArg('sl-epochs', 8);
const SL_ROUNDS = numberArg('sl-rounds', Math.round(SL_EPOCHS * 1.5));
const SL_SEEDS = numberArg('sl-seeds', 2);
const LR = numberArg('lr', 3e-3);
const SECTIONS = ['haet', 'swiftlearn', 'mixsize', 'batchaug'] as const;
type SectionName = (typeof SECTIONS)[number];
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
 * final (smoothed) accuracy - 0.5 point; the drop is plain's final minus the method's (at the
 * method's point `at`, default its last).
 */
function compare(plainRaw: CurvePoint[], methodRaw: CurvePoint[], w: number, at?: number) {
  const plain = smooth(plainRaw, w);
  const method = smooth(methodRaw, w);
  const target = last(plain).acc - 0.005;
  const mAt = method[Math.min(at ?? method.length - 1, method.length - 1)];
  return {
    target,
    window: w,
    plainHit: reach(plain, target) as CurvePoint,
    hit: reach(method, target),
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

const cnn = (d: ClassificationData, seed = 1) =>
  buildModel('cnn', {
    inputShape: d.sampleShape,
    numClasses: 10,
    filters: [8, 16],
    dense: 32,
    seed,
  });
const resnet = (d: ClassificationData, seed = 1) =>
  buildModel('resnet', {
    inputShape: d.sampleShape,
    numClasses: 10,
    widths: [8, 16],
    batchNormMomentum: 0.9,
    seed,
  });
const disposeAll = (xs: Iterable<{ dispose(): void }>) => {
  for (const x of new Set(xs)) x.dispose();
};

interface SectionResult {
  headline: Headline;
  section: Record<string, unknown>;
}

interface HaetRace {
  budgetSeconds: number;
  seed: number;
  samEvery: number;
  /** The HAET schedule's peak as a multiple of the learning rate (absent: 1). */
  schedulePeak?: number;
  learningRate: number;
  trainImages: number;
  testImages: number;
  date: string;
  loadAverage: number;
  setupSeconds: number;
  arms: RaceResult[];
}

const sameSetting = (r: HaetRace) =>
  r.samEvery === SAM_EVERY &&
  (r.schedulePeak ?? 1) === HAET_PEAK &&
  r.learningRate === LR &&
  r.trainImages === HAET_N &&
  r.testImages === HAET_TEST;

/** The races of earlier runs: those of this setting, and of other settings (kept, not counted). */
function earlierRaces(prev: Record<string, unknown> | undefined): {
  same: HaetRace[];
  other: HaetRace[];
} {
  const sec = prev?.haet as { races?: HaetRace[]; otherRaces?: HaetRace[] } | undefined;
  const all = [...(sec?.races ?? []), ...(sec?.otherRaces ?? [])];
  return { same: all.filter(sameSetting), other: all.filter((r) => !sameSetting(r)) };
}

/** Headline figures per budget over the stored races: means over seeds, sd of the gain. */
function haetHeadline(races: HaetRace[]): Headline {
  const h: Headline = {};
  const budgets = [...new Set(races.map((r) => r.budgetSeconds))].sort((x, y) => x - y);
  const accOf = (r: HaetRace, name: string) =>
    (r.arms.find((a) => a.name === name) as RaceResult | undefined)?.acc;
  for (const b of budgets) {
    const rs = races.filter((r) => r.budgetSeconds === b);
    const plain = rs.map((r) => accOf(r, 'plain') as number);
    const haet = rs.map((r) => accOf(r, 'haet') as number);
    const gains = haet.map((x, i) => (x - plain[i]) * 100);
    const steps = (name: string) =>
      rs.map((r) => (r.arms.find((a) => a.name === name) as RaceResult).steps);
    h[`haetAccAt${b}s`] = mean(haet);
    h[`plainAccAt${b}s`] = mean(plain);
    h[`haetGainAt${b}sPts`] = mean(gains);
    h[`haetGainSdAt${b}sPts`] = sd(gains);
    h[`haetSeedsAt${b}s`] = rs.length;
    h[`haetStepsRatioAt${b}s`] = mean(steps('haet').map((x, i) => x / steps('plain')[i]));
    const abl = rs.filter((r) => accOf(r, 'plainSchedule') !== undefined);
    if (abl.length > 0)
      h[`plainScheduleGainAt${b}sPts`] = mean(
        abl.map(
          (r) => ((accOf(r, 'plainSchedule') as number) - (accOf(r, 'plain') as number)) * 100,
        ),
      );
  }
  const main = races.filter((r) => r.budgetSeconds === HEADLINE_BUDGET_S);
  h.haetGainPts = main.length > 0 ? h[`haetGainAt${HEADLINE_BUDGET_S}sPts`] : null;
  h.haetGainSdPts = main.length > 0 ? h[`haetGainSdAt${HEADLINE_BUDGET_S}sPts`] : null;
  h.haetSeeds = main.length;
  h.haetHeadlineBudgetSeconds = HEADLINE_BUDGET_S;
  return h;
}

/**
 * The HAET recipe (with its budget schedule: warm-up, then the rate down to zero at the deadline)
 * against plain training at the default constant rate, the same wall budget each, interleaved;
 * one race per seed in --seeds (model initialisation and batch order). Races of earlier runs with
 * the same setting are kept (a rerun of a budget and seed replaces its race), so the seeds of one
 * budget can be measured in separate runs of under 6 minutes each. --ablation adds plain with the
 * budget schedule only (what the schedule alone gives).
 */
async function haetSection(prev: Record<string, unknown> | undefined): Promise<SectionResult> {
  const dh = load(HAET_N, HAET_TEST);
  const whiteningSample = () => {
    const n = 512;
    return tf.tensor4d(dh.train.x.slice(0, n * 784), [n, 28, 28, 1]);
  };
  const haetCfg = recipeConfig('haet', {
    samEvery: SAM_EVERY,
    schedule: { ...BUDGET_SCHEDULE, peak: HAET_PEAK },
  });
  const ablation = hasFlag('ablation');
  const seeds = argValue('seeds', '1')
    .split(',')
    .map((x) => Number(x));
  if (seeds.some((x) => !Number.isInteger(x) || x < 1))
    throw new Error(`--seeds takes comma-separated integers >= 1, got '${argValue('seeds', '1')}'`);
  const earlier = earlierRaces(prev);
  const races = earlier.same.filter(
    (r) => !(r.budgetSeconds === BUDGET_S && seeds.includes(r.seed)),
  );
  let parts: string[] = [];
  for (const seed of seeds) {
    const owned: { dispose(): void }[] = [];
    const recipeArm = (name: string, cfg: RecipeConfig): RaceArm => {
      const base = resnet(dh, seed);
      const clock = new RaceClock();
      const t0 = performance.now();
      const hm = recipeModel(base, cfg, { seed });
      const prepared = prepareRecipe(hm.model, cfg, whiteningSample, {
        learningRate: LR,
        schedule: { budgetMs: BUDGET_S * 1000, clock: clock.ms },
      });
      const setupMs = performance.now() - t0;
      const optimizer = makeOptimizer('adam', LR);
      owned.push(base, hm.model, optimizer);
      if (name === 'haet') parts = hm.notes;
      return { name, model: hm.model, optimizer, hooks: prepared.hooks, setupMs, clock };
    };
    const plainModel = resnet(dh, seed);
    const plainOpt = makeOptimizer('adam', LR);
    owned.push(plainModel, plainOpt);
    const arms: RaceArm[] = [
      { name: 'plain', model: plainModel, optimizer: plainOpt },
      recipeArm('haet', haetCfg),
    ];
    if (ablation)
      arms.push(recipeArm('plainSchedule', recipeConfig('none', { schedule: haetCfg.schedule })));
    if (hasFlag('haet-constant'))
      arms.push(
        recipeArm('haetConstant', recipeConfig('haet', { samEvery: SAM_EVERY, schedule: null })),
      );
    console.log(`haet seed ${seed}, budget ${BUDGET_S} s`);
    const res = await budgetRace(arms, dh, {
      budgetMs: BUDGET_S * 1000,
      sliceMs: SLICE_S * 1000,
      batchSize: 64,
      learningRate: LR,
      seed,
    });
    races.push({
      budgetSeconds: BUDGET_S,
      seed,
      samEvery: SAM_EVERY,
      schedulePeak: HAET_PEAK,
      learningRate: LR,
      trainImages: HAET_N,
      testImages: HAET_TEST,
      date: new Date().toISOString(),
      loadAverage: loadavg()[0],
      setupSeconds: (arms[1].setupMs ?? 0) / 1000,
      arms: res,
    });
    disposeAll(owned);
  }
  races.sort((x, y) => x.budgetSeconds - y.budgetSeconds || x.seed - y.seed);
  return {
    headline: haetHeadline(races),
    section: {
      model: 'resnet widths [8, 16], batch-norm momentum 0.9',
      config: haetCfg,
      parts,
      races,
      otherRaces: earlier.other,
      notes: [
        `plain: Adam ${LR}, constant (the default a user gets); haet: the preset with SAM's second pass every ${SAM_EVERY}th step and its budget schedule (peak ${HAET_PEAK} x ${LR}: up from 10% over the first ${haetCfg.schedule?.warmup} of the budget, then linear to 0 at the deadline, on the arm's own training clock)`,
        'each race: the same training wall budget per arm (whitening counted, evaluation not), interleaved in slices, one seed (initialisation and batch order); accuracy after the last slice on the test images',
        `headline per budget B: haetAccAt{B}s / plainAccAt{B}s means over the seeds, haetGainAt{B}sPts the mean gain, haetGainSdAt{B}sPts its sample sd; haetGainPts is the ${HEADLINE_BUDGET_S} s budget's`,
        'races of one budget may come from separate runs (their date and load average are in each race); otherRaces: races of another setting (SAM every k, rate, images), kept for the record and not in the headline',
      ],
    },
  };
}

/**
 * SwiftLearn (the library's defaults, keep 0.3) against plain, epoch by epoch in turn: plain
 * --sl-epochs epochs, SwiftLearn up to --sl-rounds (its epochs are cheaper; the time to the
 * target counts only until it first gets there).
 */
async function swiftlearnSection(): Promise<SectionResult> {
  const d5 = load(N, 2000);
  const slConfig = { ...SWIFTLEARN_DEFAULTS, keep: 0.3 };
  const runs = [];
  for (let seed = 1; seed <= SL_SEEDS; seed++) {
    const plainModel = cnn(d5, seed);
    const slModel = cnn(d5, seed);
    const sl = prepareDataRecipe(slModel, d5, dataRecipeConfig({ swiftlearn: slConfig }), { seed });
    const opts = [makeOptimizer('adam', LR), makeOptimizer('adam', LR)];
    const curves = await interleavedCurves(
      [
        { name: 'plain', model: plainModel, optimizer: opts[0], rounds: SL_EPOCHS },
        {
          name: 'swiftlearn',
          model: slModel,
          optimizer: opts[1],
          plan: sl.plan,
          rounds: SL_ROUNDS,
        },
      ],
      d5,
      { rounds: SL_ROUNDS, batchSize: 64, seed },
    );
    disposeAll([plainModel, slModel, ...opts]);
    const cmp = compare(curves.plain, curves.swiftlearn, 2, SL_EPOCHS - 1);
    console.log('swiftlearn', seed, JSON.stringify(curves));
    runs.push({
      seed,
      ...curves,
      target: cmp.target,
      speedup: cmp.hit ? cmp.plainHit.seconds / cmp.hit.seconds : null,
      dropPts: cmp.dropPts,
      equalEpochTimeRatio: cmp.timeRatioAt,
      deltaAtPlainTimePts: cmp.deltaAtPlainTimePts,
      scoredAt: sl.swiftlearn?.state.scoredAt,
      scoringSeconds: (sl.swiftlearn?.state.scoringMs ?? 0) / 1000,
    });
  }
  const speedups = runs.map((r) => r.speedup);
  const drops = runs.map((r) => r.dropPts);
  return {
    headline: {
      swiftlearnSpeedup: speedups.some((x) => x === null) ? null : mean(speedups as number[]),
      swiftlearnDropPts: mean(drops),
      swiftlearnDropSdPts: sd(drops),
      swiftlearnEqualEpochSpeedup: mean(runs.map((r) => r.equalEpochTimeRatio)),
      swiftlearnDeltaAtPlainTimePts: mean(runs.map((r) => r.deltaAtPlainTimePts)),
      swiftlearnSeeds: SL_SEEDS,
    },
    section: {
      config: slConfig,
      plainEpochs: SL_EPOCHS,
      swiftlearnEpochs: SL_ROUNDS,
      trainImages: N,
      testImages: 2000,
      smoothing: 2,
      runs,
      notes: [
        `SwiftLearn with the library defaults (warm-up ${slConfig.warmupEpochs}, re-scored by ${slConfig.score} every ${slConfig.every} epochs, ${slConfig.select} per ${slConfig.balance}) at keep 0.3; plain ${SL_EPOCHS} epochs, SwiftLearn up to ${SL_ROUNDS}; every arm Adam ${LR} constant, batch 64`,
        "swiftlearnSpeedup: plain's training seconds to its final accuracy - 0.5 point over SwiftLearn's (scoring included, evaluation not), accuracies averaged over the last 2 epochs; null when a seed never got there",
        `swiftlearnDropPts: plain's final minus SwiftLearn's at the same ${SL_EPOCHS} epochs; swiftlearnEqualEpochSpeedup: plain's seconds for them over SwiftLearn's`,
      ],
    },
  };
}

/** Mixed-size (ResNet, 2,000 images): plain 3 epochs, mixed-size up to 5. */
async function mixsizeSection(): Promise<SectionResult> {
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
  const curves = await interleavedCurves(
    [
      { name: 'plain', model: msPlainModel, optimizer: msOpts[0], rounds: 3 },
      { name: 'mixsize', model: msModel, optimizer: msOpts[1], plan: ms.plan, rounds: 5 },
    ],
    d2,
    { rounds: 5, batchSize: 32, seed: 1 },
  );
  disposeAll([msPlainModel, msModel, ...msOpts]);
  const cmp = compare(curves.plain, curves.mixsize, 2);
  console.log('mixsize', JSON.stringify(curves));
  return {
    headline: {
      mixsizeSpeedup: cmp.hit ? cmp.plainHit.seconds / cmp.hit.seconds : null,
      mixsizeDeltaAtPlainTimePts: cmp.deltaAtPlainTimePts,
    },
    section: {
      ...curves,
      target: cmp.target,
      smoothing: cmp.window,
      trainImages: 2000,
      testImages: 1000,
      notes: ['resnet, sizes [16, 22, 28] (batch rule), Adam constant, batch 32, one seed'],
    },
  };
}

/** Batch augmentation (CNN, 1,000 images): steps to target, evaluated every 10 steps. */
async function batchaugSection(): Promise<SectionResult> {
  const d1 = load(1000, 1000);
  const baPlainModel = cnn(d1);
  const baModel = cnn(d1);
  const ba = prepareDataRecipe(baModel, d1, dataRecipeConfig({ batchAugment: { copies: 2 } }), {
    seed: 1,
  });
  const baOpts = [makeOptimizer('adam', LR), makeOptimizer('adam', LR)];
  const curves = await interleavedCurves(
    [
      { name: 'plain', model: baPlainModel, optimizer: baOpts[0] },
      { name: 'batchAug', model: baModel, optimizer: baOpts[1], plan: ba.plan },
    ],
    d1,
    { rounds: 20, batchSize: 32, seed: 1, maxStepsPerEpoch: 10 },
  );
  disposeAll([baPlainModel, baModel, ...baOpts]);
  const cmp = compare(curves.plain, curves.batchAug, 3);
  console.log('batchAug', JSON.stringify(curves));
  return {
    headline: {
      batchAugStepsRatio: cmp.hit ? cmp.hit.steps / cmp.plainHit.steps : null,
      batchAugDeltaAtPlainStepsPts: cmp.deltaAtPlainStepsPts,
    },
    section: {
      ...curves,
      target: cmp.target,
      smoothing: cmp.window,
      trainImages: 1000,
      testImages: 1000,
      notes: ['cnn, M=2 copies (shift 2, cutout 8), Adam constant, batch 32, one seed'],
    },
  };
}

const RUN: Record<
  SectionName,
  (prev: Record<string, unknown> | undefined) => Promise<SectionResult>
> = {
  haet: haetSection,
  swiftlearn: swiftlearnSection,
  mixsize: mixsizeSection,
  batchaug: batchaugSection,
};
/** The headline keys each section owns (a rerun of the section replaces them all). */
const OWNS: Record<SectionName, (key: string) => boolean> = {
  haet: (k) => k.startsWith('haet') || k.startsWith('plainAcc') || k.startsWith('plainSchedule'),
  swiftlearn: (k) => k.startsWith('swiftlearn'),
  mixsize: (k) => k.startsWith('mixsize'),
  batchaug: (k) => k.startsWith('batchAug'),
};

async function main() {
  const onlyArg = argValue('only', '');
  const names = (onlyArg === '' ? [...SECTIONS] : onlyArg.split(',')) as SectionName[];
  for (const n of names)
    if (!SECTIONS.includes(n))
      throw new Error(`--only takes sections from ${SECTIONS.join(', ')}, got '${n}'`);
  await initEngine({ backend: 'wasm' });
  useFastKernels();
  const file = join(RESULTS_DIR, 'recipes.json');
  const prev =
    onlyArg !== '' && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  const headline: Headline = { ...(prev?.headline ?? {}) };
  const sections: Record<string, unknown> = {};
  const sectionRuns: Record<string, unknown> = { ...(prev?.sectionRuns ?? {}) };
  for (const name of names) {
    for (const k of Object.keys(headline)) if (OWNS[name](k)) delete headline[k];
    const t0 = performance.now();
    const r = await RUN[name](prev);
    Object.assign(headline, r.headline);
    sections[name] = r.section;
    sectionRuns[name] = {
      date: new Date().toISOString(),
      seconds: (performance.now() - t0) / 1000,
      loadAverage: loadavg()[0],
    };
  }
  const { bench: _b, date: _d, headline: _h, ...rest } = prev ?? {};
  const path = writeResults('recipes', {
    ...rest,
    headline,
    dataset: fashion ? 'fashion-mnist' : 'mnist',
    backend: 'wasm (1 thread) with frugal fast kernels',
    learningRate: LR,
    notes: [
      'a shared 2-core machine (load average in sectionRuns): timings are noisy; method and plain always run interleaved in the same run',
      'each section was measured on the date in sectionRuns (npm run bench:recipes -- --only NAME reruns one and keeps the others)',
      'training seconds exclude evaluation; SwiftLearn scoring and HAET patch whitening are included',
      "a null figure means the method never reached the target accuracy in its run; the *DeltaAtPlain* figures are always measured: the method minus plain at plain's final training time (or step count)",
    ],
    sectionRuns,
    ...sections,
  });
  console.log(path);
}

await main();
