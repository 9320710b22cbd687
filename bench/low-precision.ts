// Low-precision benchmark (wasm + frugal's fast conv kernels), three parts:
// - qat (bench/lib/low-precision-qat.ts): per seed, the zoo CNN trained in fp32, then in the same
//   run an fp32 control trained QAT_STEPS more steps, PTQ int4 / int2 + AdaQuant, and QAT
//   (prepareQat -> QAT_STEPS fake-quant steps -> convertQat): int4 and int2 weights, and int4
//   weights with int4 activations (EMA ranges, LSQ steps). Drops are per seed against that
//   seed's control, then averaged.
// - training (bench/lib/low-precision-training.ts): 8-bit training with Range BN against fp32 (a
//   narrow zoo CNN and ResNet, SEEDS seeds, same data, seeds and schedule), Range BN alone
//   against batch norm (ResNet).
// - acc: an MLP whose Dense layers accumulate in 12/10/8-bit floats (sequential sums, and chunked
//   sums with the chunk sums in the same format or in float32), with and without fine-tuning,
//   against an fp32 control fine-tuned the same steps.
// Run: npm run bench:low-precision  (BENCH_QUICK=1 for a smoke run)
//      npm run bench:low-precision -- --only qat|training|acc  (one part: updates its headline
//      figures and section in bench/results/low-precision.json, keeping the rest)
import { readFileSync } from 'node:fs';
import { setIntegerKernels } from '../src/compress/packed/int-kernel.js';
import type { ClassificationData } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { printTable, RESULTS_DIR, writeResults } from './lib/index.js';
import { meanQatDrop, type QatSectionOptions, qatRows } from './lib/low-precision-qat.js';
import {
  type AccumulatorSectionOptions,
  accumulatorRows,
  meanDropPts,
  type TrainingSectionOptions,
  trainingRows,
} from './lib/low-precision-training.js';

const quick = process.env.BENCH_QUICK === '1';
const TRAIN = quick ? 1024 : 4000;
const TEST = quick ? 500 : 2000;
const BATCH = 64;
const LR = 5e-4;
const QAT: QatSectionOptions = {
  seeds: quick ? [1] : [1, 2, 3],
  qatSteps: quick ? 10 : 60,
  adaquantSteps: quick ? 20 : 100,
  learningRate: LR,
  batch: BATCH,
  variants: [
    { variant: 'fp32 control', kind: 'control' },
    { variant: 'PTQ int4 + AdaQuant', kind: 'ptq', bits: 4 },
    { variant: 'QAT int4', kind: 'qat', bits: 4 },
    { variant: 'PTQ int2 + AdaQuant', kind: 'ptq', bits: 2 },
    { variant: 'QAT int2', kind: 'qat', bits: 2 },
    { variant: 'QAT W4A4 EMA', kind: 'qat', bits: 4, activations: { bits: 4, range: 'ema' } },
    { variant: 'QAT W4A4 LSQ', kind: 'qat', bits: 4, activations: { bits: 4, range: 'lsq' } },
  ],
};
// 8-bit training: narrow models so that 3 seeds x 5 runs fit the bench's time here.
const TRAINING: TrainingSectionOptions = {
  seeds: quick ? [1] : [1, 2, 3],
  cnnSteps: quick ? 4 : 60,
  resnetSteps: quick ? 4 : 0,
  resnetEpochs: quick ? 1 : 5,
  resnetPool: true,
  batch: BATCH,
  learningRate: { cnn: 2e-3, resnet: 1e-2 },
  cnn: { filters: [8, 16], dense: 64 },
  resnetWidths: [8, 16],
  bnMomentum: 0.5,
};
// Accumulators: 1 sign + ACC.exponent + mantissa bits.
const FP32 = { mantissa: 23, exponent: 8 };
const ACC: AccumulatorSectionOptions = {
  hidden: [64],
  trainSteps: quick ? 10 : 60,
  finetuneSteps: quick ? 3 : 30,
  batch: BATCH,
  learningRate: LR,
  variants: [
    { bits: 12, chunk: 0, outer: null },
    { bits: 10, chunk: 0, outer: null },
    { bits: 8, chunk: 0, outer: null },
    { bits: 8, chunk: 16, outer: null },
    { bits: 8, chunk: 16, outer: FP32 },
    { bits: 8, chunk: 4, outer: FP32 },
    { bits: 10, chunk: 16, outer: FP32 },
  ],
  exponent: 5,
  seed: 1,
  testCount: quick ? 200 : 1000,
};

