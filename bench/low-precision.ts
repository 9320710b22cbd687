// Low-precision benchmark: trains the zoo CNN on MNIST (wasm + frugal's fast conv kernels), then
// in the same run compares QAT int4 / int2 (prepareQat -> QAT_STEPS fake-quant steps ->
// convertQat) against PTQ int4 / int2 + AdaQuant, all against an fp32 control trained the same
// QAT_STEPS more steps. Run: npm run bench:low-precision  (BENCH_QUICK=1 for a smoke run)
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

const quick = process.env.BENCH_QUICK === '1';
const TRAIN = quick ? 1024 : 4000;
const TEST = quick ? 500 : 2000;
const EPOCHS = 1;
const QAT_STEPS = quick ? 10 : 60;
const ADAQUANT_STEPS = quick ? 20 : 100;
const LR = 5e-4;
const BATCH = 64;

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
  const results = {
    headline: {
      controlAccuracy: control,
      qatInt4DropPts: pts(a('QAT int4')),
      qatInt2DropPts: pts(a('QAT int2')),
      ptqInt4AdaquantDropPts: pts(a('PTQ int4')),
      ptqInt2AdaquantDropPts: pts(a('PTQ int2')),
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
  };
  console.log(`wrote ${writeResults('low-precision', results)}`);
  testXs.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
