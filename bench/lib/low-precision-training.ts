// The training sections of bench/low-precision.ts: 8-bit training with Range BN (CNN and ResNet,
// several seeds) against fp32, Range BN alone against batch norm, and low-bit accumulators with
// and without fine-tuning. Every row trains through frugal's loop (`train`) or fine-tune
// (`finetune`), i.e. the one training-step seam; models are converted by the rewrite engine.
import * as tf from '@tensorflow/tfjs';
import { accuracyOf, predictAll } from '../../src/compress/metrics/output-quality.js';
import type { ClassificationData } from '../../src/data/dataset.js';
import {
  type FloatFormat,
  type LowPrecisionSpec,
  lowBitAccumulatorModel,
  lowPrecisionModel,
} from '../../src/lowprec/index.js';
import { buildModel } from '../../src/models/zoo.js';
import { copyModel, rewriteModel } from '../../src/rewrite/rewrite-model.js';
import { finetune } from '../../src/train/finetune.js';
import { train } from '../../src/train/loop.js';

const INT8: LowPrecisionSpec = { weights: 8, activations: 8, gradients: 8 };

export interface TrainRow {
  model: 'cnn' | 'resnet';
  variant: 'fp32' | 'fp32 range-bn' | 'int8 range-bn';
  seed: number;
  accuracy: number;
  seconds: number;
}

export interface TrainingSectionOptions {
  seeds: number[];
  cnnSteps: number;
  /** Steps per epoch of the ResNet runs (0: the whole training set each epoch). */
  resnetSteps: number;
  /**
   * Epochs of the ResNet runs. Range BN trains more slowly in the first tens of steps; compared
   * after 50 steps (fp32 at about 50%) the drop measured convergence speed, not final accuracy.
   */
  resnetEpochs: number;
  /** MNIST 2x2 average-pooled to 14x14 for the ResNet runs (4x cheaper steps, so it converges). */
  resnetPool: boolean;
  batch: number;
  /** Adam learning rates of the CNN and the ResNet runs. */
  learningRate: { cnn: number; resnet: number };
  /** Zoo CNN widths (filters, dense) and ResNet stage widths used here. */
  cnn: { filters: [number, number]; dense: number };
  resnetWidths: number[];
  /**
   * Batch-norm momentum of the ResNet (the zoo's is tfjs's 0.99: in a short, fast-moving run its
   * moving statistics lag far behind the weights and inference accuracy collapses; Range BN takes
   * the same value).
   */
  bnMomentum: number;
}

/** The model with every BatchNormalization's momentum set to `momentum` (same weights). */
function withBnMomentum(model: tf.LayersModel, momentum: number): tf.LayersModel {
  return rewriteModel(model, (l) =>
    l.getClassName() === 'BatchNormalization'
      ? {
          replace: [
            {
              className: 'BatchNormalization',
              config: { ...l.getConfig(), momentum },
              weights: l.getWeights(),
            },
          ],
        }
      : null,
  ).model;
}

const pooledCache = new WeakMap<ClassificationData, ClassificationData>();

/** `data` (28x28x1 images) 2x2 average-pooled to 14x14x1. */
function pooled(data: ClassificationData): ClassificationData {
  const hit = pooledCache.get(data);
  if (hit) return hit;
  const [h, w, c] = data.sampleShape;
  const pool = (x: Float32Array, n: number) =>
    tf.tidy(
      () => tf.avgPool(tf.tensor4d(x, [n, h, w, c]), 2, 2, 'valid').dataSync() as Float32Array,
    );
  const out = {
    ...data,
    sampleShape: [Math.floor(h / 2), Math.floor(w / 2), c],
    train: { ...data.train, x: pool(data.train.x, data.train.count) },
    test: { ...data.test, x: pool(data.test.x, data.test.count) },
  };
  pooledCache.set(data, out);
  return out;
}

/** Trains one variant from the seed's initial weights and returns its test accuracy. */
async function trainRow(
  data: ClassificationData,
  model: TrainRow['model'],
  variant: TrainRow['variant'],
  seed: number,
  o: TrainingSectionOptions,
): Promise<TrainRow> {
  const t0 = performance.now();
  if (model === 'resnet' && o.resnetPool) data = pooled(data);
  const base = buildModel(model, {
    inputShape: data.sampleShape,
    numClasses: data.numClasses,
    seed,
    ...(model === 'cnn' ? o.cnn : { widths: o.resnetWidths }),
  });
  let m = model === 'resnet' ? withBnMomentum(base, o.bnMomentum) : base;
  if (m !== base) base.dispose();
  if (variant !== 'fp32') {
    const plain = m;
    m = lowPrecisionModel(plain, {
      quantize: variant === 'int8 range-bn' ? INT8 : null,
      rangeBn: true,
      seed,
    }).model;
    plain.dispose();
  }
  const r = await train(m, data, {
    epochs: model === 'cnn' ? 1 : o.resnetEpochs,
    batchSize: o.batch,
    learningRate: o.learningRate[model],
    seed,
    maxStepsPerEpoch: model === 'cnn' ? o.cnnSteps : o.resnetSteps,
    measureMemory: false,
  });
  m.dispose();
  const row = {
    model,
    variant,
    seed,
    accuracy: r.testAccuracy,
    seconds: (performance.now() - t0) / 1000,
  };
  console.log(
    `${model} ${variant} seed ${seed}: ${(row.accuracy * 100).toFixed(2)}% in ${row.seconds.toFixed(1)} s`,
  );
  return row;
}