const pct = (x: number) => (x * 100).toFixed(2);

/** `--seeds 2,3`: the QAT seeds of this run (merged by seed into the JSON's qat section). */
function qatSeeds(): number[] {
  const at = process.argv.indexOf('--seeds');
  if (at < 0) return QAT.seeds;
  const seeds = String(process.argv[at + 1])
    .split(',')
    .map(Number);
  if (seeds.some((x) => !Number.isInteger(x) || x < 1))
    throw new Error(`--seeds takes positive integers like 1,2, got '${process.argv[at + 1]}'`);
  return seeds;
}

async function qatPart(data: ClassificationData) {
  const t0 = performance.now();
  const seeds = qatSeeds();
  const { rows, bases: b } = await qatRows(data, { ...QAT, seeds });
  const bases = b.map((x) => ({ ...x, runDate: new Date().toISOString() }));
  const variants = QAT.variants.map((v) => v.variant);
  printTable(
    `Zoo CNN on MNIST: low-bit weights (and activations), drop vs the same seed's fp32 control, seeds ${seeds.join(', ')}`,
    ['variant', 'mean test accuracy %', 'mean drop (pt)', 'drop per seed (pt)'],
    variants.map((v) => {
      const rs = rows.filter((r) => r.variant === v);
      return [
        v,
        pct(rs.reduce((s, r) => s + r.accuracy, 0) / rs.length),
        meanQatDrop(rows, v).toFixed(2),
        rs.map((r) => r.dropPts.toFixed(2)).join(' / '),
      ];
    }),
  );
  return {
    ...QAT,
    seeds,
    model: 'zoo cnn (conv32-conv64-pool-dense128-dense10), batch-norm free (nothing to fold)',
    weights: 'per-channel symmetric, STE',
    activations:
      'W4A4 rows: per-tensor affine fake-quant of every prepared layer input (EMA momentum 0.9 / LSQ learned step), kept by convertQat',
    evaluation:
      'converted (packed) models on the decoded float path (integer kernels off); fp32 base trained 1 epoch per seed, lr 1e-3',
    bases,
    rows,
    seconds: (performance.now() - t0) / 1000,
  };
}

function qatHeadline(r: Awaited<ReturnType<typeof qatPart>>) {
  const control = r.rows.filter((x) => x.variant === 'fp32 control');
  const worst = (v: string) =>
    Math.max(...r.rows.filter((x) => x.variant === v).map((x) => x.dropPts));
  return {
    controlAccuracy: control.reduce((s, x) => s + x.accuracy, 0) / control.length,
    qatInt4DropPts: meanQatDrop(r.rows, 'QAT int4'),
    qatInt2DropPts: meanQatDrop(r.rows, 'QAT int2'),
    qatInt4DropPtsWorstSeed: worst('QAT int4'),
    qatInt2DropPtsWorstSeed: worst('QAT int2'),
    ptqInt4AdaquantDropPts: meanQatDrop(r.rows, 'PTQ int4 + AdaQuant'),
    ptqInt2AdaquantDropPts: meanQatDrop(r.rows, 'PTQ int2 + AdaQuant'),
    qatW4A4EmaDropPts: meanQatDrop(r.rows, 'QAT W4A4 EMA'),
    qatW4A4LsqDropPts: meanQatDrop(r.rows, 'QAT W4A4 LSQ'),
    qatSeeds: r.seeds.length,
  };
}

async function trainingPart(data: ClassificationData) {
  const t0 = performance.now();
  const rows = await trainingRows(data, TRAINING);
  printTable(
    `8-bit training (weights, activations, layer gradients; Range BN) vs fp32, ${TRAINING.seeds.length} seeds`,
    ['model', 'variant', 'mean test accuracy %', 'mean drop vs fp32 (pt)', 'seconds'],
    (['cnn', 'resnet'] as const).flatMap((model) =>
      (['fp32', 'fp32 range-bn', 'int8 range-bn'] as const)
        .map((variant) => rows.filter((r) => r.model === model && r.variant === variant))
        .filter((rs) => rs.length > 0)
        .map((rs) => [
          model,
          rs[0].variant,
          pct(rs.reduce((x, r) => x + r.accuracy, 0) / rs.length),
          meanDropPts(rows, model, rs[0].variant).toFixed(2),
          rs.reduce((x, r) => x + r.seconds, 0).toFixed(0),
        ]),
    ),
  );
  return {
    ...TRAINING,
    simulated:
      'float32 tfjs ops on values that lie on the 8-bit grids (affine per-tensor weights and inputs; layer gradients stochastically rounded to 8 bits for the input-gradient product, float32 for the weight gradient)',
    seconds: (performance.now() - t0) / 1000,
    rows,
  };
}

