// Low-rank training (issue 15), all figures measured in this run:
// 1. Conv3D as one 2D convolution on 4D tensors vs tf.conv3d, on cpu and wasm, forward and
//    forward+backward (conv3dAs2dSpeedup).
// 2. A zoo CNN trained on real MNIST digits; then continued training of the original vs the
//    hardware-aware decomposition (select 'speed', for 'training') with sequential freezing,
//    steps interleaved (trainThroughputGain, trainDropPts).
// 3. Inference latency of the hardware-aware selection for 'inference' (inferenceSpeedup).
// 4. PLRD of the trained CNN to 75/50/25% with distillation and with labels only (plrdDropPts25).
// 5. FS-Merge of two MLPs trained from different initialisations on MNIST digits 0-4 and 5-9,
//    against weight averaging and distillation into one model (fsMergeAcc, averageAcc,
//    kdMergeAcc: mean accuracy over both tasks, each task read from its own head).
// Run: npm run bench:lowrank-training   (writes bench/results/lowrank-training.json)
// 6. The moving-digits video task learned by a small 3D-conv model with Conv3D-as-2D and with
//    tf.layers.conv3d, same start and batches, steps interleaved (videoAccAs2d, videoAccConv3d,
//    videoTrainStepSpeedup, videoPredictSpeedup; bench/lib/lowrank-video.ts).
//      npm run bench:lowrank-training -- --only fsmerge|video   (one part only: updates its
//      headline fields and section of the existing JSON, keeping the other figures)

import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { decomposeModel } from '../src/compress/decompose/decompose-model.js';
import type { ClassificationData, Split } from '../src/data/dataset.js';
import { batches } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { conv3dAs2d } from '../src/lowrank/conv3d.js';
import { distill } from '../src/lowrank/distill.js';
import { factorPairs, phaseOptimizers, sequentialFreezing } from '../src/lowrank/freezing.js';
import { averageMerge, fsMerge, pairModel } from '../src/lowrank/fs-merge.js';
import { plrd } from '../src/lowrank/plrd.js';
import { buildModel } from '../src/models/zoo.js';
import { evaluate } from '../src/train/evaluate.js';
import { applyStep, defaultForward, trainableVariables } from '../src/train/gradients.js';
import { train } from '../src/train/loop.js';
import { lossByName } from '../src/train/loss.js';
import { interleavedTimes, upperMedian, writeResults } from './lib/index.js';
import { videoPart } from './lib/lowrank-video.js';

const BATCH = 64;

function conv3dTimings(backend: string) {
  const x = tf.randomNormal([2, 8, 16, 16, 8], 0, 1, 'float32', 1) as tf.Tensor5D;
  const k = tf.randomNormal([3, 3, 3, 8, 16], 0, 0.1, 'float32', 2) as tf.Tensor5D;
  const run = (f: () => tf.Tensor | tf.Tensor[]) => () => {
    const y = f();
    const ys = Array.isArray(y) ? y : [y];
    for (const t of ys) t.dataSync();
    tf.dispose(ys);
  };
  const ref = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
    tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, 1, 'same');
  const mine = (a: tf.Tensor, b: tf.Tensor) => conv3dAs2d(a, b as tf.Tensor5D, { padding: 'same' });
  const grad = (f: typeof ref) => () =>
    tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(f(a, b)))([x, k]);
  const [fRef, fMine, gRef, gMine] = interleavedTimes(
    [run(() => ref(x, k)), run(() => mine(x, k)), run(grad(ref)), run(grad(mine))],
    { rounds: 10, warmup: 2 },
  ).map(upperMedian);
  tf.dispose([x, k]);
  return {
    backend,
    shape: 'x [2, 8, 16, 16, 8], kernel [3, 3, 3, 8, 16], same',
    forwardMs: { conv3d: fRef, as2d: fMine },
    forwardBackwardMs: { conv3d: gRef, as2d: gMine },
    forwardSpeedup: fRef / fMine,
    forwardBackwardSpeedup: gRef / gMine,
  };
}

