// bench:recipes, section slbound: how much any importance sampler could save over plain training
// in this setting (the zoo CNN on --train images, Adam 3e-3, batch 64), the ceiling that a
// SwiftLearn speedup has to fit under. Two measurements per seed, in the same run:
// 1. The per-sample gradients of 500 training rows (50 a class) at plain training's weights after
//    epochs 1, 3, 5 and 7 (epoch 1 is where SwiftLearn scores first): the variance ratio of
//    uniform sampling over the optimal importance sampler (weights |g_i|), over SwiftLearn's
//    EL2N weights with mix 0.2 (its default), without mix, and over the loss as the score
//    (src/recipes/importance-gain.ts). An unbiased sampler with ratio r has the gradient noise of
//    a uniform batch r times larger.
// 2. Plain training at batch 128 and 256 against batch 64 (interleaved): the steps each takes to
//    batch 64's final accuracy - 0.5 point (the SwiftLearn target). A 2x (4x) larger batch is what
//    an importance sampler of ratio 2 (4) can at best match in steps; since a sampled step costs
//    as much as a uniform one (plus scoring), its time-to-target gain is at most that step gain.

import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { type ClassificationData, gatherBatch } from '../../src/data/dataset.js';
import { mixedWeights, scoreSamples, varianceGain } from '../../src/recipes/index.js';
import { computeGradients, defaultForward, trainableVariables } from '../../src/train/gradients.js';
import { resolveLoss } from '../../src/train/loss.js';
import { makeOptimizer } from '../../src/train/optimizer.js';
import { numberArg } from './args.js';
import { type CurvePoint, interleavedCurves } from './interleave.js';
import {
  cnn,
  compare,
  disposeAll,
  load,
  ratioFigures,
  type Section,
  type SectionResult,
  seedList,
  summaryFigures,
} from './recipes-common.js';
import type { Headline } from './results.js';
import { mean } from './stats.js';

const CHECKPOINTS = [1, 3, 5, 7];
const ROWS_PER_CLASS = 50;

export interface GradientStats {
  epoch: number;
  rows: number;
  optimalGain: number;
  el2nMix20Gain: number;
  el2nGain: number;
  lossGain: number;
  /**
   * SwiftLearn's default weights (EL2N, mix 0.2) from the scores of the previous checkpoint, two
   * epochs old (SwiftLearn re-scores every 3 epochs): what stale scores still give. Runs since
   * it was added.
   */
  el2nMix20StaleGain?: number;
  /** mean |g_i|^2 / |gbar|^2: how noisy one sample's gradient is against the mean gradient. */
  noiseToSignal: number;
}

export interface SlBoundRun {
  seed: number;
  trainImages: number;
  date: string;
  loadAverage: number;
  gradients: GradientStats[];
  curves: Record<string, CurvePoint[]>;
  target: number;
  /** Steps of batch 64 to the target over those of batch 128 / 256 (null: not within its rounds). */
  batch128StepsGain: number | null;
  batch256StepsGain: number | null;
  /** The same on process CPU seconds. */
  batch128CpuGain: number | null;
  batch256CpuGain: number | null;
}

/** The first `perClass` rows of each class. */
function sampleRows(d: ClassificationData, perClass: number): number[] {
  const taken = new Array<number>(d.numClasses).fill(0);
  const out: number[] = [];
  for (let i = 0; i < d.train.count; i++) {
    const c = d.train.y[i];
    if (taken[c] < perClass) {
      taken[c]++;
      out.push(i);
    }
  }
  return out;
}

