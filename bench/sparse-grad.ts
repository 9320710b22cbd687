// Sparse backward passes: bias of the N:M-masked weight gradient against the dense one (mean over
// many draws, two draw counts: it must shrink like 1/sqrt(draws) for an unbiased mask and stay
// put for the magnitude mask), and a short MNIST MLP training with masked weight gradients
// against dense gradients, the methods interleaved epoch by epoch (one seed), the same comparison
// on a small CNN through frugal's training loop over 3 seeds (bench/lib/sparse-cnn.ts), and the
// N:M-compressed product against the dense one on the cpu and wasm backends.
// Run: npm run bench:sparse-grad   (writes bench/results/sparse-grad.json). wasm backend with
// frugal's kernels (its conv filter gradient), except the cpu half of the kernel comparison.
// Sizes: SPARSE_BENCH_EPOCHS (3), SPARSE_BENCH_TRAIN (8000), SPARSE_BENCH_TEST (2000),
// SPARSE_BENCH_SEED (0); CNN: SPARSE_BENCH_CNN_TRAIN (5120), SPARSE_BENCH_CNN_EPOCHS (1),
// SPARSE_BENCH_CNN_SEEDS (3).
// The headline's transposable24* and stochPrune* figures come from the paired parts
// (bench/lib/sparse-parts.ts: dense against one method, 5 seeds, SPARSE_BENCH_PAIRED_*; their
// dense runs on the CNN's seeds are the CNN section's); `npm run bench:sparse-grad -- --only
// transposable` (or `stochastic`) reruns one of them alone and updates its figures in the JSON.
// Not in the default run (the issue does not name their figures; the full run keeps their last
// figures, see carriedParts): `--only transposableLong` / `stochasticLong` (the paired
// comparison over 2 epochs, 160 steps; *Long* figures), `--only transposableConfirm` (the
// pre-registered confirmatory run of transposableLong on seeds 20-29), `--only resnet`
// (bench/lib/sparse-resnet.ts: the MVUE/magnitude comparison on a small ResNet, resnet* figures)
// and `--only transposableVariants`
// (bench/lib/sparse-variants.ts: fixed, recomputed, SR-STE and fine-tuned transposable 2:4 on the
// 3-seed CNN; SPARSE_BENCH_TRANSPOSABLE_EVERY (16), SPARSE_BENCH_TRANSPOSABLE_PRETRAIN (60),
// SPARSE_BENCH_SRSTE_DECAY (0.02)). With `--seeds 0,5-9` a paired part runs those seeds and
// merges them with the seeds already in its section (bench/lib/sparse-merge.ts: a seed both
// hold must reproduce exactly).
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { makeRng, normal, permutation } from '../src/engine/random.js';
import { useFastKernels, useStockKernels } from '../src/kernels/index.js';
import type { GradPrune, PruneStats } from '../src/sparse/grad-prune.js';
import { type GradSparsity, maskAlongAxis } from '../src/sparse/mvue.js';
import { compressNM, denseMatMulJs, nmMatMul } from '../src/sparse/nm-kernel.js';
import { sparseGradMatMul } from '../src/sparse/sparse-grad-dense.js';
import { maskDiversity } from '../src/sparse/transposable-train.js';
import { envNumber } from './lib/args.js';
import { writeResults } from './lib/results.js';
import { type CnnMethod, runCnnComparison, SPARSE_CNN, summarizeCnn } from './lib/sparse-cnn.js';
import { parseSeedList } from './lib/sparse-merge.js';
import {
  carriedParts,
  onlyPart,
  PARTS,
  partHeadline,
  previousResults,
  sparseNotes,
} from './lib/sparse-only.js';
import type { PartResult } from './lib/sparse-parts.js';