function subset(
  split: Split,
  per: number,
  keep: (y: number) => boolean,
  shift: number,
  max = Infinity,
): Split {
  const rows: number[] = [];
  for (let i = 0; i < split.count && rows.length < max; i++) if (keep(split.y[i])) rows.push(i);
  const x = new Float32Array(rows.length * per);
  const y = new Int32Array(rows.length);
  rows.forEach((r, k) => {
    x.set(split.x.subarray(r * per, (r + 1) * per), k * per);
    y[k] = split.y[r] - shift;
  });
  return { x, y, count: rows.length };
}

/** Accuracy of one task read from its head (output columns [from, from + 5)). */
function headAccuracy(model: tf.LayersModel, split: Split, from: number): number {
  const logits = tf.tidy(() => {
    const out = model.predict(tf.tensor(split.x, [split.count, 28, 28, 1])) as tf.Tensor;
    return tf.argMax(tf.slice(out, [0, from], [-1, 5]), -1).dataSync();
  });
  let right = 0;
  for (let i = 0; i < split.count; i++) if (logits[i] === split.y[i]) right++;
  return right / split.count;
}

/** The two models FS-Merge merges: the MLP of the first FS-Merge figures, or a small zoo CNN. */
const MERGE_MODELS = {
  mlp: {
    describe: 'two MLPs [784-64-64-5]',
    build: (seed: number) =>
      buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 5, hidden: [64, 64], seed }),
  },
  cnn: {
    describe: 'two zoo CNNs (conv 3x3 x [8, 16], maxpool, dense 32, 5 logits)',
    build: (seed: number) =>
      buildModel('cnn', {
        inputShape: [28, 28, 1],
        numClasses: 5,
        filters: [8, 16],
        dense: 32,
        seed,
      }),
  },
} as const;

async function fsMergePart(kind: keyof typeof MERGE_MODELS = 'mlp') {
  const t0 = Date.now();
  const mnist = loadMnist({ trainCount: 4000, testCount: 1000, seed: 0 });
  const per = 28 * 28;
  const task = (lo: boolean): ClassificationData => ({
    name: lo ? 'mnist digits 0-4' : 'mnist digits 5-9',
    sampleShape: [28, 28, 1],
    numClasses: 5,
    train: subset(mnist.train, per, (y) => (lo ? y < 5 : y >= 5), lo ? 0 : 5),
    test: subset(mnist.test, per, (y) => (lo ? y < 5 : y >= 5), lo ? 0 : 5),
  });
  const tasks = [task(true), task(false)];
  // two MLPs from different initialisations, one per task
  const models: tf.LayersModel[] = [];
  for (const [i, d] of tasks.entries()) {
    const m = MERGE_MODELS[kind].build(11 + i);
    await train(m, d, {
      epochs: 3,
      batchSize: BATCH,
      learningRate: 2e-3,
      measureMemory: false,
      seed: i,
    });
    models.push(m);
  }
  const [a, b] = models;
  const own = tasks.map((d, i) => evaluate(models[i], d).accuracy);
  // unlabelled merge data: 200 training images of each task
  const unl = tasks.map((d) => subset(d.train, per, () => true, 0, 200));
  const xs = new Float32Array((unl[0].count + unl[1].count) * per);
  xs.set(unl[0].x, 0);
  xs.set(unl[1].x, unl[0].x.length);
  const n = unl[0].count + unl[1].count;
  const samples = tf.tensor(xs, [n, 28, 28, 1]);
  const steps = 300;
  const score = (m: tf.LayersModel) => {
    const acc = [headAccuracy(m, tasks[0].test, 0), headAccuracy(m, tasks[1].test, 5)];
    return { perTask: acc, mean: (acc[0] + acc[1]) / 2 };
  };
  const fs = fsMerge(a, b, samples, { init: 'first', heads: 'separate', steps, rank: 16, seed: 1 });
  const fsAvg = fsMerge(a, b, samples, {
    init: 'average',
    heads: 'separate',
    steps,
    rank: 16,
    seed: 1,
  });
  const avg = averageMerge(a, b, { heads: 'separate' });
  const first = fsMerge(a, b, samples, { init: 'first', heads: 'separate', steps: 0 }).model;
  // distillation merge: the same start (model 1 with both heads), samples and steps; soft targets only
  const student = fsMerge(a, b, samples, { init: 'first', heads: 'separate', steps: 0 }).model;
  const teacher = pairModel(a, b);
  const kdData: ClassificationData = {
    name: 'unlabelled',
    sampleShape: [28, 28, 1],
    numClasses: 10,
    train: { x: xs, y: new Int32Array(n), count: n },
    test: { x: xs, y: new Int32Array(n), count: n },
  };
  const kdSteps = Math.ceil(steps / Math.ceil(n / 32));
  distill(student, teacher, kdData, {
    alpha: 0,
    temperature: 2,
    epochs: kdSteps,
    maxSteps: steps,
    batchSize: 32,
    seed: 1,
  });
  const results = {
    fsMerge: score(fs.model),
    fsMergeAverageInit: score(fsAvg.model),
    average: score(avg),
    kdMerge: score(student),
    firstModelOnly: score(first),
  };
  samples.dispose();
  for (const m of [fs.model, fsAvg.model, avg, first, student, a, b]) m.dispose();
  return {
    protocol: `${MERGE_MODELS[kind].describe} from different initialisations (seeds 11, 12), 3 epochs each on MNIST digits 0-4 / 5-9 (${tasks[0].train.count} / ${tasks[1].train.count} train images); merged on ${n} unlabelled training images (200 per task), ${steps} steps of batch 32 for FS-Merge (rank 16, separate heads) and for distillation (alpha 0, T 2, student starting from model 1 with both heads); accuracy per task from its head on the test digits`,
    originals: own,
    ...results,
    fsMergeLossFirstLast: [fs.losses[0], fs.losses[fs.losses.length - 1]],
    seconds: (Date.now() - t0) / 1000,
  };
}