/** 8-bit training and Range BN rows, interleaved seed by seed. */
export async function trainingRows(
  data: ClassificationData,
  o: TrainingSectionOptions,
): Promise<TrainRow[]> {
  const rows: TrainRow[] = [];
  for (const seed of o.seeds) {
    rows.push(await trainRow(data, 'cnn', 'fp32', seed, o));
    rows.push(await trainRow(data, 'cnn', 'int8 range-bn', seed, o));
    rows.push(await trainRow(data, 'resnet', 'fp32', seed, o));
    rows.push(await trainRow(data, 'resnet', 'fp32 range-bn', seed, o));
    rows.push(await trainRow(data, 'resnet', 'int8 range-bn', seed, o));
  }
  return rows;
}

/** Mean over seeds of (reference - variant) accuracy, in points. */
export function meanDropPts(
  rows: TrainRow[],
  model: TrainRow['model'],
  variant: TrainRow['variant'],
  reference: TrainRow['variant'] = 'fp32',
): number {
  const acc = (v: TrainRow['variant']) =>
    new Map(
      rows.filter((r) => r.model === model && r.variant === v).map((r) => [r.seed, r.accuracy]),
    );
  const ref = acc(reference);
  const got = acc(variant);
  const d = [...got].map(([seed, a]) => ((ref.get(seed) ?? Number.NaN) - a) * 100);
  return d.reduce((s, x) => s + x, 0) / d.length;
}

export interface AccRow {
  bits: number;
  format: { mantissa: number; exponent: number };
  chunk: number;
  /** Format of the sums across chunks (null: the accumulator's own). */
  outer: FloatFormat | null;
  finetuned: boolean;
  accuracy: number;
  seconds: number;
}

/** One accumulator: width 1 + exponent + mantissa bits, products per chunk, chunk-sum format. */
export interface AccVariant {
  bits: number;
  chunk: number;
  outer: FloatFormat | null;
}

export interface AccumulatorSectionOptions {
  hidden: number[];
  trainSteps: number;
  finetuneSteps: number;
  batch: number;
  learningRate: number;
  variants: AccVariant[];
  exponent: number;
  seed: number;
  /** Test samples the (slow, simulated) accumulator models are evaluated on. */
  testCount: number;
}

/**
 * An MLP trained in fp32, then for each accumulator width its accuracy with the Dense layers
 * accumulated in that format, before and after `finetuneSteps` steps through the low-bit model
 * (STE). Controls: the fp32 model as trained (rows without fine-tuning) and the fp32 model
 * fine-tuned the same steps (fine-tuned rows).
 */
export async function accumulatorRows(
  data: ClassificationData,
  o: AccumulatorSectionOptions,
): Promise<{ control: number; controlNoFinetune: number; rows: AccRow[] }> {
  const model = buildModel('mlp', {
    inputShape: data.sampleShape,
    numClasses: data.numClasses,
    hidden: o.hidden,
    seed: o.seed,
  });
  await train(model, data, {
    epochs: 1,
    batchSize: o.batch,
    learningRate: 1e-3,
    seed: o.seed,
    maxStepsPerEpoch: o.trainSteps,
    measureMemory: false,
  });
  const n = Math.min(o.testCount, data.test.count);
  const size = data.sampleShape.reduce((a, b) => a * b, 1);
  const xs = tf.tensor(data.test.x.subarray(0, n * size), [n, ...data.sampleShape]);
  const labels = data.test.y.subarray(0, n);
  const acc = (m: tf.LayersModel) => accuracyOf(predictAll(m, xs), labels);
  const ft = {
    steps: o.finetuneSteps,
    batchSize: o.batch,
    learningRate: o.learningRate,
    seed: o.seed,
  };
  // the fp32 model as trained: the control of the rows without fine-tuning
  const controlNoFinetune = acc(model);
  const c = copyModel(model);
  finetune(c, data, ft, 'fp32 control fine-tuning');
  const control = acc(c);
  c.dispose();
  console.log(
    `mlp fp32: ${(controlNoFinetune * 100).toFixed(2)}%, control (+${o.finetuneSteps} steps): ${(control * 100).toFixed(2)}%`,
  );
  const rows: AccRow[] = [];
  for (const { bits, chunk, outer } of o.variants) {
    const format = { mantissa: bits - 1 - o.exponent, exponent: o.exponent };
    const label = `${bits}-bit (M${format.mantissa}E${format.exponent})${chunk ? `, chunks of ${chunk}${outer ? `, chunk sums in M${outer.mantissa}E${outer.exponent}` : ''}` : ''}`;
    for (const finetuned of [false, true]) {
      const t0 = performance.now();
      const m = lowBitAccumulatorModel(model, format, chunk, outer).model;
      if (finetuned) finetune(m, data, ft, `${bits}-bit accumulator fine-tuning`);
      const row = {
        bits,
        format,
        chunk,
        outer,
        finetuned,
        accuracy: acc(m),
        seconds: (performance.now() - t0) / 1000,
      };
      m.dispose();
      rows.push(row);
      console.log(
        `mlp ${label}${finetuned ? ` + ${o.finetuneSteps} fine-tune steps` : ''}: ${(row.accuracy * 100).toFixed(2)}% in ${row.seconds.toFixed(1)} s`,
      );
    }
  }
  xs.dispose();
  model.dispose();
  return { control, controlNoFinetune, rows };
}
