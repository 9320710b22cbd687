// Low-precision benchmark: trains the zoo CNN on MNIST (wasm + frugal's fast conv kernels), then
// in the same run compares QAT int4 / int2 (prepareQat -> QAT_STEPS fake-quant steps ->
// convertQat) against PTQ int4 / int2 + AdaQuant, all against an fp32 control trained the same
// QAT_STEPS more steps. Then (bench/lib/low-precision-training.ts): 8-bit training with Range BN
// against fp32 (a narrow zoo CNN and ResNet, SEEDS seeds, same data, seeds and schedule), Range
// BN alone against batch norm (ResNet), and an MLP whose Dense layers accumulate in 12/10/8-bit
// floats, with and without fine-tuning, against an fp32 control fine-tuned the same steps.
// Run: npm run bench:low-precision  (BENCH_QUICK=1 for a smoke run)
import * as tf from '@tensorflow/tfjs';
import { compress } from '../src/compress/compress.js';
import { accuracyOf, predictAll } from '../src/compress/metrics/output-quality.js';
import { setIntegerKernels } from '../src/compress/packed/int-kernel.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { convertQat, finetuneQat, prepareQat } from '../src/lowprec/index.js';
import { buildModel } from '../src/models/zoo.js';
import { copyModel } from '../src/rewrite/rewrite-model.js';
import { train } from '../src/train/loop.js';
import { printTable, writeResults } from './lib/index.js';
import {
  accumulatorRows,
  meanDropPts,
  type TrainingSectionOptions,
  trainingRows,
} from './lib/low-precision-training.js';

const quick = process.env.BENCH_QUICK === '1';
const TRAIN = quick ? 1024 : 4000;
const TEST = quick ? 500 : 2000;
const EPOCHS = 1;
const QAT_STEPS = quick ? 10 : 60;
const ADAQUANT_STEPS = quick ? 20 : 100;
const LR = 5e-4;
const BATCH = 64;
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
// Accumulators: 1 sign + ACC_EXPONENT + mantissa bits, one sequential sum per output (chunk 0).
const ACC = {
  hidden: [64],
  trainSteps: quick ? 10 : 60,
  finetuneSteps: quick ? 3 : 30,
  batch: BATCH,
  learningRate: LR,
  widths: [12, 10, 8],
  exponent: 5,
  chunk: 0,
  seed: 1,
  testCount: quick ? 200 : 1000,
};