function trainingHeadline(r: Awaited<ReturnType<typeof trainingPart>>) {
  const cnn = meanDropPts(r.rows, 'cnn', 'int8 range-bn');
  const resnet = meanDropPts(r.rows, 'resnet', 'int8 range-bn');
  return {
    int8TrainDropPts: Math.max(cnn, resnet),
    int8TrainCnnDropPts: cnn,
    int8TrainResnetDropPts: resnet,
    rangeBnDropPts: meanDropPts(r.rows, 'resnet', 'fp32 range-bn'),
  };
}

async function accPart(data: ClassificationData) {
  const t0 = performance.now();
  const accs = await accumulatorRows(data, ACC);
  printTable(
    `MLP ${ACC.hidden.join('-')} with low-bit accumulators (E${ACC.exponent}) vs fp32 ${pct(accs.controlNoFinetune)}% (not fine-tuned) / ${pct(accs.control)}% (fine-tuned)`,
    ['accumulator', 'chunk', 'chunk sums in', 'fine-tuned', 'test accuracy %', 'drop (pt)'],
    accs.rows.map((r) => [
      `${r.bits}-bit (M${r.format.mantissa}E${r.format.exponent})`,
      r.chunk ? String(r.chunk) : 'sequential',
      r.chunk ? (r.outer ? `M${r.outer.mantissa}E${r.outer.exponent}` : 'same format') : '-',
      r.finetuned ? `${ACC.finetuneSteps} steps` : 'no',
      pct(r.accuracy),
      (((r.finetuned ? accs.control : accs.controlNoFinetune) - r.accuracy) * 100).toFixed(2),
    ]),
  );
  return {
    ...ACC,
    control: accs.control,
    controlNoFinetune: accs.controlNoFinetune,
    seconds: (performance.now() - t0) / 1000,
    rows: accs.rows,
  };
}

function accHeadline(r: Awaited<ReturnType<typeof accPart>>) {
  const drop = (bits: number, finetuned: boolean, chunk = 0, outer = false) => {
    const x = r.rows.find(
      (a) =>
        a.bits === bits && a.finetuned === finetuned && a.chunk === chunk && !!a.outer === outer,
    );
    return x ? ((finetuned ? r.control : r.controlNoFinetune) - x.accuracy) * 100 : Number.NaN;
  };
  return {
    acc12DropPts: drop(12, true),
    acc12NoFinetuneDropPts: drop(12, false),
    acc10DropPts: drop(10, true),
    acc10NoFinetuneDropPts: drop(10, false),
    acc8DropPts: drop(8, true),
    acc8NoFinetuneDropPts: drop(8, false),
    acc8Chunk16DropPts: drop(8, true, 16),
    acc8Chunk16NoFinetuneDropPts: drop(8, false, 16),
    acc8Chunk16Fp32OuterDropPts: drop(8, true, 16, true),
    acc8Chunk16Fp32OuterNoFinetuneDropPts: drop(8, false, 16, true),
    acc8Chunk4Fp32OuterDropPts: drop(8, true, 4, true),
    acc8Chunk4Fp32OuterNoFinetuneDropPts: drop(8, false, 4, true),
    accControlAccuracy: r.control,
    accControlNoFinetuneAccuracy: r.controlNoFinetune,
  };
}

const NOTES = {
  qatInt4DropPts:
    'mean over seeds of (fp32 control - converted QAT int4 model) accuracy, each seed its own control trained the same extra steps; per-seed rows in qat.rows',
  int8TrainDropPts:
    'the larger of the CNN and ResNet mean drops (over seeds) of 8-bit training with Range BN vs fp32 with batch norm',
  rangeBnDropPts: 'ResNet, Range BN in float32 vs batch norm, mean over seeds',
  acc12DropPts: `MLP, Dense layers accumulated in 12-bit floats (M6E${ACC.exponent}, one sequential sum) after ${ACC.finetuneSteps} fine-tune steps (STE) vs the fp32 model fine-tuned the same steps`,
  acc12NoFinetuneDropPts:
    'the *NoFinetune accumulator drops are against the fp32 MLP as trained (accControlNoFinetuneAccuracy); the fine-tuned ones against the fp32 MLP fine-tuned the same steps (accControlAccuracy)',
  acc8Chunk16Fp32OuterDropPts:
    'MLP, 8-bit (M2E5) sums within chunks of 16 products, chunk sums accumulated in float32, after fine-tuning',
};

