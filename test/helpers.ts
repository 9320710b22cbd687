import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../src/data/dataset.js';
import { initEngine } from '../src/engine/backend.js';

export const BACKENDS = ['cpu', 'wasm'] as const;

/** Activates a backend for the tests that follow. */
export async function useBackend(name: string): Promise<void> {
  await initEngine({ backend: name });
}

/** Max absolute difference between two tensors or arrays. */
export function maxAbsDiff(
  a: tf.Tensor | ArrayLike<number>,
  b: tf.Tensor | ArrayLike<number>,
): number {
  const x = a instanceof tf.Tensor ? a.dataSync() : a;
  const y = b instanceof tf.Tensor ? b.dataSync() : b;
  if (x.length !== y.length) throw new Error(`length mismatch ${x.length} vs ${y.length}`);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** ||got - want|| / ||want|| in the L2 norm, over want's length. */
export function relativeL2Error(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** Saves a model to memory (model.json + weights, as on disk) and loads it back. */
export async function saveAndLoad(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return tf.loadLayersModel(tf.io.fromMemory(saved as tf.io.ModelArtifacts));
}

/** Runs `f` with console.log swallowed (a command's printed tables), restoring it after. */
export async function quiet<T>(f: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => {};
  try {
    return await f();
  } finally {
    console.log = log;
  }
}

/** Copies of a model's weights (all of them, in `model.weights` order) as arrays. */
export function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.weights.map((w) => (w.read().dataSync() as Float32Array).slice());
}

/**
 * A batch of `rows` standard-normal samples of `shape` (tf.randomNormal with seed `seed`), row i
 * labelled `label(i)` of `classes` classes, with one-hot targets. The caller disposes it.
 */
export function normalBatch(
  shape: number[],
  rows: number,
  classes: number,
  seed: number,
  label: (i: number) => number,
): Batch {
  return tf.tidy(() => {
    const xs = tf.randomNormal([rows, ...shape], 0, 1, 'float32', seed);
    const labels = Int32Array.from({ length: rows }, (_, i) => label(i));
    const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat();
    return { xs, ys, labels, size: rows } as unknown as tf.TensorContainerObject;
  }) as unknown as Batch;
}
