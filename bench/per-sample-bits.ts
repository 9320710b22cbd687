// Per-sample bit allocation (ActNN) against uniform bits at the same 2-bit average, in one run:
// weight-gradient variance (activationReport), bytes saved for backward and forward+backward time.
// Run: npm run bench:per-sample-bits [-- --backend wasm --batch 32]
//   (writes bench/results/per-sample-bits.json)
import * as tf from '@tensorflow/tfjs';
import { saveQuantized } from '../src/activation/codec/saved.js';
import { compressActivations } from '../src/activation/convert.js';
import { streamingForward } from '../src/activation/execution/streaming-forward.js';
import { activationMemory } from '../src/activation/measure.js';
import { activationReport } from '../src/activation/report.js';
import { makeRng } from '../src/engine/random.js';
import { buildModel, type ZooModelName } from '../src/models/zoo.js';
import { fixed, mb, ratio } from '../src/report/format.js';
import { classificationLoss, type ForwardFn, trainableVariables } from '../src/train/step.js';
import {
  interleavedTimes,
  mnistBatchBench,
  printTable,
  upperMedian,
  writeResults,
} from './lib/index.js';

const { backend, batchSize, batch } = await mnistBatchBench('image');
const SEEDS = 6;
const SCALED_INPUTS = 'mnist x 10^U(-1,1) per sample';
const TIMED = 7;
// The same digits with one scale per sample, 10^U(-1, 1): inputs whose ranges differ by up to
// 100x between samples (unnormalised data, or activations late in training).
const rng = makeRng(7);
const scales = Float32Array.from({ length: batchSize }, () => 10 ** (2 * rng() - 1));
const scaled = tf.mul(batch.xs, tf.tensor4d(scales, [batchSize, 1, 1, 1]));

interface Run {
  model: tf.LayersModel;
  forward: ForwardFn;
}

/** Median ms of one forward+backward (no optimizer), the two runs interleaved. */
function stepTimes(runs: Run[], xs: tf.Tensor): number[] {
  const step = (run: Run) => () => {
    tf.tidy(() => {
      const vars = trainableVariables(run.model);
      const { grads, value } = tf.variableGrads(
        () => classificationLoss(batch.ys, run.forward(xs, true)),
        vars,
      );
      for (const g of Object.values(grads)) g.dataSync();
      value.dataSync();
    });
  };
  // The first round warms up.
  return interleavedTimes(runs.map(step), { rounds: TIMED, warmup: 1 }).map(upperMedian);
}

interface Row {
  model: ZooModelName;
  inputs: string;
  variant: string;
  savedBytes: number;
  gradRelVariance: number;
  gradRelError: number;
  stepMs: number;
}

const results: Row[] = [];
for (const name of ['cnn', 'resnet'] as const) {
  const base = buildModel(name, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const variants = [
    { variant: 'uniform 2-bit', perSample: false },
    { variant: 'per-sample 2-bit', perSample: true },
  ];
  const runs: Run[] = [];
  for (const v of variants) {
    const r = await compressActivations(
      base,
      { level: 'L3', perSample: v.perSample },
      { warn: () => {} },
    );
    runs.push({ model: r.model, forward: streamingForward(r.model) });
  }
  for (const [inputs, xs] of [
    ['mnist', batch.xs],
    [SCALED_INPUTS, scaled],
  ] as const) {
    const ms = stepTimes(runs, xs);
    runs.forEach((run, i) => {
      const mem = activationMemory(run.model, run.forward, xs, batch.ys);
      const rep = activationReport(run.model, run.forward, { xs, ys: batch.ys }, { seeds: SEEDS });
      const weighted = rep.filter((l) => l.gradRelVariance !== null);
      const mean = (f: (l: (typeof weighted)[number]) => number) =>
        weighted.reduce((s, l) => s + f(l), 0) / weighted.length;
      results.push({
        model: name,
        inputs,
        variant: variants[i].variant,
        savedBytes: mem.savedBytes,
        gradRelVariance: mean((l) => l.gradRelVariance ?? 0),
        gradRelError: mean((l) => l.gradRelError ?? 0),
        stepMs: ms[i],
      });
      process.stderr.write(`${name} ${inputs} ${variants[i].variant}: done\n`);
    });
  }
}

/** Median ms to quantize and restore one activation, uniform vs per-sample, interleaved. */
function quantizeTimes(shape: number[]): number[] {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 3);
  const roundTrip = (perSample: boolean) => () => {
    const saved = saveQuantized(x, 2, perSample);
    const back = saved.restore(saved.tensors);
    back.dataSync();
    return () => tf.dispose([back, ...saved.tensors]); // after the clock stops
  };
  const times = interleavedTimes([roundTrip(false), roundTrip(true)], {
    rounds: 2 * TIMED,
    warmup: 1,
  });
  x.dispose();
  return times.map(upperMedian);
}
const quantShape = [batchSize, 28, 28, 32];
const [quantUniformMs, quantPerSampleMs] = quantizeTimes(quantShape);

