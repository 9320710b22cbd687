import * as tf from '@tensorflow/tfjs';
import type { SystemUnderTest } from './loadgen.js';

/** A samples pool (row-major, `count` samples of `sampleShape`) with optional labels. */
export interface SamplePool {
  x: Float32Array;
  y: Int32Array | null;
  count: number;
  sampleShape: number[];
  /** Where the samples come from (e.g. 'mnist test digits', 'synthetic normal inputs'). */
  source: string;
}

function gather(pool: SamplePool, indices: number[]): tf.Tensor {
  const size = pool.x.length / pool.count;
  const batch = new Float32Array(indices.length * size);
  indices.forEach((s, i) => {
    batch.set(pool.x.subarray(s * size, (s + 1) * size), i * size);
  });
  return tf.tensor(batch, [indices.length, ...pool.sampleShape]);
}

/**
 * A model as a SUT: each query is one batch through `predict` (default `model.predict`; e.g. a
 * whole-model integer plan's), read back before it completes.
 */
export function modelSut(
  model: tf.LayersModel,
  pool: SamplePool,
  predict: (x: tf.Tensor) => tf.Tensor = (x) => model.predict(x) as tf.Tensor,
): SystemUnderTest {
  return {
    sampleCount: pool.count,
    run(indices: number[]) {
      const x = gather(pool, indices);
      const y = predict(x);
      y.dataSync();
      tf.dispose([x, y]);
    },
  };
}

export interface AccuracyResult {
  mode: 'accuracy';
  samples: number;
  correct: number;
  accuracy: number;
}

/** Accuracy mode: every sample of the pool once (batches of `batch`), top-1 against labels. */
export function accuracyRun(
  model: tf.LayersModel,
  pool: SamplePool,
  batch: number,
): AccuracyResult {
  if (!pool.y) throw new Error(`accuracy mode needs labelled samples; ${pool.source} have none`);
  if (!Number.isInteger(batch) || batch < 1)
    throw new Error(`batch must be an integer >= 1, got ${batch}`);
  let correct = 0;
  for (let i = 0; i < pool.count; i += batch) {
    const idx = Array.from({ length: Math.min(batch, pool.count - i) }, (_, j) => i + j);
    const pred = tf.tidy(() => (model.predict(gather(pool, idx)) as tf.Tensor).argMax(-1));
    const p = pred.dataSync();
    pred.dispose();
    idx.forEach((s, j) => {
      if (p[j] === pool.y?.[s]) correct++;
    });
  }
  return { mode: 'accuracy', samples: pool.count, correct, accuracy: correct / pool.count };
}