const EPOCHS = envNumber('SPARSE_BENCH_EPOCHS', 3);
const TRAIN = envNumber('SPARSE_BENCH_TRAIN', 8000);
const TEST = envNumber('SPARSE_BENCH_TEST', 2000);
const SEED = envNumber('SPARSE_BENCH_SEED', 0);
const BATCH = 64;
const CNN_TRAIN = envNumber('SPARSE_BENCH_CNN_TRAIN', 5120);
const CNN_EPOCHS = envNumber('SPARSE_BENCH_CNN_EPOCHS', 1);
const CNN_SEEDS = envNumber('SPARSE_BENCH_CNN_SEEDS', 3);
const TRANSPOSABLE_EVERY = envNumber('SPARSE_BENCH_TRANSPOSABLE_EVERY', 16);
// Fine-tuning: dense for this many steps, then masks from the trained weights for the rest.
const TRANSPOSABLE_PRETRAIN = envNumber('SPARSE_BENCH_TRANSPOSABLE_PRETRAIN', 60);
// SR-STE: decay of the pruned dense weights; gradual: steps over which pruned weights fade out.
// Chosen on seeds 10 and 11 (not the bench's seeds 0-2) among decays 2e-4..0.2, recompute
// intervals 1/4/16 and ramps 0/40/60: the 80-step run is noisy (1 point = 20 test digits).
const SRSTE_DECAY = envNumber('SPARSE_BENCH_SRSTE_DECAY', 0.02);
const started = performance.now();
const engine = await initEngine({ backend: 'wasm', seed: SEED });
useFastKernels();
// `-- --only transposable|stochastic`: one paired part (bench/lib/sparse-only.ts), then stop.
const onlyAt = process.argv.indexOf('--only');
if (onlyAt >= 0) {
  const seedsAt = process.argv.indexOf('--seeds');
  const seeds = seedsAt >= 0 ? parseSeedList(String(process.argv[seedsAt + 1])) : undefined;
  await onlyPart(String(process.argv[onlyAt + 1]), engine.backend, seeds);
  process.exit(0);
}

// 1. Gradient bias: dW = x^T dy with x [64, 128] and dy [64, 32] (Gaussian), dy masked along the
// batch; relative error ||mean_k dW_k - dW|| / ||dW|| at two draw counts.
const DRAWS = [16, 256];
function gradBias(spec: GradSparsity): number[] {
  const rng = makeRng(SEED + 1);
  const xv = Float32Array.from({ length: 64 * 128 }, () => normal(rng));
  const dyv = Float32Array.from({ length: 64 * 32 }, () => normal(rng));
  const x = tf.tensor2d(xv, [64, 128]);
  const dense = tf.matMul(x, tf.tensor2d(dyv, [64, 32]), true, false).dataSync();
  const denseNorm = Math.hypot(...dense);
  const sum = new Float64Array(dense.length);
  const out: number[] = [];
  let done = 0;
  for (const draws of DRAWS) {
    for (; done < draws; done++) {
      const dyP = tf.tensor2d(maskAlongAxis(dyv, [64, 32], 0, spec, rng), [64, 32]);
      const dw = tf.matMul(x, dyP, true, false);
      const v = dw.dataSync();
      for (let i = 0; i < v.length; i++) sum[i] += v[i];
      tf.dispose([dyP, dw]);
    }
    let err = 0;
    for (let i = 0; i < dense.length; i++) err += (sum[i] / draws - dense[i]) ** 2;
    out.push(Math.sqrt(err) / denseNorm);
  }
  x.dispose();
  return out;
}
const biasRows: Record<string, unknown>[] = [];
for (const [name, spec] of [
  ['mvue 2:4', { n: 2, m: 4, kind: 'mvue' }],
  ['approx 2:4', { n: 2, m: 4, kind: 'approx' }],
  ['mvue 1:2', { n: 1, m: 2, kind: 'mvue' }],
  ['magnitude 2:4', { n: 2, m: 4, kind: 'magnitude' }],
] as [string, GradSparsity][]) {
  const errs = gradBias(spec);
  biasRows.push({ mask: name, draws: DRAWS, relError: errs, shrink: errs[0] / errs[1] });
  console.log(
    `${name}: rel. error ${errs.map((e) => e.toFixed(4)).join(' / ')} at ${DRAWS.join(' / ')} draws`,
  );
}