/** The parts `--only NAME` reruns: the JSON section each writes and the headline figures it sets. */
const PARTS = {
  fsmerge: {
    section: 'fsMerge',
    run: fsMergePart,
    headline: (r: Awaited<ReturnType<typeof fsMergePart>>) => ({
      fsMergeAcc: r.fsMerge.mean,
      averageAcc: r.average.mean,
      kdMergeAcc: r.kdMerge.mean,
    }),
  },
  fsmergecnn: {
    section: 'fsMergeCnn',
    run: () => fsMergePart('cnn'),
    headline: (r: Awaited<ReturnType<typeof fsMergePart>>) => ({
      fsMergeCnnAcc: r.fsMerge.mean,
      averageCnnAcc: r.average.mean,
      kdMergeCnnAcc: r.kdMerge.mean,
    }),
  },
  video: {
    section: 'video',
    run: () => videoPart(),
    headline: videoHeadline,
  },
} as const;
type PartName = keyof typeof PARTS;

function videoHeadline(r: Awaited<ReturnType<typeof videoPart>>) {
  return {
    videoDirectionAccAs2d: r.direction.accuracy.as2d,
    videoDirectionAccConv3dCpu: r.direction.accuracy.conv3dOnCpu,
    videoDirectionAccConv3dWasm: r.direction.accuracy.conv3d,
    videoDigitAccAs2d: r.digit.accuracy.as2d,
    videoDigitAccConv3dCpu: r.digit.accuracy.conv3dOnCpu,
    videoTrainStepSpeedup: r.direction.trainStepSpeedup,
    videoPredictSpeedup: r.direction.predictSpeedup,
    wasmConv3dInputGradRelError: r.conv3dGradRelError.wasm?.input ?? null,
  };
}