const PARTS = {
  qat: { section: 'qat', run: qatPart, headline: qatHeadline },
  training: { section: 'int8Training', run: trainingPart, headline: trainingHeadline },
  acc: { section: 'accumulators', run: accPart, headline: accHeadline },
} as const;
type PartName = keyof typeof PARTS;

async function setup() {
  const engine = await initEngine({ backend: 'wasm', seed: 1 });
  useFastKernels();
  // Accuracy of packed models on the decoded float path: the quantization QAT trains for.
  setIntegerKernels({ enabled: false });
  const data = loadMnist({ trainCount: TRAIN, testCount: TEST, seed: 1 });
  return { engine, data };
}

type QatSection = Awaited<ReturnType<typeof qatPart>>;

/**
 * The qat section with this run's seeds replacing the same seeds of an earlier per-seed run of
 * the same protocol (steps, variants); each seed's rows come from one run (its control included).
 */
function mergeQatSeeds(prev: QatSection | undefined, r: QatSection): QatSection {
  const same =
    prev?.rows?.[0]?.seed !== undefined &&
    prev.qatSteps === r.qatSteps &&
    prev.adaquantSteps === r.adaquantSteps &&
    JSON.stringify(prev.variants) === JSON.stringify(r.variants);
  if (!prev || !same) return r;
  const mine = new Set(r.seeds);
  const seeds = [...new Set([...prev.seeds, ...r.seeds])].sort((a, b) => a - b);
  const bySeed = <T extends { seed: number }>(a: T[], b: T[]) =>
    [...a.filter((x) => !mine.has(x.seed)), ...b].sort((x, y) => x.seed - y.seed);
  return {
    ...r,
    seeds,
    rows: bySeed(prev.rows, r.rows),
    bases: bySeed(prev.bases, r.bases),
    seconds: prev.seconds + r.seconds,
  };
}

async function main(only: PartName | undefined): Promise<void> {
  const { engine, data } = await setup();
  const common = {
    backend: engine.backend,
    quick,
    data: { name: 'mnist', train: TRAIN, test: TEST },
  };
  if (!only) {
    const qat = await qatPart(data);
    const int8Training = await trainingPart(data);
    const accumulators = await accPart(data);
    const path = writeResults('low-precision', {
      headline: {
        ...qatHeadline(qat),
        ...trainingHeadline(int8Training),
        ...accHeadline(accumulators),
      },
      headlineNotes: NOTES,
      ...common,
      qat,
      int8Training,
      accumulators,
    });
    console.log(`wrote ${path}`);
    return;
  }
  const part = PARTS[only];
  let r = await part.run(data);
  // read after the run, so that parts run side by side do not undo each other
  const prev = JSON.parse(readFileSync(`${RESULTS_DIR}/low-precision.json`, 'utf8'));
  if (only === 'qat') r = mergeQatSeeds(prev.qat, r as Awaited<ReturnType<typeof qatPart>>);
  const { bench: _b, date, ...rest } = prev;
  // sections of the layout before per-seed QAT (replaced by the qat part)
  if (only === 'qat')
    for (const k of ['rows', 'training', 'ptq', 'model', 'evaluation']) delete rest[k];
  const partRuns = {
    ...(prev.partRuns ?? {}),
    [only]: { date: new Date().toISOString(), backend: engine.backend, quick },
  };
  const path = writeResults('low-precision', {
    ...rest,
    ...common,
    headline: { ...prev.headline, ...(part.headline as (x: typeof r) => object)(r) },
    headlineNotes: { ...(prev.headlineNotes ?? {}), ...NOTES },
    fullRunDate: prev.fullRunDate ?? date,
    partRuns,
    partRunsNote: `the headline figures and sections of the parts in partRuns were measured by later --only runs (dates there); the other figures come from the full run of ${prev.fullRunDate ?? date}`,
    [part.section]: r,
  });
  console.log(`wrote ${path}`);
}

const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
if (onlyAt >= 0 && !(String(only) in PARTS))
  throw new Error(`--only takes one of ${Object.keys(PARTS).join(', ')}, got '${only}'`);
main(only as PartName | undefined).catch((e) => {
  console.error(e);
  process.exit(1);
});
