// The CNN part of bench/sparse-grad.ts: the zoo CNN (small filters) trained on MNIST with dense
// gradients and with each sparse-gradient method, through frugal's one training loop, several
// seeds; each seed gives the baseline and every method the same initial weights, the same batch
// order and the same schedule, the methods interleaved seed by seed.
import type * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../../src/data/dataset.js';
import { buildCnn } from '../../src/models/cnn.js';
import { type BudgetScheduleConfig, budgetSchedule } from '../../src/recipes/lr-schedule.js';
import { modelPruneStats, sparseGradModel } from '../../src/sparse/convert.js';
import type { GradPrune } from '../../src/sparse/grad-prune.js';
import type { StepHooks } from '../../src/train/gradients.js';
import { train } from '../../src/train/loop.js';
import { mean } from './stats.js';

/**
 * The sparse-gradient benches' CNN: the zoo CNN with filters [8, 16] and a dense layer of 32
 * (conv-relu, conv-relu, maxpool, dense-relu, logits).
 */
export const SPARSE_CNN = { filters: [8, 16] as [number, number], dense: 32 };

/** A method: a gradient-pruning spec for every Dense/Conv2D, or a model-level setup (hooks). */
export interface CnnMethod {
  name: string;
  grad?: GradPrune;
  /**
   * Builds step hooks on the model (e.g. transposable weight masks; it may train the model
   * first, within `pretrainSteps`); `done` frees them.
   */
  setup?: (
    model: tf.LayersModel,
    data: ClassificationData,
    seed: number,
  ) => Promise<{ hooks: StepHooks; done: () => Record<string, unknown> }>;
  /** Steps the setup trains before the hooks go on; the run then takes the schedule's rest. */
  pretrainSteps?: number;
}

export interface CnnConfig {
  seeds: number[];
  epochs: number;
  batch: number;
  /** The zoo CNN's filters and dense width: SPARSE_CNN's unless told. */
  filters?: [number, number];
  dense?: number;
  /** Another model than the zoo CNN (e.g. the ResNet), built from the seed. */
  build?: (seed: number) => tf.LayersModel;
  /** Steps of the (one) epoch; 0 or absent: the whole training set. */
  steps?: number;
  learningRate?: number;
  /**
   * A learning-rate schedule over each run's steps (src/recipes/lr-schedule.ts: linear warm-up,
   * then linear decay), the same for every method; `learningRate` is its base rate.
   */
  lrSchedule?: BudgetScheduleConfig;
}

export interface CnnRun {
  method: string;
  seed: number;
  accuracy: number;
  meanStepMs: number;
  zeroFraction?: number;
  extra?: Record<string, unknown>;
}

/** Trains every method on every seed; returns the runs in the order they ran. */
export async function runCnnComparison(
  data: ClassificationData,
  methods: CnnMethod[],
  c: CnnConfig,
): Promise<CnnRun[]> {
  const runs: CnnRun[] = [];
  for (const seed of c.seeds)
    for (const m of methods) {
      let model =
        c.build?.(seed) ??
        buildCnn({
          inputShape: data.sampleShape,
          numClasses: data.numClasses,
          filters: c.filters ?? SPARSE_CNN.filters,
          dense: c.dense ?? SPARSE_CNN.dense,
          seed,
        });
      if (m.grad) {
        const converted = sparseGradModel(model, m.grad, { seed: seed * 1000 + 17 });
        model.dispose();
        model = converted.model;
      }
      const setup = await m.setup?.(model, data, seed);
      if (c.steps && (c.epochs !== 1 || m.pretrainSteps !== undefined))
        throw new Error(`${m.name}: a step cap needs 1 epoch and no pretraining`);
      const schedule = c.steps || c.epochs * Math.floor(data.train.count / c.batch);
      if (m.pretrainSteps !== undefined && (c.epochs !== 1 || m.pretrainSteps >= schedule))
        throw new Error(
          `${m.name}: pretrainSteps needs 1 epoch of more than ${m.pretrainSteps} steps`,
        );
      if (c.lrSchedule && setup)
        throw new Error(`${m.name}: a learning-rate schedule does not combine with setup hooks`);
      const lrHooks = c.lrSchedule
        ? budgetSchedule(c.learningRate ?? 1e-3, c.lrSchedule, {
            totalSteps: schedule - (m.pretrainSteps ?? 0),
          })
        : undefined;
      const r = await train(
        model,
        data,
        {
          epochs: c.epochs,
          batchSize: c.batch,
          // After a pretraining part: the rest of the schedule, in another batch order.
          seed: m.pretrainSteps === undefined ? seed : seed + 100,
          maxStepsPerEpoch:
            m.pretrainSteps === undefined ? (c.steps ?? 0) : schedule - m.pretrainSteps,
          ...(c.learningRate ? { learningRate: c.learningRate } : {}),
          measureMemory: false,
        },
        { hooks: setup?.hooks ?? lrHooks },
      );
      const extra = setup?.done();
      const stats = modelPruneStats(model);
      runs.push({
        method: m.name,
        seed,
        accuracy: r.testAccuracy,
        meanStepMs: r.meanStepMs,
        ...(stats.total > 0 ? { zeroFraction: stats.zeros / stats.total } : {}),
        ...(extra ? { extra } : {}),
      });
      model.dispose();
      console.log(
        `${c.build ? 'model' : 'cnn'} seed ${seed} ${m.name}: ${(100 * r.testAccuracy).toFixed(2)}% (${r.meanStepMs.toFixed(0)} ms/step)`,
      );
    }
  return runs;
}

/** Per method: mean accuracy, and the drop against `baseline` in points (mean over seeds). */
export function summarizeCnn(runs: CnnRun[], baseline: string) {
  const methods = [...new Set(runs.map((r) => r.method))];
  const base = new Map(runs.filter((r) => r.method === baseline).map((r) => [r.seed, r.accuracy]));
  return methods.map((method) => {
    const mine = runs.filter((r) => r.method === method);
    const drops = mine.map((r) => 100 * ((base.get(r.seed) as number) - r.accuracy));
    const dm = mean(drops);
    const sd =
      drops.length > 1
        ? Math.sqrt(drops.reduce((s, d) => s + (d - dm) ** 2, 0) / (drops.length - 1))
        : Number.NaN;
    return {
      method,
      meanAccuracy: mean(mine.map((r) => r.accuracy)),
      dropPtsBySeed: drops,
      meanDropPts: dm,
      dropPtsStd: sd,
      meanStepMs: mean(mine.map((r) => r.meanStepMs)),
    };
  });
}