/** Reruns one part and updates its headline figures and section, keeping the rest of the JSON. */
async function onlyPart(name: PartName): Promise<void> {
  // wasm with frugal's kernels, as the full run
  const engine = await initEngine({ backend: 'wasm' });
  useFastKernels();
  const prev = JSON.parse(readFileSync('bench/results/lowrank-training.json', 'utf8'));
  const part = PARTS[name];
  const r = await part.run();
  const { bench: _b, date, ...rest } = prev;
  const partRuns = {
    ...(prev.partRuns ?? {}),
    [name]: { date: new Date().toISOString(), backend: engine.backend },
  };
  const out = {
    ...rest,
    headline: { ...prev.headline, ...(part.headline as (x: typeof r) => object)(r) },
    fullRunDate: prev.fullRunDate ?? date,
    // the note of the full run, without what --only runs appended to it before partRuns existed
    note: String(prev.note).replace(
      / fsMergeAcc\/averageAcc\/kdMergeAcc \(and the fsMerge section\) were measured by a later[\s\S]*$/,
      '',
    ),
    partRuns,
    partRunsNote: `the headline figures and sections of the parts in partRuns were measured by later --only runs (dates there); the other figures come from the full run of ${prev.fullRunDate ?? date}`,
    [part.section]: r,
  };
  const path = writeResults('lowrank-training', out);
  console.log(JSON.stringify(r, null, 2));
  console.log(`wrote ${path}`);
}

