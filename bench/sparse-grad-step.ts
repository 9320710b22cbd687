// The training step of the sparse-gradient CNN against the dense one, same process, interleaved:
// the sparse benches' CNN (bench/lib/sparse-cnn.ts SPARSE_CNN) on MNIST batches of 64, wasm with
// frugal's kernels (as bench/sparse-grad.ts), dense and each pruned variant (every Dense/Conv2D
// through sparseGradModel) stepping through frugal's step seam (applyStep) on the same batches.
// Each round times every arm (rotating order; `block` steps per visit, the last one timed), wall
// and process CPU milliseconds; the headline holds the median over rounds of each arm's time over
// the dense arm's time in the same round (CPU time first: the machine is shared). Each N:M arm
// also runs as <name>Ref with the per-group reference masks (setMaskPath), the step before the
// fast path (mask-fast.ts), in the same rounds.
// Run: npx tsx bench/sparse-grad-step.ts [-- --rounds 30 --block 2 --warmup 3]
//   (writes bench/results/sparse-grad-step.json; BENCH_RESULTS_DIR moves it).
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { type MaskPath, setMaskPath } from '../src/engine/settings.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildCnn } from '../src/models/cnn.js';
import { sparseGradModel } from '../src/sparse/convert.js';
import type { GradPrune } from '../src/sparse/grad-prune.js';
import { applyStep, defaultForward, trainableVariables } from '../src/train/gradients.js';
import { lossByName } from '../src/train/loss.js';
import { argValue, numberArg } from './lib/args.js';
import { writeResults } from './lib/results.js';
import { SPARSE_CNN } from './lib/sparse-cnn.js';
import { median } from './lib/stats.js';
import { interleavedWallCpu } from './lib/timing.js';

const ROUNDS = numberArg('rounds', 30);
const BLOCK = numberArg('block', 2);
const WARMUP = numberArg('warmup', 3);
const BATCH = 64;

await initEngine({ backend: 'wasm', seed: 0 });
useFastKernels();
const data = loadMnist({ trainCount: BATCH * 8, testCount: 64, seed: 1 });
const batches = Array.from({ length: 8 }, (_, b) => {
  const xs = tf.tensor4d(data.train.x.subarray(b * BATCH * 784, (b + 1) * BATCH * 784), [
    BATCH,
    28,
    28,
    1,
  ]);
  const y = new Float32Array(BATCH * 10);
  for (let i = 0; i < BATCH; i++) y[i * 10 + data.train.y[b * BATCH + i]] = 1;
  return { xs, ys: tf.tensor2d(y, [BATCH, 10]) };
});

const PRUNED: [string, GradPrune][] = [
  ['mvue12', { n: 1, m: 2, kind: 'mvue' }],
  ['mvue24', { n: 2, m: 4, kind: 'mvue' }],
  ['magnitude24', { n: 2, m: 4, kind: 'magnitude' }],
  ['stoch', { kind: 'stochastic', p: 0.9 }],
];
// Each N:M arm twice: the masks' fast path and, as `<name>Ref`, the per-group reference
// (setMaskPath('reference'): the step as it was before the fast path; the same masks).
const ALL_ARMS: [string, GradPrune | null, MaskPath][] = [
  ['dense', null, 'fast'],
  ...PRUNED.map(([name, spec]): [string, GradPrune, MaskPath] => [name, spec, 'fast']),
  ...PRUNED.filter(([, spec]) => spec.kind !== 'stochastic').map(
    ([name, spec]): [string, GradPrune, MaskPath] => [`${name}Ref`, spec, 'reference'],
  ),
];
// `--arms dense,mvue24` (for a profile): those arms only, no JSON written.
const only = argValue('arms', '');
const picked = only === '' ? null : only.split(',');
for (const a of picked ?? [])
  if (!ALL_ARMS.some(([name]) => name === a))
    throw new Error(`--arms: unknown arm '${a}' (${ALL_ARMS.map(([n]) => n).join(', ')})`);
if (picked && !picked.includes('dense'))
  throw new Error('--arms must include dense (the baseline)');
const ARMS = picked ? ALL_ARMS.filter(([name]) => picked.includes(name)) : ALL_ARMS;
const loss = lossByName('logits');
const arms = ARMS.map(([name, spec, maskPath]) => {
  let model = buildCnn({
    inputShape: [28, 28, 1],
    numClasses: 10,
    filters: SPARSE_CNN.filters,
    dense: SPARSE_CNN.dense,
    seed: 0,
  });
  if (spec) {
    const converted = sparseGradModel(model, spec, { seed: 17 });
    model.dispose();
    model = converted.model;
  }
  const ctx = { variables: trainableVariables(model), forward: defaultForward(model), loss };
  const opt = tf.train.adam(1e-3);
  let k = 0;
  const step = () => {
    const previous = setMaskPath(maskPath);
    const v = applyStep(ctx, opt, batches[k++ % batches.length]);
    v.dataSync();
    setMaskPath(previous);
    return () => v.dispose();
  };
  return { name, model, opt, step };
});