/** Per-sample squared gradient norms of `rows` and |gbar|^2 of their mean, at the current weights. */
function perSampleGradients(model: tf.LayersModel, d: ClassificationData, rows: number[]) {
  const ctx = {
    variables: trainableVariables(model),
    forward: defaultForward(model),
    loss: resolveLoss(model, 'auto'),
  };
  const idx = Int32Array.from(rows);
  const gradSq = new Float64Array(rows.length);
  let sum: tf.Tensor[] | undefined;
  for (let j = 0; j < rows.length; j++) {
    const b = gatherBatch(d.train, d.sampleShape, d.numClasses, idx, j, j + 1);
    const next = tf.tidy(() => {
      const g = computeGradients(ctx, b);
      const gs = ctx.variables.map((v) => g.grads[v.name]);
      gradSq[j] = tf.addN(gs.map((x) => tf.sum(tf.square(x)))).dataSync()[0];
      return sum ? gs.map((x, k) => tf.add(x, (sum as tf.Tensor[])[k])) : gs.map((x) => x.clone());
    });
    if (sum) tf.dispose(sum);
    sum = next;
    tf.dispose([b.xs, b.ys]);
  }
  const meanSq = tf.tidy(() =>
    tf.addN((sum as tf.Tensor[]).map((x) => tf.sum(tf.square(tf.div(x, rows.length))))).dataSync(),
  )[0];
  tf.dispose(sum as tf.Tensor[]);
  return { gradSq, meanSq };
}

function gradientStats(
  model: tf.LayersModel,
  d: ClassificationData,
  rows: number[],
  epoch: number,
  previous?: Float32Array,
): GradientStats & { el2nScores: Float32Array } {
  const { gradSq, meanSq } = perSampleGradients(model, d, rows);
  const pick = (s: Float32Array) => Float32Array.from(rows, (r) => s[r]);
  const el2n = pick(scoreSamples(model, d, 'el2n'));
  const loss = pick(scoreSamples(model, d, 'loss'));
  const floor = (s: Float32Array) => s.map((x) => Math.max(x, 1e-6));
  return {
    epoch,
    rows: rows.length,
    optimalGain: varianceGain(gradSq, meanSq).optimalGain,
    el2nMix20Gain: varianceGain(gradSq, meanSq, mixedWeights(el2n, 0.2)).gain as number,
    el2nGain: varianceGain(gradSq, meanSq, floor(el2n)).gain as number,
    lossGain: varianceGain(gradSq, meanSq, floor(loss)).gain as number,
    noiseToSignal: mean(Array.from(gradSq)) / meanSq,
    ...(previous
      ? { el2nMix20StaleGain: varianceGain(gradSq, meanSq, mixedWeights(previous, 0.2)).gain }
      : {}),
    el2nScores: el2n,
  };
}

async function runSeeds(): Promise<SlBoundRun[]> {
  const n = numberArg('train', 5000);
  const lr = numberArg('lr', 3e-3);
  const d = load(n, 2000);
  const rows = sampleRows(d, ROWS_PER_CLASS);
  const out: SlBoundRun[] = [];
  for (const seed of seedList('1,2')) {
    console.log(`slbound seed ${seed}`);
    const gradients: GradientStats[] = [];
    let previous: Float32Array | undefined;
    const arms = [
      { name: 'b64', batch: 64, rounds: 8 },
      // Up to half of batch 64's steps: past that no step gain reaches 2x.
      { name: 'b128', batch: 128, rounds: 8 },
      { name: 'b256', batch: 256, rounds: 16 },
    ].map((a) => {
      const model = cnn(d, seed);
      return {
        name: a.name,
        model,
        optimizer: makeOptimizer('adam', lr),
        rounds: a.rounds,
        plan: a.batch === 64 ? undefined : { batchSize: () => a.batch },
        afterRound:
          a.batch === 64
            ? (round: number) => {
                if (!CHECKPOINTS.includes(round + 1)) return;
                const { el2nScores, ...g } = gradientStats(model, d, rows, round + 1, previous);
                previous = el2nScores;
                gradients.push(g);
              }
            : undefined,
      };
    });
    const curves = await interleavedCurves(arms, d, { rounds: 16, batchSize: 64, seed });
    const onCpu = (c: CurvePoint[]) => c.map((p) => ({ ...p, seconds: p.cpuSeconds as number }));
    const gain = (name: string) => {
      const c = compare(curves.b64, curves[name], 2);
      const cpu = compare(onCpu(curves.b64), onCpu(curves[name]), 2);
      return {
        target: c.target,
        steps: c.stepsRatio === null ? null : 1 / c.stepsRatio,
        cpu: cpu.speedup,
      };
    };
    const g128 = gain('b128');
    const g256 = gain('b256');
    for (const g of gradients)
      console.log(
        `  epoch ${g.epoch}: optimal ${g.optimalGain.toFixed(2)}, el2n mix 0.2 ${g.el2nMix20Gain.toFixed(2)}, el2n ${g.el2nGain.toFixed(2)}, loss ${g.lossGain.toFixed(2)}`,
      );
    console.log(`  steps gain: batch 128 ${g128.steps?.toFixed(2)}, 256 ${g256.steps?.toFixed(2)}`);
    out.push({
      seed,
      trainImages: n,
      date: new Date().toISOString(),
      loadAverage: loadavg()[0],
      gradients,
      curves,
      target: g128.target,
      batch128StepsGain: g128.steps,
      batch256StepsGain: g256.steps,
      batch128CpuGain: g128.cpu,
      batch256CpuGain: g256.cpu,
    });
    disposeAll(arms.flatMap((a) => [a.model, a.optimizer]));
  }
  return out;
}