const uniformOf = (r: Row) =>
  results.find(
    (u) => u.model === r.model && u.inputs === r.inputs && u.variant === 'uniform 2-bit',
  )!;
printTable(
  `Per-sample vs uniform 2-bit saves, ${backend}, batch ${batchSize}, MNIST digits; gradient ` +
    `variance and error: mean over weighted layers, ${SEEDS} roundings, relative to the exact gradient`,
  [
    'model',
    'inputs',
    'variant',
    'saved MB',
    'grad rel. variance',
    'vs uniform',
    'grad rel. error',
    'fwd+bwd ms',
    'time vs uniform',
  ],
  results.map((r) => [
    r.model,
    r.inputs,
    r.variant,
    mb(r.savedBytes),
    r.gradRelVariance.toExponential(2),
    ratio(r.gradRelVariance / uniformOf(r).gradRelVariance),
    fixed(r.gradRelError, 3),
    fixed(r.stepMs),
    ratio(r.stepMs / uniformOf(r).stepMs),
  ]),
);
console.log(
  `Quantize + restore one [${quantShape}] activation at 2 bits (median of ${2 * TIMED}): uniform ` +
    `${fixed(quantUniformMs)} ms, per-sample ${fixed(quantPerSampleMs)} ms ` +
    `(${ratio(quantPerSampleMs / quantUniformMs)})`,
);
const perSampleOn = (model: ZooModelName, inputs: string) =>
  results.find((r) => r.model === model && r.inputs === inputs && r.variant === 'per-sample 2-bit');
/** Uniform variance / per-sample variance: 10 = per-sample bits make it 10x smaller. */
const varianceReduction = (model: ZooModelName, inputs: string) => {
  const r = perSampleOn(model, inputs);
  return r ? uniformOf(r).gradRelVariance / r.gradRelVariance : Number.NaN;
};
// The largest forward+backward overhead of per-sample bits over the four model x input cases.
const stepOverheads = results
  .filter((r) => r.variant === 'per-sample 2-bit')
  .map((r) => ({ model: r.model, inputs: r.inputs, overhead: r.stepMs / uniformOf(r).stepMs - 1 }));
writeResults('per-sample-bits', {
  headline: {
    cnnVarianceReductionScaled: varianceReduction('cnn', SCALED_INPUTS),
    resnetVarianceReductionScaled: varianceReduction('resnet', SCALED_INPUTS),
    cnnVarianceReductionMnist: varianceReduction('cnn', 'mnist'),
    resnetVarianceReductionMnist: varianceReduction('resnet', 'mnist'),
    stepOverheadWorst: stepOverheads.length
      ? Math.max(...stepOverheads.map((o) => o.overhead))
      : Number.NaN,
  },
  command: `npm run bench:per-sample-bits -- --backend ${backend} --batch ${batchSize}`,
  stepOverheads,
  backend,
  batch: batchSize,
  note: `Both variants: level L3 (2 bits); per-sample: config.perSample, the same 2-bit average per saved tensor. Times: median of ${TIMED} interleaved forward+backward passes.`,
  results,
  quantize: { shape: quantShape, uniformMs: quantUniformMs, perSampleMs: quantPerSampleMs },
});