// One step per arm first: Adam's slots exist from then on (the leak check counts after them).
for (const a of arms) (a.step() as () => void)();
const tensors0 = tf.memory().numTensors;
const load0 = loadavg();
const t = interleavedWallCpu(
  arms.map((a) => a.step),
  { rounds: ROUNDS, warmup: WARMUP, block: BLOCK, rotate: true },
);
const load1 = loadavg();
const leaked = tf.memory().numTensors - tensors0;
if (leaked !== 0) throw new Error(`sparse-grad-step: ${leaked} tensors left after the rounds`);

// The fast and reference arms took the same steps on the same batches from the same weights and
// mask seeds: the same masks give the same weights, bit for bit.
const sameWeights: Record<string, boolean> = {};
for (const a of arms) {
  const ref = arms.find((b) => b.name === `${a.name}Ref`);
  if (!ref) continue;
  const wa = a.model.getWeights().map((w) => w.dataSync());
  const wb = ref.model.getWeights().map((w) => w.dataSync());
  sameWeights[a.name] = wa.every(
    (w, i) => w.length === wb[i].length && w.every((x, j) => Object.is(x, wb[i][j])),
  );
  if (!sameWeights[a.name]) console.warn(`${a.name}: the fast and reference masks trained apart`);
}
const dense = 0;
const over = (times: number[][], i: number) =>
  median(times[i].map((ms, r) => ms / times[dense][r]));
const rows = arms.map((a, i) => ({
  arm: a.name,
  spec: ARMS[i][1],
  medianWallMs: median(t.wall[i]),
  medianCpuMs: median(t.cpu[i]),
  cpuOverDense: over(t.cpu, i),
  wallOverDense: over(t.wall, i),
}));
for (const r of rows)
  console.log(
    `${r.arm.padEnd(12)} wall ${r.medianWallMs.toFixed(1)} ms  cpu ${r.medianCpuMs.toFixed(1)} ms  cpu/dense ${r.cpuOverDense.toFixed(2)}  wall/dense ${r.wallOverDense.toFixed(2)}`,
  );
if (picked) process.exit(0);
const row = (name: string) => rows.find((r) => r.arm === name) as (typeof rows)[number];
const path = writeResults('sparse-grad-step', {
  headline: {
    mvue12StepOverVsDense: row('mvue12').cpuOverDense,
    mvue24StepOverVsDense: row('mvue24').cpuOverDense,
    magnitude24StepOverVsDense: row('magnitude24').cpuOverDense,
    stochStepOverVsDense: row('stoch').cpuOverDense,
    mvue12WallOverDense: row('mvue12').wallOverDense,
    mvue24WallOverDense: row('mvue24').wallOverDense,
    stochWallOverDense: row('stoch').wallOverDense,
    mvue12RefStepOverVsDense: row('mvue12Ref').cpuOverDense,
    mvue24RefStepOverVsDense: row('mvue24Ref').cpuOverDense,
    magnitude24RefStepOverVsDense: row('magnitude24Ref').cpuOverDense,
    ...Object.fromEntries(
      ['mvue12', 'mvue24', 'magnitude24'].map((name) => [
        `${name}FastOverRefStep`,
        median(
          t.cpu[rows.indexOf(row(name))].map(
            (ms, r) => ms / t.cpu[rows.indexOf(row(`${name}Ref`))][r],
          ),
        ),
      ]),
    ),
    fastSameWeightsAsRef: Object.values(sameWeights).every((v) => v),
    denseStepCpuMs: row('dense').medianCpuMs,
    measure:
      'median over rounds of (arm step / dense step in the same round), process CPU time (*StepOverVsDense) and wall time (*WallOverDense); *Ref: the same arm with the per-group reference masks (before the fast path); *FastOverRefStep: fast step / reference step in the same round (CPU)',
  },
  model: `zoo CNN filters [${SPARSE_CNN.filters}], dense ${SPARSE_CNN.dense}, MNIST batch ${BATCH}, Adam 1e-3, wasm + useFastKernels`,
  rounds: ROUNDS,
  warmup: WARMUP,
  block: BLOCK,
  loadAverage: { before: load0, after: load1 },
  sameWeightsAsRef: sameWeights,
  rows,
  times: Object.fromEntries(arms.map((a, i) => [a.name, { wall: t.wall[i], cpu: t.cpu[i] }])),
});
for (const a of arms) a.model.dispose();
console.log(`wrote ${path}`);
