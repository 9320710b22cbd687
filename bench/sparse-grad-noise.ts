// `npx tsx bench/sparse-grad-noise.ts`: how much gradient variance the MVUE 1:2 and 2:4 masks add
// per layer, relative to the minibatch noise, on the sparse-grad bench's ResNet and CNN (issue 13:
// why MVUE 1:2 costs the ResNet more than the CNN). For each model (seed 0, the bench's
// architecture and data) at two points of a dense training run (step 0 and half the bench's
// schedule, through frugal's training loop at the bench's learning rate), on NOISE_BATCHES batches
// of 64: the dense minibatch gradient g_B of each kernel; the minibatch noise tr Cov(g_B) (over the
// batches); and, for each mask, E||g_B^pruned - g_B||^2 over NOISE_DRAWS draws per batch (the
// input gradients stay dense, so this is each layer's own pruning variance; for MVUE 1:2 it is
// the closed form of src/sparse/grad-noise.ts, which test/sparse/grad-noise.test.ts checks).
// Figures per layer: prune / minibatch variance (summed over the kernel's entries) and the median
// over entries of the per-entry ratio (what Adam's per-entry scaling sees).
import * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildCnn } from '../src/models/cnn.js';
import { buildResnet } from '../src/models/resnet.js';
import { sparseGradModel } from '../src/sparse/convert.js';
import type { GradSparsity } from '../src/sparse/mvue.js';
import { train } from '../src/train/loop.js';
import { envNumber } from './lib/args.js';
import { writeResults } from './lib/results.js';
import { SPARSE_CNN } from './lib/sparse-cnn.js';
import {
  pooled2x2,
  RESNET_BN_MOMENTUM,
  RESNET_WIDTHS,
  resnetSchedule,
} from './lib/sparse-resnet.js';
import { weightGrads } from './lib/weight-grads.js';

const BATCHES = envNumber('NOISE_BATCHES', 10);
const DRAWS = envNumber('NOISE_DRAWS', 2);
const BATCH = 64;
const MASKS: [string, GradSparsity][] = [
  ['mvue 1:2', { n: 1, m: 2, kind: 'mvue' }],
  ['mvue 2:4', { n: 2, m: 4, kind: 'mvue' }],
];

const engine = await initEngine({ backend: 'wasm', seed: 0 });
// The wasm backend's conv filter gradient is frugal's kernel (as in bench/sparse-grad.ts).
useFastKernels();

type Grads = Map<string, Float32Array>;
/** The kernel gradients, keyed by layer name. */
function kernelGrads(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): Grads {
  const grads = weightGrads(model, x, y, (w) => w.originalName.endsWith('kernel'));
  return new Map([...grads].map(([name, g]) => [name.replace(/\/kernel$/, ''), g]));
}

function batchOf(data: ClassificationData, b: number): { x: tf.Tensor; y: tf.Tensor } {
  const per = data.sampleShape.reduce((p, q) => p * q, 1);
  const start = b * BATCH;
  const x = tf.tensor(data.train.x.subarray(start * per, (start + BATCH) * per), [
    BATCH,
    ...data.sampleShape,
  ]);
  const y = tf.oneHot(
    tf.tensor1d(data.train.y.subarray(start, start + BATCH), 'int32'),
    data.numClasses,
  );
  return { x, y };
}

interface LayerNoise {
  layer: string;
  entries: number;
  /** ||mean_B g_B||^2 less its noise share: the squared full gradient, estimated. */
  signal: number;
  minibatchVar: number;
  pruneVar: Record<string, number>;
  /** prune / minibatch variance, summed over entries. */
  ratio: Record<string, number>;
  /** Median over entries of the per-entry prune / minibatch variance. */
  entryRatio: Record<string, number>;
}

async function measure(
  model: tf.LayersModel,
  data: ClassificationData,
  seed: number,
): Promise<LayerNoise[]> {
  const batches = Array.from({ length: BATCHES }, (_, b) => batchOf(data, b));
  const dense = batches.map(({ x, y }) => kernelGrads(model, x, y));
  const names = [...dense[0].keys()];
  const prune: Record<string, Map<string, Float64Array>> = {};
  for (const [mask, spec] of MASKS) {
    const { model: sp } = sparseGradModel(model, spec, { seed: seed * 1000 + 17 });
    const acc = new Map(names.map((n) => [n, new Float64Array(dense[0].get(n)?.length ?? 0)]));
    batches.forEach(({ x, y }, b) => {
      for (let d = 0; d < DRAWS; d++)
        for (const [n, g] of kernelGrads(sp, x, y)) {
          const ref = dense[b].get(n) as Float32Array;
          const a = acc.get(n) as Float64Array;
          for (let i = 0; i < g.length; i++) a[i] += (g[i] - ref[i]) ** 2 / (DRAWS * BATCHES);
        }
    });
    sp.dispose();
    prune[mask] = acc;
  }
  for (const { x, y } of batches) tf.dispose([x, y]);
  return names.map((layer) => {
    const len = (dense[0].get(layer) as Float32Array).length;
    const mean = new Float64Array(len);
    for (const g of dense) {
      const v = g.get(layer) as Float32Array;
      for (let i = 0; i < len; i++) mean[i] += v[i] / BATCHES;
    }
    const mbVar = new Float64Array(len);
    for (const g of dense) {
      const v = g.get(layer) as Float32Array;
      for (let i = 0; i < len; i++) mbVar[i] += (v[i] - mean[i]) ** 2 / (BATCHES - 1);
    }
    const mb = mbVar.reduce((s, v) => s + v, 0);
    const signal = mean.reduce((s, v) => s + v * v, 0) - mb / BATCHES;
    const pruneVar: Record<string, number> = {};
    const ratio: Record<string, number> = {};
    const entryRatio: Record<string, number> = {};
    for (const [mask] of MASKS) {
      const p = prune[mask].get(layer) as Float64Array;
      pruneVar[mask] = p.reduce((s, v) => s + v, 0);
      ratio[mask] = pruneVar[mask] / mb;
      const per = Array.from(p, (v, i) => v / Math.max(mbVar[i], 1e-30)).sort((q, r) => q - r);
      entryRatio[mask] = per[Math.floor(per.length / 2)];
    }
    return { layer, entries: len, signal, minibatchVar: mb, pruneVar, ratio, entryRatio };
  });
}

