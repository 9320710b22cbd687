// `npm run bench:sparse-grad -- --only resnet`: the MVUE and magnitude gradient masks on a small
// ResNet against dense gradients (the "CNN and ResNet" comparison), paired by seed. The
// zoo ResNet at 28x28 learns too slowly for the bench budget here (dense 47.5% after 50 steps,
// 1.3 s a step), so this one is smaller: MNIST 2x2 average-pooled to 14x14 (as bench:low-precision
// does), stages RESNET_WIDTHS, one block each, batch-norm momentum 0.5 (tfjs's 0.99 lags far
// behind the weights in a short run). The schedule (resnetSchedule) was chosen on seeds 10 and
// 11, dense only, before any bench seed ran (the bench seeds are 0-2): 160 steps (2 epochs of
// 5120) at Adam 1e-2 gave 90.5% / 89.0%; 250 steps (2 epochs of 8000) at 1e-2 93.0% / 93.25%, at
// 3e-3 90.3% / 91.55%; so 250 steps at 1e-2 (dense at 0.3 s a step under load 10).
import * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../../src/data/dataset.js';
import { loadMnist } from '../../src/data/mnist.js';
import { buildResnet } from '../../src/models/resnet.js';
import { envNumber } from './args.js';
import { type PairedSummary, pairedSummary } from './paired.js';
import type { Headline } from './results.js';
import { type CnnMethod, type CnnRun, runCnnComparison, summarizeCnn } from './sparse-cnn.js';

export const RESNET_WIDTHS: [number, number] = [8, 16];
export const RESNET_BN_MOMENTUM = 0.5;

/** The schedule: SPARSE_BENCH_RESNET_* overrides (the probes on seeds 10-11 used them). */
export function resnetSchedule() {
  return {
    train: envNumber('SPARSE_BENCH_RESNET_TRAIN', 8000),
    test: envNumber('SPARSE_BENCH_TEST', 2000),
    epochs: envNumber('SPARSE_BENCH_RESNET_EPOCHS', 2),
    batch: 64,
    learningRate: envNumber('SPARSE_BENCH_RESNET_LR', 1e-2),
    seeds: Array.from({ length: envNumber('SPARSE_BENCH_RESNET_SEEDS', 3) }, (_, i) => i),
  };
}
export type ResnetSchedule = ReturnType<typeof resnetSchedule>;

/**
 * `--only resnetLong`: the same seeds and digits over SPARSE_BENCH_RESNET_LONG_EPOCHS (4) epochs,
 * 500 steps, set after the 250-step run missed the MVUE 1:2 target on seeds 0-2 and a probe on
 * seeds 10-11 (not bench seeds) saw MVUE 1:2 at -0.37 pt (250 steps) and -0.52 pt (500 steps),
 * before any 500-step run on the bench seeds.
 */
export function resnetLongSchedule(): ResnetSchedule {
  return { ...resnetSchedule(), epochs: envNumber('SPARSE_BENCH_RESNET_LONG_EPOCHS', 4) };
}

export const RESNET_METHODS: CnnMethod[] = [
  { name: 'dense' },
  { name: 'mvue 1:2', grad: { n: 1, m: 2, kind: 'mvue' } },
  { name: 'mvue 2:4', grad: { n: 2, m: 4, kind: 'mvue' } },
  { name: 'magnitude 2:4', grad: { n: 2, m: 4, kind: 'magnitude' } },
];

/** `data` (28x28x1 images) 2x2 average-pooled to 14x14x1. */
export function pooled2x2(data: ClassificationData): ClassificationData {
  const [h, w, c] = data.sampleShape;
  const pool = (x: Float32Array, n: number) =>
    tf.tidy(
      () => tf.avgPool(tf.tensor4d(x, [n, h, w, c]), 2, 2, 'valid').dataSync() as Float32Array,
    );
  return {
    ...data,
    sampleShape: [Math.floor(h / 2), Math.floor(w / 2), c],
    train: { ...data.train, x: pool(data.train.x, data.train.count) },
    test: { ...data.test, x: pool(data.test.x, data.test.count) },
  };
}