async function main(): Promise<void> {
  const started = Date.now();
  await initEngine({ backend: 'cpu' });
  const conv3dCpu = conv3dTimings('cpu');
  const engine = await initEngine({ backend: 'wasm' });
  useFastKernels();
  const conv3dWasm = conv3dTimings('wasm');
  console.log('conv3d as 2d:', JSON.stringify([conv3dCpu, conv3dWasm]));

  const data = loadMnist({ trainCount: 3000, testCount: 1000, seed: 0 });
  const cnn = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
  await train(cnn, data, { epochs: 1, batchSize: BATCH, learningRate: 2e-3, measureMemory: false });
  const accTrained = evaluate(cnn, data).accuracy;
  console.log(`trained CNN: ${(accTrained * 100).toFixed(2)}%`);
  const layers = {
    conv2: { method: 'tucker2' as const, ratio: 0.5 },
    dense1: { method: 'svd' as const, ratio: 0.25 },
  };

  // 2. continued training: the original vs the decomposition (select for training) + freezing
  const dec = decomposeModel(cnn, { select: 'speed', for: 'training', speedBatch: BATCH, layers });
  const original = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
  original.setWeights(cnn.getWeights());
  const loss = lossByName('logits');
  const pairs = factorPairs(dec.report);
  const sched = pairs.length > 0 ? sequentialFreezing(dec.model, pairs, { period: 10 }) : null;
  const optA = tf.train.adam(1e-3);
  const optB = tf.train.adam(1e-3);
  const optsB = sched ? phaseOptimizers(sched, () => tf.train.adam(1e-3)) : null;
  const fwdA = defaultForward(original);
  const fwdB = defaultForward(dec.model);
  const varsA = trainableVariables(original);
  const trainBatches = [
    ...batches(data, 'train', BATCH, { shuffle: true, seed: 1, dropRemainder: true }),
  ];
  let stepA = 0;
  let stepB = 0;
  const step = (which: 'a' | 'b') => () => {
    const i = which === 'a' ? stepA++ : stepB++;
    const b = trainBatches[i % trainBatches.length];
    const ctx =
      which === 'a'
        ? { variables: varsA, forward: fwdA, loss }
        : sched
          ? sched.contextAt(i, { forward: fwdB, loss })
          : { variables: trainableVariables(dec.model), forward: fwdB, loss };
    const v = applyStep(ctx, which === 'a' ? optA : (optsB?.at(i) ?? optB), b);
    v.dataSync();
    v.dispose();
  };
  const steps = trainBatches.length; // one epoch each
  const [msA, msB] = interleavedTimes([step('a'), step('b')], { rounds: steps, warmup: 2 }).map(
    upperMedian,
  );
  for (const b of trainBatches) tf.dispose([b.xs, b.ys]);
  const accOrigCont = evaluate(original, data).accuracy;
  const accDecCont = evaluate(dec.model, data).accuracy;
  const trainThroughputGain = msA / msB - 1;
  console.log(`train step ms: original ${msA.toFixed(1)}, decomposed+freezing ${msB.toFixed(1)}`);

  // 3. inference: the selection for inference vs the original
  const inf = decomposeModel(cnn, { select: 'speed', for: 'inference', speedBatch: BATCH, layers });
  const x = tf.randomNormal([BATCH, 28, 28, 1], 0, 1, 'float32', 3);
  const predict = (m: tf.LayersModel) => () => {
    const y = m.predict(x) as tf.Tensor;
    y.dataSync();
    y.dispose();
  };
  const [pA, pB] = interleavedTimes([predict(cnn), predict(inf.model)], {
    rounds: 15,
    warmup: 3,
  }).map(upperMedian);
  x.dispose();
  const accInf = evaluate(inf.model, data).accuracy;

  // 4. PLRD with and without distillation (same fine-tune steps)
  const fineTune = { maxSteps: 30, batchSize: BATCH, learningRate: 1e-3, seed: 2 };
  const withKd = plrd(cnn, data, { fineTune });
  const withoutKd = plrd(cnn, data, { fineTune, distill: false });
  const family = (fam: typeof withKd) =>
    fam.map((m) => ({
      fraction: m.fraction,
      ranks: m.ranks,
      paramsFraction: m.paramsFraction,
      accuracy: evaluate(m.model, data).accuracy,
    }));
  const famKd = family(withKd);
  const famNo = family(withoutKd);
  for (const m of [...withKd, ...withoutKd]) m.model.dispose();
  const at25 = (f: ReturnType<typeof family>) =>
    f.find((m) => m.fraction === 0.25)?.accuracy ?? Number.NaN;

  const fm = await fsMergePart();
  const video = await videoPart();
  const out = {
    headline: {
      trainThroughputGain,
      trainDropPts: (accOrigCont - accDecCont) * 100,
      inferenceSpeedup: pA / pB,
      plrdDropPts25: (accTrained - at25(famKd)) * 100,
      plrdDropPts25NoDistill: (accTrained - at25(famNo)) * 100,
      conv3dAs2dSpeedupCpuForward: conv3dCpu.forwardSpeedup,
      conv3dAs2dSpeedupCpuForwardBackward: conv3dCpu.forwardBackwardSpeedup,
      conv3dAs2dSpeedupWasmForward: conv3dWasm.forwardSpeedup,
      conv3dAs2dSpeedupWasmForwardBackward: conv3dWasm.forwardBackwardSpeedup,
      fsMergeAcc: fm.fsMerge.mean,
      averageAcc: fm.average.mean,
      kdMergeAcc: fm.kdMerge.mean,
      ...videoHeadline(video),
    },
    backend: engine.backend,
    note: 'Speed-ups are ratios of medians of interleaved runs in this run.',
    fsMerge: fm,
    video,
    conv3d: [conv3dCpu, conv3dWasm],
    cnn: { data: 'mnist train 3000 / test 1000', accuracyTrained: accTrained },
    training: {
      protocol:
        'after 1 epoch of the original, 1 more epoch of the original vs the decomposition (select speed for training) with sequential freezing (period 10 steps), steps interleaved',
      decomposed: dec.report.layers.map((l) => ({
        layer: l.layer,
        method: l.method,
        rank: l.rank,
      })),
      speed: dec.report.speed,
      params: { original: cnn.countParams(), decomposed: dec.model.countParams() },
      stepMs: { original: msA, decomposedFrozen: msB },
      accuracy: { original: accOrigCont, decomposedFrozen: accDecCont },
    },
    inference: {
      decomposed: inf.report.layers.map((l) => ({
        layer: l.layer,
        method: l.method,
        rank: l.rank,
      })),
      speed: inf.report.speed,
      predictMs: { original: pA, selected: pB },
      accuracy: { original: accTrained, selected: accInf },
    },
    plrd: { fineTuneSteps: fineTune.maxSteps, withDistillation: famKd, labelsOnly: famNo },
    totalSeconds: (Date.now() - started) / 1000,
  };
  const path = writeResults('lowrank-training', out);
  console.log(JSON.stringify(out.headline, null, 2));
  console.log(`wrote ${path} (${out.totalSeconds.toFixed(0)} s)`);
}

const only = process.argv.indexOf('--only');
const partName = only >= 0 ? process.argv[only + 1] : undefined;
if (only >= 0 && !(String(partName) in PARTS))
  throw new Error(`--only takes one of ${Object.keys(PARTS).join(', ')}, got '${partName}'`);
await (partName ? onlyPart(partName as PartName) : main());
