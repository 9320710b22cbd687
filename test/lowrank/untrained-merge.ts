import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { type FsMergeOptions, fsMerge } from '../../src/lowrank/fs-merge.js';
import { useBackend, weightsOf } from '../helpers.js';

/**
 * On cpu, FS-Merge of build(seed) and build(seed + 1) without a training step (no samples of
 * `sampleShape`: the initialisation, folded). `check` gets the two inputs and the merged model;
 * the inputs are checked untouched after it, and all three disposed.
 */
export async function checkUntrainedMerge(
  build: (seed: number) => tf.LayersModel,
  sampleShape: number[],
  seed: number,
  options: FsMergeOptions,
  check: MergeCheck,
): Promise<void> {
  await useBackend('cpu');
  const a = build(seed);
  const b = build(seed + 1);
  const before = [weightsOf(a), weightsOf(b)];
  const none = tf.zeros([0, ...sampleShape]);
  const { model } = fsMerge(a, b, none, { ...options, steps: 0 });
  try {
    check(a, b, model);
    [a, b].forEach((m, j) => {
      assertWeights(m, before[j], 'the inputs are untouched');
    });
  } finally {
    none.dispose();
    for (const m of [model, a, b]) m.dispose();
  }
}

/** Asserts that `model`'s weights are `want`, exactly. */
export function assertWeights(model: tf.LayersModel, want: Float32Array[], what: string): void {
  const got = weightsOf(model);
  assert.equal(got.length, want.length, `${what}: weight count`);
  got.forEach((w, i) => {
    assert.deepEqual(Array.from(w), Array.from(want[i]), `${what}: weight ${i}`);
  });
}

/** The elementwise average of two models' weights, in float32. */
export function averageWeights(a: tf.LayersModel, b: tf.LayersModel): Float32Array[] {
  const wb = weightsOf(b);
  return weightsOf(a).map((w, i) => Float32Array.from(w, (v, k) => (v + wb[i][k]) / 2));
}

/** What checkUntrainedMerge checks: the two inputs and the merged model. */
export type MergeCheck = (a: tf.LayersModel, b: tf.LayersModel, merged: tf.LayersModel) => void;