async function main(): Promise<void> {
  const engine = await initEngine({ backend: 'wasm', seed: 1 });
  useFastKernels();
  // Accuracy of packed models on the decoded float path: weight quantization only, as QAT trains.
  setIntegerKernels({ enabled: false });
  const data = loadMnist({ trainCount: TRAIN, testCount: TEST, seed: 1 });
  const model = buildModel('cnn', { inputShape: data.sampleShape, numClasses: 10, seed: 1 });
  const t0 = performance.now();
  const trained = await train(model, data, {
    epochs: EPOCHS,
    batchSize: BATCH,
    learningRate: 1e-3,
    seed: 1,
    measureMemory: false,
  });
  console.log(
    `trained zoo CNN on ${TRAIN} MNIST digits (${trained.steps} steps) in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${(trained.testAccuracy * 100).toFixed(2)}%`,
  );
  const testXs = tf.tensor(data.test.x, [data.test.count, ...data.sampleShape]);
  const acc = (m: tf.LayersModel) => accuracyOf(predictAll(m, testXs), data.test.y);
  const fpAcc = acc(model);
  const ft = { steps: QAT_STEPS, batchSize: BATCH, learningRate: LR, seed: 1 };

  const rows: { variant: string; accuracy: number; seconds: number }[] = [];
  const timed = async (variant: string, f: () => Promise<tf.LayersModel>) => {
    const s0 = performance.now();
    const m = await f();
    const seconds = (performance.now() - s0) / 1000;
    const accuracy = acc(m);
    rows.push({ variant, accuracy, seconds });
    console.log(`${variant}: ${(accuracy * 100).toFixed(2)}% in ${seconds.toFixed(1)} s`);
    m.dispose();
  };
  // Interleaved: control, then for each bit width PTQ and QAT.
  await timed(`fp32 control (+${QAT_STEPS} steps)`, async () => {
    const c = copyModel(model);
    finetuneQat(c, data, ft);
    return c;
  });
  for (const bits of [4, 2]) {
    await timed(`PTQ int${bits} + AdaQuant`, async () => {
      const r = await compress(
        model,
        { version: 1, steps: [{ method: 'adaquant', options: { bits, steps: ADAQUANT_STEPS } }] },
        { data, measure: false, seed: 1 },
      );
      return r.model;
    });
    await timed(`QAT int${bits} (${QAT_STEPS} steps)`, async () => {
      const p = await prepareQat(model, { bits });
      finetuneQat(p.model, data, ft);
      const out = convertQat(p.model).model;
      p.model.dispose();
      return out;
    });
  }
  const s0 = performance.now();
  const tRows = await trainingRows(data, TRAINING);
  const trainingSeconds = (performance.now() - s0) / 1000;
  const s1 = performance.now();
  const accs = await accumulatorRows(data, ACC);
  const accSeconds = (performance.now() - s1) / 1000;
  const a = (v: string) => rows.find((r) => r.variant.startsWith(v))?.accuracy ?? Number.NaN;
  const control = a('fp32 control');
  const pts = (x: number) => (control - x) * 100;
  printTable(
    `Zoo CNN on MNIST (${engine.backend}): low-bit weights, drop vs the fp32 control`,
    ['variant', 'test accuracy %', 'drop vs control (pt)', 'seconds'],
    rows.map((r) => [
      r.variant,
      (r.accuracy * 100).toFixed(2),
      pts(r.accuracy).toFixed(2),
      r.seconds.toFixed(1),
    ]),
  );
  const int8Cnn = meanDropPts(tRows, 'cnn', 'int8 range-bn');
  const int8Resnet = meanDropPts(tRows, 'resnet', 'int8 range-bn');
  printTable(
    `8-bit training (weights, activations, layer gradients; Range BN) vs fp32, ${TRAINING.seeds.length} seeds`,
    ['model', 'variant', 'mean test accuracy %', 'mean drop vs fp32 (pt)', 'seconds'],
    (['cnn', 'resnet'] as const).flatMap((model) =>
      (['fp32', 'fp32 range-bn', 'int8 range-bn'] as const)
        .map((variant) => tRows.filter((r) => r.model === model && r.variant === variant))
        .filter((rs) => rs.length > 0)
        .map((rs) => [
          model,
          rs[0].variant,
          ((rs.reduce((x, r) => x + r.accuracy, 0) / rs.length) * 100).toFixed(2),
          meanDropPts(tRows, model, rs[0].variant).toFixed(2),
          rs.reduce((x, r) => x + r.seconds, 0).toFixed(0),
        ]),
    ),
  );
  const accDrop = (bits: number, finetuned: boolean) => {
    const r = accs.rows.find((x) => x.bits === bits && x.finetuned === finetuned);
    return r ? (accs.control - r.accuracy) * 100 : Number.NaN;
  };
  printTable(
    `MLP ${ACC.hidden.join('-')} with low-bit accumulators (E${ACC.exponent}, sequential sums) vs fp32 control ${(accs.control * 100).toFixed(2)}%`,
    ['accumulator', 'fine-tuned', 'test accuracy %', 'drop (pt)', 'seconds'],
    accs.rows.map((r) => [
      `${r.bits}-bit (M${r.format.mantissa}E${r.format.exponent})`,
      r.finetuned ? `${ACC.finetuneSteps} steps` : 'no',
      (r.accuracy * 100).toFixed(2),
      ((accs.control - r.accuracy) * 100).toFixed(2),
      r.seconds.toFixed(1),
    ]),
  );
  const results = {
    headline: {
      controlAccuracy: control,
      qatInt4DropPts: pts(a('QAT int4')),
      qatInt2DropPts: pts(a('QAT int2')),
      ptqInt4AdaquantDropPts: pts(a('PTQ int4')),
      ptqInt2AdaquantDropPts: pts(a('PTQ int2')),
      int8TrainDropPts: Math.max(int8Cnn, int8Resnet),
      int8TrainCnnDropPts: int8Cnn,
      int8TrainResnetDropPts: int8Resnet,
      rangeBnDropPts: meanDropPts(tRows, 'resnet', 'fp32 range-bn'),
      acc12DropPts: accDrop(12, true),
      acc12NoFinetuneDropPts: accDrop(12, false),
      acc10DropPts: accDrop(10, true),
      acc10NoFinetuneDropPts: accDrop(10, false),
      acc8DropPts: accDrop(8, true),
      acc8NoFinetuneDropPts: accDrop(8, false),
      accControlAccuracy: accs.control,
    },
    headlineNotes: {
      int8TrainDropPts:
        'the larger of the CNN and ResNet mean drops (over seeds) of 8-bit training with Range BN vs fp32 with batch norm',
      rangeBnDropPts: 'ResNet, Range BN in float32 vs batch norm, mean over seeds',
      acc12DropPts: `MLP, Dense layers accumulated in 12-bit floats (M${12 - 1 - ACC.exponent}E${ACC.exponent}) after ${ACC.finetuneSteps} fine-tune steps (STE) vs the fp32 model fine-tuned the same steps`,
    },
    backend: engine.backend,
    quick,
    model: 'zoo cnn (conv32-conv64-pool-dense128-dense10), batch-norm free (nothing to fold)',
    data: { name: 'mnist', train: TRAIN, test: TEST },
    training: { epochs: EPOCHS, steps: trained.steps, batchSize: BATCH, fp32Accuracy: fpAcc },
    qat: {
      steps: QAT_STEPS,
      learningRate: LR,
      batchSize: BATCH,
      weights: 'per-channel symmetric, STE; activations float',
    },
    ptq: { adaquantStepsPerLayer: ADAQUANT_STEPS },
    evaluation: 'packed models on the decoded float path (integer kernels off)',
    rows,
    int8Training: {
      ...TRAINING,
      simulated:
        'float32 tfjs ops on values that lie on the 8-bit grids (affine per-tensor weights and inputs; layer gradients stochastically rounded to 8 bits for the input-gradient product, float32 for the weight gradient)',
      seconds: trainingSeconds,
      rows: tRows,
    },
    accumulators: { ...ACC, control: accs.control, seconds: accSeconds, rows: accs.rows },
  };
  console.log(`wrote ${writeResults('low-precision', results)}`);
  testXs.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