function total(rows: LayerNoise[], mask: string): number {
  return (
    rows.reduce((s, r) => s + r.pruneVar[mask], 0) / rows.reduce((s, r) => s + r.minibatchVar, 0)
  );
}

const rs = resnetSchedule();
const resnetData = pooled2x2(
  loadMnist({ trainCount: rs.train, testCount: 500, seed: 1, layout: 'image' }),
);
const cnnData = loadMnist({ trainCount: 5120, testCount: 500, seed: 1, layout: 'image' });
const setups = [
  {
    name: 'resnet',
    data: resnetData,
    steps: Math.floor((rs.epochs * Math.floor(rs.train / BATCH)) / 2),
    learningRate: rs.learningRate,
    build: () =>
      buildResnet({
        inputShape: resnetData.sampleShape,
        numClasses: resnetData.numClasses,
        widths: RESNET_WIDTHS,
        batchNormMomentum: RESNET_BN_MOMENTUM,
        seed: 0,
      }),
  },
  {
    name: 'cnn',
    data: cnnData,
    steps: Math.floor(5120 / BATCH / 2),
    learningRate: undefined,
    build: () =>
      buildCnn({
        inputShape: cnnData.sampleShape,
        numClasses: cnnData.numClasses,
        ...SPARSE_CNN,
        seed: 0,
      }),
  },
];

const t0 = performance.now();
const out: Record<string, { step: number; layers: LayerNoise[]; total: Record<string, number> }[]> =
  {};
for (const s of setups) {
  const model = s.build();
  out[s.name] = [];
  for (const step of [0, s.steps]) {
    if (step > 0)
      await train(model, s.data, {
        epochs: 1,
        batchSize: BATCH,
        seed: 0,
        maxStepsPerEpoch: step,
        ...(s.learningRate ? { learningRate: s.learningRate } : {}),
        measureMemory: false,
      });
    const layers = await measure(model, s.data, 0);
    const tot = Object.fromEntries(MASKS.map(([m]) => [m, total(layers, m)]));
    out[s.name].push({ step, layers, total: tot });
    for (const l of layers)
      console.log(
        `${s.name} step ${step} ${l.layer}: minibatch ${l.minibatchVar.toExponential(2)}, signal ${l.signal.toExponential(2)}, ${MASKS.map(([m]) => `${m} ${l.ratio[m].toFixed(2)}x (entry median ${l.entryRatio[m].toFixed(2)}x)`).join(', ')}`,
      );
    console.log(
      `${s.name} step ${step} all kernels: ${MASKS.map(([m]) => `${m} ${tot[m].toFixed(2)}x`).join(', ')}`,
    );
  }
  model.dispose();
}

const at = (name: string, i: number, mask: string) => out[name][i].total[mask];
const path = writeResults('sparse-grad-noise', {
  headline: {
    resnetMvue12NoiseRatio: at('resnet', 1, 'mvue 1:2'),
    resnetMvue24NoiseRatio: at('resnet', 1, 'mvue 2:4'),
    cnnMvue12NoiseRatio: at('cnn', 1, 'mvue 1:2'),
    cnnMvue24NoiseRatio: at('cnn', 1, 'mvue 2:4'),
    resnetMvue12NoiseRatioInit: at('resnet', 0, 'mvue 1:2'),
    resnetMvue24NoiseRatioInit: at('resnet', 0, 'mvue 2:4'),
    cnnMvue12NoiseRatioInit: at('cnn', 0, 'mvue 1:2'),
    cnnMvue24NoiseRatioInit: at('cnn', 0, 'mvue 2:4'),
    method: `pruning variance E||g_B^pruned - g_B||^2 over the minibatch noise tr Cov(g_B), all kernels summed, batch ${BATCH}, ${BATCHES} batches x ${DRAWS} draws, seed 0, after half the bench schedule of dense training (…Init: at step 0)`,
  },
  backend: engine.backend,
  batches: BATCHES,
  draws: DRAWS,
  results: out,
  seconds: (performance.now() - t0) / 1000,
});
console.log(`wrote ${path}`);