// 2. MNIST MLP 784-128(relu)-10, Adam 1e-3, batch 64; the weight-gradient products of both
// layers see dy masked N:M along the batch (input gradients dense).
const data = loadMnist({ trainCount: TRAIN, testCount: TEST, seed: 1 });
const METHODS: [string, GradPrune | null][] = [
  ['dense', null],
  ['mvue 1:2', { n: 1, m: 2, kind: 'mvue' }],
  ['mvue 2:4', { n: 2, m: 4, kind: 'mvue' }],
  ['magnitude 2:4', { n: 2, m: 4, kind: 'magnitude' }],
  ['stochastic p=0.9', { kind: 'stochastic', p: 0.9 }],
];
interface Run {
  vars: tf.Variable[];
  opt: tf.Optimizer;
  spec: GradPrune | null;
  rng: () => number;
  seconds: number;
  stats: PruneStats;
}
function glorot(shape: [number, number], rng: () => number): tf.Variable {
  const lim = Math.sqrt(6 / (shape[0] + shape[1]));
  const v = Float32Array.from({ length: shape[0] * shape[1] }, () => (2 * rng() - 1) * lim);
  return tf.variable(tf.tensor2d(v, shape));
}
const runs: Run[] = METHODS.map(([, spec]) => {
  const init = makeRng(SEED + 100); // same initial weights for every method
  return {
    vars: [
      glorot([784, 128], init),
      tf.variable(tf.zeros([128])),
      glorot([128, 10], init),
      tf.variable(tf.zeros([10])),
    ],
    opt: tf.train.adam(1e-3),
    spec,
    rng: makeRng(SEED + 200),
    seconds: 0,
    stats: { zeros: 0, total: 0 },
  };
});
const mm = (r: Run, x: tf.Tensor2D, w: tf.Tensor2D) =>
  r.spec ? sparseGradMatMul(x, w, r.spec, r.rng, false, r.stats) : tf.matMul(x, w);
const forward = (r: Run, x: tf.Tensor2D) => {
  const [w1, b1, w2, b2] = r.vars as unknown as [
    tf.Tensor2D,
    tf.Tensor1D,
    tf.Tensor2D,
    tf.Tensor1D,
  ];
  return tf.add(mm(r, tf.relu(tf.add(mm(r, x, w1), b1)) as tf.Tensor2D, w2), b2) as tf.Tensor2D;
};
const testX = tf.tensor2d(data.test.x, [data.test.count, 784]);
function accuracy(r: Run): number {
  return tf.tidy(() => {
    const pred = tf.argMax(forward(r, testX), 1).dataSync();
    let ok = 0;
    for (let i = 0; i < pred.length; i++) if (pred[i] === data.test.y[i]) ok++;
    return ok / pred.length;
  });
}
const steps = Math.floor(data.train.count / BATCH);
const curves: number[][] = runs.map(() => []);
for (let e = 0; e < EPOCHS; e++) {
  const order = permutation(data.train.count, makeRng(SEED + 300 + e)); // same order for all
  for (const [k, r] of runs.entries()) {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) {
      const idx = order.subarray(s * BATCH, (s + 1) * BATCH);
      const xb = new Float32Array(BATCH * 784);
      const yb = new Float32Array(BATCH * 10);
      for (let i = 0; i < BATCH; i++) {
        xb.set(data.train.x.subarray(idx[i] * 784, (idx[i] + 1) * 784), i * 784);
        yb[i * 10 + data.train.y[idx[i]]] = 1;
      }
      tf.tidy(() => {
        const xs = tf.tensor2d(xb, [BATCH, 784]);
        const ys = tf.tensor2d(yb, [BATCH, 10]);
        r.opt.minimize(
          () => tf.losses.softmaxCrossEntropy(ys, forward(r, xs)) as tf.Scalar,
          false,
          r.vars,
        );
      });
    }
    r.seconds += (performance.now() - t0) / 1000;
    curves[k].push(accuracy(r));
  }
  console.log(
    `epoch ${e + 1}: ${METHODS.map(([n], k) => `${n} ${(100 * curves[k][e]).toFixed(2)}%`).join(', ')}`,
  );
}
// 3. The N:M-compressed product of the backward, dW^T = dy^T x with dy [B, out] masked N:M
// along the batch: dy^T [out, B] compressed (values + indices) times x [B, in], against tf.matMul
// on the same backend and against the same loop dense in JS, rounds interleaved, median ms.
const [KB, KOUT, KIN] = [256, 128, 784];
const kernelRows: Record<string, unknown>[] = [];
for (const [n, m] of [
  [2, 4],
  [1, 2],
]) {
  const krng = makeRng(SEED + 400);
  const dyv = Float32Array.from({ length: KB * KOUT }, () => normal(krng));
  const masked = maskAlongAxis(dyv, [KB, KOUT], 0, { n, m, kind: 'mvue' }, krng);
  const dyT = new Float32Array(KOUT * KB);
  for (let b = 0; b < KB; b++)
    for (let o = 0; o < KOUT; o++) dyT[o * KB + b] = masked[b * KOUT + o];
  const xv = Float32Array.from({ length: KB * KIN }, () => normal(krng));
  const onBackend = (b: string) => {
    tf.setBackend(b);
    return [tf.tensor2d(dyT, [KOUT, KB]), tf.tensor2d(xv, [KB, KIN])] as const;
  };
  const [dyTw, xw] = onBackend('wasm');
  const [dyTt, xt] = onBackend('cpu');
  type Timed =
    | 'sparse'
    | 'sparseWithCompress'
    | 'tfDense'
    | 'tfDenseStock'
    | 'tfDenseWasm'
    | 'jsDense';
  const times: Record<Timed, number[]> = {
    sparse: [],
    sparseWithCompress: [],
    tfDense: [],
    tfDenseStock: [],
    tfDenseWasm: [],
    jsDense: [],
  };
  const comp = compressNM(dyT, KOUT, KB, n, m);
  let maxDiff = 0;
  for (let round = 0; round < 7; round++) {
    let t = performance.now();
    const s1 = nmMatMul(comp, xv, KIN);
    times.sparse.push(performance.now() - t);
    t = performance.now();
    nmMatMul(compressNM(dyT, KOUT, KB, n, m), xv, KIN);
    times.sparseWithCompress.push(performance.now() - t);
    t = performance.now();
    const d = tf.matMul(dyTt, xt);
    const dv = d.dataSync();
    times.tfDense.push(performance.now() - t);
    useStockKernels();
    t = performance.now();
    const ds = tf.matMul(dyTt, xt);
    ds.dataSync();
    times.tfDenseStock.push(performance.now() - t);
    useFastKernels();
    tf.setBackend('wasm');
    t = performance.now();
    const dw = tf.matMul(dyTw, xw);
    dw.dataSync();
    times.tfDenseWasm.push(performance.now() - t);
    tf.setBackend('cpu');
    t = performance.now();
    denseMatMulJs(dyT, KOUT, KB, xv, KIN);
    times.jsDense.push(performance.now() - t);
    for (let i = 0; i < dv.length; i++) maxDiff = Math.max(maxDiff, Math.abs(dv[i] - s1[i]));
    tf.dispose([d, ds, dw]);
  }
  tf.dispose([dyTt, xt]);
  tf.setBackend('wasm');
  tf.dispose([dyTw, xw]);
  const med = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];
  const row = {
    pattern: `${n}:${m}`,
    shape: `dy^T [${KOUT}, ${KB}] x [${KB}, ${KIN}]`,
    medianMs: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, med(v)])),
    speedupVsTfMatMul: med(times.tfDense) / med(times.sparse),
    speedupVsStockCpuMatMul: med(times.tfDenseStock) / med(times.sparse),
    speedupVsWasmMatMul: med(times.tfDenseWasm) / med(times.sparse),
    speedupVsJsDense: med(times.jsDense) / med(times.sparse),
    speedupVsTfMatMulWithCompress: med(times.tfDense) / med(times.sparseWithCompress),
    maxAbsDiff: maxDiff,
  };
  kernelRows.push(row);
  console.log(row);
}