function summarize(all: SlBoundRun[]): SectionResult {
  const runs = [...all].sort((a, b) => a.seed - b.seed);
  const headline: Headline = {};
  const at = (e: number) => runs.map((r) => r.gradients.find((g) => g.epoch === e));
  for (const e of CHECKPOINTS) {
    const gs = at(e).filter((g): g is GradientStats => g !== undefined);
    if (gs.length === 0) continue;
    Object.assign(
      headline,
      summaryFigures(
        `slBoundOptimalGainEpoch${e}`,
        gs.map((g) => g.optimalGain),
      ),
    );
    headline[`slBoundEl2nMix20GainEpoch${e}`] = mean(gs.map((g) => g.el2nMix20Gain));
    headline[`slBoundEl2nGainEpoch${e}`] = mean(gs.map((g) => g.el2nGain));
    headline[`slBoundLossGainEpoch${e}`] = mean(gs.map((g) => g.lossGain));
    const stale = gs.flatMap((g) =>
      g.el2nMix20StaleGain === undefined ? [] : [g.el2nMix20StaleGain],
    );
    if (stale.length > 0) headline[`slBoundEl2nMix20StaleGainEpoch${e}`] = mean(stale);
  }
  Object.assign(
    headline,
    ratioFigures(
      'slBoundBatch128StepsGain',
      runs.map((r) => r.batch128StepsGain),
    ),
    ratioFigures(
      'slBoundBatch256StepsGain',
      runs.map((r) => r.batch256StepsGain),
    ),
    ratioFigures(
      'slBoundBatch256CpuGain',
      runs.map((r) => r.batch256CpuGain),
    ),
    { slBoundSeeds: runs.length },
  );
  return {
    headline,
    section: {
      checkpoints: CHECKPOINTS,
      rowsPerClass: ROWS_PER_CLASS,
      runs,
      notes: [
        'per-sample gradients of 500 training rows (50 a class) at batch-64 plain training weights after each checkpoint epoch; *GainEpoch<e>: uniform sampling variance over the importance sampler (src/recipes/importance-gain.ts): optimal = weights |g_i| (the ceiling of any unbiased sampler), el2nMix20 = SwiftLearn default weights, el2n, loss; el2nMix20Stale = the default weights from the scores of the previous checkpoint (two epochs old; runs since it was added)',
        "slBoundBatch128/256StepsGain: batch 64's steps to its final accuracy - 0.5 point (smoothed over 2 evaluations) over those of batch 128 / 256 (Adam 3e-3 all, interleaved, same init); null when a seed did not get there within half of batch 64's steps",
        'an unbiased sampler of variance gain r has the gradient noise of a uniform batch r times larger and a step costs as much: its steps (and time) to the target fall at most by what that larger batch saves',
      ],
    },
  };
}

export const slboundSection: Section<SlBoundRun> = {
  run: runSeeds,
  key: (r) => `${r.trainImages}/${r.seed}`,
  stored: (file) =>
    ((file?.slbound as { runs?: SlBoundRun[] } | undefined)?.runs ?? []) as SlBoundRun[],
  summarize,
};
