// Integer inference benchmark: the zoo CNN and an MLP trained briefly on MNIST, quantized to
// int8 (and the MLP to int4) as packed layers that run on frugal's wasm SIMD integer kernels,
// against the same fp32 models on tfjs `wasm` (stock kernels) in the same run, interleaved
// rounds. Also: weight memory held by the running models, accuracy against the decoded-float
// path, and the single-stream p90 from the MLPerf-style scenario code. Each int model runs two
// ways, interleaved with fp32: layer by layer through `model.predict` (each packed layer copies
// its activations in and out of wasm memory) and as a whole-model integer plan (`integerPlan`:
// activations stay in wasm memory from the first layer to the last; the same kernels, output
// bit-identical); the headline speedups are the plan's.
// Run: npm run bench:inference  (BENCH_QUICK=1 for a smoke run)
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { integerKernelUse } from '../src/cli/commands/scenario.js';
import { renderTable } from '../src/cli/table.js';
import { setIntegerKernels } from '../src/compress/packed/int-kernel.js';
import { type IntegerPlan, integerPlan } from '../src/compress/packed/integer-plan.js';
import type { KernelCodec } from '../src/compress/packed/kernel-codec.js';
import { asKernelLayer, packedReplacement } from '../src/compress/packed/layer-kernels.js';
import { PackedLayerBase } from '../src/compress/packed/packed-layer-base.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { runScenario, scenarioSettings } from '../src/inference/loadgen.js';
import { modelSut } from '../src/inference/sut.js';
import { writeJsonAtomic } from '../src/io/atomic-write.js';
import { useFastKernels, useStockKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import { copyModel, type LayerEdit, rewriteModel } from '../src/rewrite/index.js';
import { train } from '../src/train/loop.js';

const quick = process.env.BENCH_QUICK === '1';
const TRAIN = quick ? 512 : 4000;
const TEST = quick ? 256 : 2000;
const ROUNDS = quick ? 3 : 9;
const SS_SECONDS = quick ? 1 : 8;

const codec = (bits: number): KernelCodec => ({
  bits,
  scheme: 'symmetric',
  granularity: 'channel',
  n: 0,
  m: 0,
});

async function quantized(model: tf.LayersModel, bits: number): Promise<tf.LayersModel> {
  const edits = new Map<string, LayerEdit>();
  for (const layer of model.layers) {
    const k = asKernelLayer(layer);
    if (k) edits.set(layer.name, { replace: [packedReplacement(k, codec(bits))] });
  }
  return rewriteModel(model, edits).model;
}

type Predict = (x: tf.Tensor) => tf.Tensor;
const viaModel =
  (m: tf.LayersModel): Predict =>
  (x) =>
    m.predict(x) as tf.Tensor;
const viaPlan =
  (p: IntegerPlan): Predict =>
  (x) =>
    p.predict(x);

function timeMs(predict: Predict, x: tf.Tensor, reps: number): number {
  const t = performance.now();
  for (let i = 0; i < reps; i++) {
    const y = predict(x);
    y.dataSync();
    y.dispose();
  }
  return (performance.now() - t) / reps;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/**
 * The fp32 model as a bare chain of fused tfjs ops with its weights (no Layers API around
 * them): the fp32 counterpart of the plan, so the plan's gain can be split into what the
 * integer kernels and what skipping the per-layer glue give.
 */
function fp32Ops(model: tf.LayersModel): Predict {
  const steps: ((x: tf.Tensor) => tf.Tensor)[] = [];
  for (const l of model.layers) {
    const cls = l.getClassName();
    const cfg = l.getConfig() as Record<string, never>;
    const [w, b] = l.getWeights();
    const activation = cfg.activation === 'relu' ? 'relu' : 'linear';
    if (cls === 'Conv2D') {
      steps.push((x) =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          strides: cfg.strides,
          pad: cfg.padding,
          dilations: cfg.dilationRate,
          bias: b,
          activation,
        }),
      );
    } else if (cls === 'Dense') {
      steps.push((x) =>
        tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation }),
      );
    } else if (cls === 'MaxPooling2D') {
      steps.push((x) => tf.maxPool(x as tf.Tensor4D, cfg.poolSize, cfg.strides, cfg.padding));
    } else if (cls === 'Flatten') {
      steps.push((x) => x.reshape([x.shape[0], -1]));
    } else if (cls !== 'InputLayer') throw new Error(`fp32Ops: no op for ${cls}`);
  }
  return (x) => tf.tidy(() => steps.reduce((t, f) => f(t), x));
}

/**
 * Interleaved rounds: fp32 (model.predict, then the bare op chain), the int model layer by layer, then as a whole-model plan, each round
 * `reps` predictions; medians of the round means.
 */