// 4. The CNN (zoo CNN with filters [8, 16], dense 32: conv-relu, conv-relu, maxpool, dense-relu,
// logits; every Dense/Conv2D converted) on MNIST through frugal's training loop, CNN_SEEDS seeds.
const cnnData = loadMnist({
  trainCount: CNN_TRAIN,
  testCount: TEST,
  seed: 1,
  layout: 'image',
});
// The transposable 2:4 variants (fixed masks, plain STE and SR-STE recomputed, fine-tuning)
// run with `--only transposableVariants` (bench/lib/sparse-variants.ts); the full run keeps their
// last figures.
const CNN_METHODS: CnnMethod[] = [
  { name: 'dense' },
  { name: 'mvue 1:2', grad: { n: 1, m: 2, kind: 'mvue' } },
  { name: 'mvue 2:4', grad: { n: 2, m: 4, kind: 'mvue' } },
  { name: 'magnitude 2:4', grad: { n: 2, m: 4, kind: 'magnitude' } },
];
const CNN_STEPS = CNN_EPOCHS * Math.floor(CNN_TRAIN / BATCH);
const cnnConfig = {
  seeds: Array.from({ length: CNN_SEEDS }, (_, i) => i),
  epochs: CNN_EPOCHS,
  batch: BATCH,
  ...SPARSE_CNN,
};
const cnnRuns = await runCnnComparison(cnnData, CNN_METHODS, cnnConfig);
const cnnSummary = summarizeCnn(cnnRuns, 'dense');
for (const row of cnnSummary)
  console.log(
    `cnn ${row.method}: mean ${(100 * row.meanAccuracy).toFixed(2)}%, drop ${row.meanDropPts.toFixed(2)} pt (sd ${row.dropPtsStd.toFixed(2)})`,
  );