/** What the headline's resnetModel says. */
export function resnetModelText(
  s: ResnetSchedule,
  steps: number,
  how = 'schedule chosen on seeds 10 and 11 (dense only), not bench seeds',
): string {
  return `zoo ResNet (src/models/resnet.ts) stages [${RESNET_WIDTHS}], 1 basic block each, batch-norm momentum ${RESNET_BN_MOMENTUM}, on MNIST 2x2 average-pooled to 14x14; Adam ${s.learningRate}, batch ${s.batch}, ${steps} steps (${s.epochs} epochs of ${s.train} digits), ${s.seeds.length} seeds (${s.seeds.join(', ')}); every Dense/Conv2D's weight-gradient product sees the pruned dy; ${how}`;
}

/** How resnetLong's schedule came about (its model text). */
export const RESNET_LONG_HOW =
  "resnet's schedule (chosen on seeds 10 and 11) run twice as long, set after resnet's 250-step figures";

export interface ResnetResult {
  schedule: ResnetSchedule & { steps: number };
  model: string;
  summary: ReturnType<typeof summarizeCnn>;
  /** Per method (not dense): paired drop over seeds. */
  paired: Record<string, PairedSummary>;
  runs: CnnRun[];
  seconds: number;
}

/** Trains dense and every method on each seed (interleaved seed by seed). */
export async function resnetPart(
  s: ResnetSchedule = resnetSchedule(),
  methods: CnnMethod[] = RESNET_METHODS,
  how?: string,
): Promise<ResnetResult> {
  const t0 = performance.now();
  const data = pooled2x2(
    loadMnist({ trainCount: s.train, testCount: s.test, seed: 1, layout: 'image' }),
  );
  const steps = s.epochs * Math.floor(s.train / s.batch);
  const runs = await runCnnComparison(data, methods, {
    seeds: s.seeds,
    epochs: s.epochs,
    batch: s.batch,
    filters: [8, 16],
    dense: 32,
    learningRate: s.learningRate,
    build: (seed) =>
      buildResnet({
        inputShape: data.sampleShape,
        numClasses: data.numClasses,
        widths: RESNET_WIDTHS,
        batchNormMomentum: RESNET_BN_MOMENTUM,
        seed,
      }),
  });
  const summary = summarizeCnn(runs, 'dense');
  const paired: Record<string, PairedSummary> = {};
  for (const row of summary)
    if (row.method !== 'dense' && row.dropPtsBySeed.length > 1)
      paired[row.method] = pairedSummary(row.dropPtsBySeed);
  for (const row of summary)
    console.log(
      `resnet ${row.method}: mean ${(100 * row.meanAccuracy).toFixed(2)}%, drop ${row.meanDropPts.toFixed(2)} pt (sd ${row.dropPtsStd.toFixed(2)}), ${row.meanStepMs.toFixed(0)} ms/step`,
    );
  return {
    schedule: { ...s, steps },
    model: resnetModelText(s, steps, how),
    summary,
    paired,
    runs,
    seconds: (performance.now() - t0) / 1000,
  };
}

const KEYS: [string, string][] = [
  ['mvue 1:2', 'Mvue12'],
  ['mvue 2:4', 'Mvue24'],
  ['magnitude 2:4', 'Magnitude24'],
];

/**
 * The headline figures of a ResNet result (or of the JSON's section), keys `${prefix}Model`,
 * `${prefix}Mvue12DropPts`, ...
 */
export function resnetHeadline(r: ResnetResult, prefix = 'resnet'): Headline {
  const out: Headline = { [`${prefix}Model`]: r.model };
  const dense = r.summary.find((x) => x.method === 'dense');
  out[`${prefix}DenseAcc`] = dense?.meanAccuracy ?? null;
  for (const [method, key] of KEYS) {
    const p = r.paired[method];
    out[`${prefix}${key}DropPts`] = p?.mean ?? null;
    out[`${prefix}${key}DropSe`] = p?.se ?? null;
    out[`${prefix}${key}DropCi95Lo`] = p?.ci95[0] ?? null;
    out[`${prefix}${key}DropCi95Hi`] = p?.ci95[1] ?? null;
  }
  out[`${prefix}Seeds`] = r.schedule.seeds.length;
  out[`${prefix}Steps`] = r.schedule.steps;
  return out;
}
