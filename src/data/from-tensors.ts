// Classification data from what tfjs users hold: tensors (as for model.fit) or a tf.data dataset
// of {xs, ys} elements (as for model.fitDataset). frugal's loop trains from flat arrays, so the
// values are read once into them (the caller keeps and disposes its tensors).
import * as tf from '@tensorflow/tfjs';
import type { ClassificationData, Split } from './dataset.js';

/** Samples and labels: ys integer labels [n] or one-hot / probability rows [n, classes]. */
export interface TensorSplit {
  xs: tf.Tensor;
  ys: tf.Tensor;
}

export interface TensorDataOptions {
  /** The test split; without it, `validationSplit` of the samples (the last ones) are held out. */
  test?: TensorSplit;
  /** Fraction (0, 1) of the samples held out for testing when no `test` is given (as in fit). */
  validationSplit?: number;
  /** Classes; default the width of one-hot ys, or the largest label + 1. */
  numClasses?: number;
  name?: string;
}

function labelsOf(ys: tf.Tensor, n: number, what: string): Int32Array {
  if (ys.shape[0] !== n)
    throw new Error(`${what}: ys has ${ys.shape[0]} rows but xs has ${n} samples`);
  if (ys.rank === 1) {
    const v = ys.dataSync();
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      if (!Number.isInteger(v[i]) || v[i] < 0)
        throw new Error(`${what}: label ${i} is ${v[i]}, not a class index (an integer >= 0)`);
      y[i] = v[i];
    }
    return y;
  }
  if (ys.rank !== 2)
    throw new Error(
      `${what}: ys must be labels [n] or one-hot rows [n, classes], got [${ys.shape}]`,
    );
  return tf.tidy(() => tf.argMax(ys, 1).dataSync() as Int32Array).slice();
}

function splitOf(
  s: TensorSplit,
  what: string,
): { split: Split; sampleShape: number[]; width?: number } {
  if (s.xs.rank < 2) throw new Error(`${what}: xs must be [samples, ...], got [${s.xs.shape}]`);
  const n = s.xs.shape[0];
  if (n < 1) throw new Error(`${what}: no samples`);
  const x = Float32Array.from(s.xs.dataSync());
  for (let i = 0; i < x.length; i++)
    if (!Number.isFinite(x[i]))
      throw new Error(`${what}: xs holds a non-finite value (${x[i]}) at index ${i}`);
  return {
    split: { x, y: labelsOf(s.ys, n, what), count: n },
    sampleShape: s.xs.shape.slice(1),
    width: s.ys.rank === 2 ? s.ys.shape[1] : undefined,
  };
}

function sliceSplit(s: Split, per: number, from: number, to: number): Split {
  return { x: s.x.slice(from * per, to * per), y: s.y.slice(from, to), count: to - from };
}

/** Classification data (for `train`) from tensors, as `model.fit(xs, ys)` takes them. */
export function classificationData(
  train: TensorSplit,
  options: TensorDataOptions = {},
): ClassificationData {
  const tr = splitOf(train, 'train data');
  let trainSplit = tr.split;
  let testSplit: Split;
  const vs = options.validationSplit;
  if (options.test) {
    if (vs !== undefined)
      throw new Error('classificationData: give test or validationSplit, not both');
    const te = splitOf(options.test, 'test data');
    if (te.sampleShape.join() !== tr.sampleShape.join())
      throw new Error(
        `test data: samples are [${te.sampleShape}], train samples [${tr.sampleShape}]`,
      );
    testSplit = te.split;
  } else {
    if (vs === undefined || !(vs > 0 && vs < 1))
      throw new Error(
        `classificationData: without test data, validationSplit must be in (0, 1), got ${vs}`,
      );
    const n = trainSplit.count;
    const held = Math.round(n * vs);
    if (held < 1 || held >= n)
      throw new Error(
        `classificationData: validationSplit ${vs} of ${n} samples leaves an empty split`,
      );
    const per = trainSplit.x.length / n;
    testSplit = sliceSplit(trainSplit, per, n - held, n);
    trainSplit = sliceSplit(trainSplit, per, 0, n - held);
  }
  let maxLabel = 0;
  for (const s of [trainSplit, testSplit]) for (const v of s.y) maxLabel = Math.max(maxLabel, v);
  const numClasses = options.numClasses ?? tr.width ?? maxLabel + 1;
  if (!Number.isInteger(numClasses) || numClasses < 2)
    throw new Error(`classificationData: numClasses must be an integer >= 2, got ${numClasses}`);
  if (maxLabel >= numClasses)
    throw new Error(`classificationData: label ${maxLabel} is not below numClasses ${numClasses}`);
  return {
    name: options.name ?? 'tensors',
    sampleShape: tr.sampleShape,
    numClasses,
    train: trainSplit,
    test: testSplit,
  };
}

/** Collects a batched dataset of {xs, ys} elements (as fitDataset takes) into one split. */
async function collect(
  ds: tf.data.Dataset<tf.TensorContainer>,
  what: string,
): Promise<TensorSplit> {
  const xs: tf.Tensor[] = [];
  const ys: tf.Tensor[] = [];
  try {
    await ds.forEachAsync((e) => {
      const el = e as { xs?: unknown; ys?: unknown };
      if (!(el?.xs instanceof tf.Tensor) || !(el?.ys instanceof tf.Tensor))
        throw new Error(`${what}: elements must be {xs, ys} tensors`);
      if (el.xs.rank < 2 || el.xs.shape[0] !== el.ys.shape[0])
        throw new Error(
          `${what}: elements must be batches (xs [batch, ...] and ys [batch] or [batch, classes], as fitDataset takes: use .batch(n)), got xs [${el.xs.shape}] and ys [${el.ys.shape}]`,
        );
      // Copies: tf.data disposes an element once the callback returns.
      xs.push(tf.keep(el.xs.clone()));
      ys.push(tf.keep(el.ys.clone()));
    });
    if (xs.length === 0) throw new Error(`${what}: the dataset is empty`);
    return { xs: tf.concat(xs), ys: tf.concat(ys) };
  } finally {
    tf.dispose([...xs, ...ys]);
  }
}

/**
 * Classification data (for `train`) from tf.data datasets of batches, as `model.fitDataset` takes
 * them; the samples are read into memory once.
 */
export async function classificationDataFromDataset(
  train: tf.data.Dataset<tf.TensorContainer>,
  options: Omit<TensorDataOptions, 'test'> & { test?: tf.data.Dataset<tf.TensorContainer> } = {},
): Promise<ClassificationData> {
  const tr = await collect(train, 'train dataset');
  const te = options.test ? await collect(options.test, 'test dataset') : undefined;
  try {
    return classificationData(tr, { ...options, test: te, name: options.name ?? 'dataset' });
  } finally {
    tf.dispose([tr.xs, tr.ys, ...(te ? [te.xs, te.ys] : [])]);
  }
}