const cnnDrop = (name: string) => cnnSummary.find((r) => r.method === name)?.meanDropPts ?? null;

// 5. The paired parts: transposable 2:4 training and stochastic pruning against dense, 5 seeds.
// Their dense runs on seeds 0-2 are the CNN section's (same schedule, seeded: the same
// accuracies), and the stochastic part takes seeds 3-4 from the transposable part's.
const cnnKnown = {
  schedule: { train: CNN_TRAIN, test: TEST, epochs: CNN_EPOCHS, batch: BATCH },
  runs: cnnRuns,
};
const transposablePaired = (await PARTS.transposable.run(undefined, [cnnKnown])) as PartResult;
const stochasticPaired = (await PARTS.stochastic.run(undefined, [
  cnnKnown,
  { schedule: transposablePaired.schedule, runs: transposablePaired.runs },
])) as PartResult;
// The parts that run only with --only keep the figures of their last run.
const carried = carriedParts(previousResults());

const final = curves.map((c) => c[c.length - 1]);
const drop = (k: number) => 100 * (final[0] - final[k]);
const bias = (name: string) => biasRows.find((b) => b.mask === name)?.relError as number[];
const headline = {
  gradBiasMvue24Draws16: bias('mvue 2:4')[0],
  gradBiasMvue24Draws256: bias('mvue 2:4')[1],
  gradBiasMagnitude24Draws256: bias('magnitude 2:4')[1],
  mvue12DropPts: cnnDrop('mvue 1:2'),
  mvue24DropPts: cnnDrop('mvue 2:4'),
  magnitude24DropPts: cnnDrop('magnitude 2:4'),
  ...partHeadline('stochastic', stochasticPaired),
  mnistModel: `cnn [8, 16] filters, dense 32, ${CNN_SEEDS} seeds (mean drop)`,
  mlpMvue12DropPts: drop(1),
  mlpMvue24DropPts: drop(2),
  mlpMagnitude24DropPts: drop(3),
  mlpStochPruneDropPts: drop(4),
  mlpStochPruneZeroFraction: runs[4].stats.zeros / runs[4].stats.total,
  sparseKernelSpeedup: kernelRows[0].speedupVsTfMatMul as number,
  sparseKernelSpeedup12: kernelRows[1].speedupVsTfMatMul as number,
  sparseKernelSpeedupVsStockCpu: kernelRows[0].speedupVsStockCpuMatMul as number,
  sparseKernelSpeedupVsWasm: kernelRows[0].speedupVsWasmMatMul as number,
  ...partHeadline('transposable', transposablePaired),
  ...carried.headline,
  maskDiversityTransposable24: maskDiversity(2, 4, 'transposable'),
  maskDiversityNM24: maskDiversity(2, 4, 'nm'),
};
console.log(headline);
const path = writeResults('sparse-grad', {
  headline,
  notes: sparseNotes({
    srSteDecay: SRSTE_DECAY,
    every: TRANSPOSABLE_EVERY,
    pretrain: TRANSPOSABLE_PRETRAIN,
    cnnSteps: CNN_STEPS,
  }),
  config: {
    epochs: EPOCHS,
    train: TRAIN,
    test: TEST,
    seed: SEED,
    batch: BATCH,
    backend: 'wasm (frugal kernels)',
    cnn: { ...cnnConfig, train: CNN_TRAIN, test: TEST },
  },
  cnn: { summary: cnnSummary, runs: cnnRuns },
  transposablePaired,
  stochasticPaired,
  ...carried.sections,
  ...(Object.keys(carried.partRuns).length
    ? {
        partRuns: carried.partRuns,
        partRunsNote:
          'the headline figures and sections of the parts in partRuns come from their last --only runs (dates there), kept by this full run, which does not run them',
      }
    : {}),
  gradBias: biasRows,
  sparseKernel: kernelRows,
  training: METHODS.map(([name], k) => ({
    method: name,
    accuracyByEpoch: curves[k],
    trainSeconds: runs[k].seconds,
  })),
  wallSeconds: (performance.now() - started) / 1000,
});
console.log(`wrote ${path}`);