function compare(
  fp32: tf.LayersModel,
  comp: tf.LayersModel,
  plan: IntegerPlan,
  x: tf.Tensor,
  reps: number,
  rounds = ROUNDS,
) {
  const arms = [viaModel(fp32), fp32Ops(fp32), viaModel(comp), viaPlan(plan)];
  for (const f of arms) timeMs(f, x, 3);
  const t: number[][] = arms.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < arms.length; i++) t[i].push(timeMs(arms[i], x, reps));
  }
  const [fp32Ms, fp32OpsMs, layerwiseMs, planMs] = t.map(median);
  return {
    fp32Ms,
    fp32OpsMs,
    layerwiseMs,
    planMs,
    speedup: fp32Ms / planMs,
    layerwiseSpeedup: fp32Ms / layerwiseMs,
    speedupVsFp32Ops: fp32OpsMs / planMs,
  };
}

function accuracy(predict: Predict, xs: tf.Tensor, labels: Int32Array): number {
  const pred = tf.tidy(() => predict(xs).argMax(-1));
  const p = pred.dataSync();
  pred.dispose();
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (p[i] === labels[i]) ok++;
  return ok / labels.length;
}

async function main(): Promise<void> {
  const loadStart = loadavg()[0];
  await initEngine({ backend: 'wasm', seed: 1 });
  useFastKernels();
  const data = loadMnist({ trainCount: TRAIN, testCount: TEST, seed: 1 });
  const cnn = buildModel('cnn', { inputShape: data.sampleShape, numClasses: 10, seed: 1 });
  const mlp = buildModel('mlp', {
    inputShape: data.sampleShape,
    numClasses: 10,
    hidden: [512, 256],
    seed: 1,
  });
  for (const m of [cnn, mlp]) {
    await train(m, data, {
      epochs: 1,
      batchSize: 64,
      learningRate: 1e-3,
      seed: 1,
      measureMemory: false,
    });
  }
  // Inference timing on stock tfjs wasm kernels (frugal's fast kernels are for training).
  useStockKernels();
  const cnn8 = await quantized(cnn, 8);
  const mlp8 = await quantized(mlp, 8);
  const mlp4 = await quantized(mlp, 4);
  const testXs = tf.tensor(data.test.x, [data.test.count, ...data.sampleShape]);
  const x1 = testXs.slice(0, 1);
  const x32 = testXs.slice(0, 32);

  const [cnn8Plan, mlp8Plan, mlp4Plan] = [cnn8, mlp8, mlp4].map((m) => {
    tf.dispose(m.predict(x1) as tf.Tensor); // builds the layers' integer kernels
    return integerPlan(m);
  });
  // The MLP predicts take well under a millisecond: more rounds, so load spikes fall outside
  // the median.
  const denseRounds = quick ? ROUNDS : 3 * ROUNDS;
  const dense1 = compare(mlp, mlp8, mlp8Plan, x1, quick ? 20 : 200, denseRounds);
  const dense4 = compare(mlp, mlp4, mlp4Plan, x1, quick ? 20 : 200, denseRounds);
  const cnn1 = compare(cnn, cnn8, cnn8Plan, x1, quick ? 5 : 40);
  const cnn32 = compare(cnn, cnn8, cnn8Plan, x32, quick ? 1 : 4);

  // Weight memory while running: tfjs bytes freed by disposing a model, plus its wasm kernels.
  const held = async (make: () => Promise<tf.LayersModel>) => {
    const m = await make();
    tf.dispose(m.predict(x1) as tf.Tensor);
    let wasm = 0;
    for (const layer of m.layers)
      if (layer instanceof PackedLayerBase) wasm += layer.integerKernelBytes;
    const before = tf.memory().numBytes;
    m.dispose();
    return { tfjsBytes: before - tf.memory().numBytes, wasmBytes: wasm };
  };
  const memFp32 = await held(async () => copyModel(cnn));
  const memInt8 = await held(() => quantized(cnn, 8));
  const memInt4Mlp = await held(() => quantized(mlp, 4));
  const memFp32Mlp = await held(async () => copyModel(mlp));
  const bytes = (m: { tfjsBytes: number; wasmBytes: number }) => m.tfjsBytes + m.wasmBytes;

  const batched =
    (m: tf.LayersModel): Predict =>
    (x) =>
      m.predict(x, { batchSize: 64 }) as tf.Tensor;
  const planBatched: Predict = (x) => {
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < x.shape[0]; i += 64) {
      const xb = x.slice(i, Math.min(64, x.shape[0] - i));
      parts.push(cnn8Plan.predict(xb));
      xb.dispose();
    }
    return tf.concat(parts);
  };
  const accFp32 = accuracy(batched(cnn), testXs, data.test.y);
  const accInt8 = accuracy(batched(cnn8), testXs, data.test.y);
  const accPlan = accuracy(planBatched, testXs, data.test.y);
  setIntegerKernels({ enabled: false });
  const accDecoded = accuracy(batched(cnn8), testXs, data.test.y);
  setIntegerKernels({ enabled: true });

  const pool = {
    x: data.test.x,
    y: data.test.y,
    count: data.test.count,
    sampleShape: data.sampleShape,
    source: 'MNIST test digits',
  };
  const ss = (m: tf.LayersModel, plan?: IntegerPlan) =>
    runScenario(
      modelSut(m, pool, plan && viaPlan(plan)),
      scenarioSettings('single-stream', { minQueryCount: 1024, minDurationMs: SS_SECONDS * 1000 }),
    );
  const ssFp32 = ss(cnn);
  const ssInt8 = ss(cnn8, cnn8Plan);
  const ssFp32b = ss(cnn);
  const ssInt8b = ss(cnn8, cnn8Plan);

  const headline = {
    int8SpeedupDense: dense1.speedup,
    int8SpeedupCnn: cnn1.speedup,
    int8SpeedupCnnB32: cnn32.speedup,
    int4SpeedupDense: dense4.speedup,
    int8SpeedupCnnLayerwise: cnn1.layerwiseSpeedup,
    int8SpeedupDenseLayerwise: dense1.layerwiseSpeedup,
    int8SpeedupCnnVsFp32Ops: cnn1.speedupVsFp32Ops,
    int8SpeedupDenseVsFp32Ops: dense1.speedupVsFp32Ops,
    int8WeightMemoryRatio: bytes(memInt8) / bytes(memFp32),
    int4WeightMemoryRatioDense: bytes(memInt4Mlp) / bytes(memFp32Mlp),
    int8AccuracyDeltaPts: (accInt8 - accDecoded) * 100,
    singleStreamP90Ms: {
      int8Cnn: Math.min(ssInt8.percentileMs ?? Number.NaN, ssInt8b.percentileMs ?? Number.NaN),
      fp32Cnn: Math.min(ssFp32.percentileMs ?? Number.NaN, ssFp32b.percentileMs ?? Number.NaN),
    },
  };
  const row = (name: string, c: typeof cnn1, digits: number) => [
    name,
    c.fp32Ms.toFixed(digits),
    c.fp32OpsMs.toFixed(digits),
    c.layerwiseMs.toFixed(digits),
    c.planMs.toFixed(digits),
    c.layerwiseSpeedup.toFixed(2),
    c.speedup.toFixed(2),
  ];
  console.log(
    renderTable(
      [
        'case',
        'fp32 predict ms',
        'fp32 ops ms',
        'int layerwise ms',
        'int plan ms',
        'layerwise x',
        'plan x',
      ],
      [
        row('MLP 784-512-256-10 int8, batch 1', dense1, 3),
        row('MLP 784-512-256-10 int4, batch 1', dense4, 3),
        row('zoo CNN int8, batch 1', cnn1, 3),
        row('zoo CNN int8, batch 32', cnn32, 2),
      ],
    ),
  );
  console.log(JSON.stringify(headline, null, 2));
  writeJsonAtomic('bench/results/inference.json', {
    bench: 'inference',
    quick,
    machine: `shared 2-core CPU, Node ${process.versions.node}`,
    // The 1-minute load average at the start and the end: fp32 slows down more than the
    // integer paths on a loaded machine, so the ratios depend on it.
    loadAverage: { start: loadStart, end: loadavg()[0] },
    method:
      "Models trained 1 epoch on MNIST (wasm); int8/int4 = symmetric per-channel packed layers on the wasm SIMD integer kernels (activations int8 per row, dynamic), other layers on tfjs wasm; fp32 = the same trained model on tfjs wasm stock kernels. int models run two ways: layer by layer through model.predict, and as a whole-model integer plan (integerPlan: activations stay in wasm memory between layers; output bit-identical to layer-by-layer); headline speedups are the plan's (…Layerwise: model.predict). fp32 ops = the fp32 model as a bare chain of fused tfjs ops (no Layers API; …VsFp32Ops speedups compare the plan against it). Speedups: median over interleaved rounds (fp32 predict, fp32 ops, layerwise, plan) of mean predict+read time. Memory: tfjs bytes freed by disposing the running model plus its integer kernels in wasm memory. Accuracy delta: integer path vs decoded-float path of the same int8 model on the test digits. Single-stream p90 (int8 through the plan): early-stopping estimate, best of two interleaved runs, each >= 1024 queries and the duration below (shorter than LoadGen's 600 s, so not a valid MLPerf result).",
    headline,
    rounds: ROUNDS,
    denseRounds,
    singleStreamSeconds: SS_SECONDS,
    cases: { dense1, dense4, cnn1, cnn32 },
    memory: { fp32Cnn: memFp32, int8Cnn: memInt8, fp32Mlp: memFp32Mlp, int4Mlp: memInt4Mlp },
    accuracy: {
      fp32: accFp32,
      int8Integer: accInt8,
      int8Plan: accPlan,
      int8Decoded: accDecoded,
      testSamples: TEST,
    },
    planSteps: cnn8Plan.steps,
    planBufferBytes: { cnnBatch1: cnn8Plan.bufferBytes },
    singleStream: { fp32: [ssFp32, ssFp32b], int8: [ssInt8, ssInt8b] },
    kernels: integerKernelUse(cnn8),
  });
  console.log('wrote bench/results/inference.json');
}

await main();
