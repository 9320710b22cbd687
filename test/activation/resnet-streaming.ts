// The model-level check of the fused residual ops (identity-block.test.ts, projection-shortcut
// .test.ts): one training step of a small zoo ResNet, compressed at L3, through the streaming
// forward with and without fusion.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { compressActivations } from '../../src/activation/convert.js';
import { streamingForward } from '../../src/activation/execution/streaming-forward.js';
import { seedActivationRng } from '../../src/engine/settings.js';
import { classificationLoss, trainableVariables } from '../../src/train/step.js';
import { maxAbsDiff, relativeL2Error } from '../helpers.js';

export interface StreamingStep {
  /** The loss, then the gradient of each trainable variable. */
  out: tf.Tensor[];
  /** The moving statistics of the batch norms named, after the step. */
  stats: tf.Tensor[];
  model: tf.LayersModel;
}

/**
 * Compresses `base` at L3 (2 bits, or `bits`; `prepare` may then change its layers), and runs one training step of
 * its streaming forward (`fuse` or not) on a fixed batch, twice: the second must leave exactly its
 * outputs behind (no leak).
 */
export async function streamingStep(
  base: tf.LayersModel,
  fuse: boolean,
  statsOf: string[],
  prepare: (model: tf.LayersModel) => void = () => {},
  bits: 2 | 8 = 2,
): Promise<StreamingStep> {
  const r = await compressActivations(base, { level: 'L3', bits }, { warn: () => {} });
  prepare(r.model);
  const xs = tf.randomNormal([6, 8, 8, 1], 0, 1, 'float32', 3);
  const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0, 2], 'int32'), 3);
  const vars = trainableVariables(r.model);
  const f = streamingForward(r.model, { fuse });
  const once = () => {
    seedActivationRng(11);
    const { value, grads } = tf.variableGrads(() => classificationLoss(ys, f(xs, true)), vars);
    return [value, ...vars.map((v) => grads[v.name])];
  };
  tf.dispose(once());
  const before = tf.memory().numTensors;
  const out = once();
  assert.equal(tf.memory().numTensors, before + out.length);
  const stats = statsOf.flatMap((n) =>
    r.model
      .getLayer(n)
      .getWeights()
      .slice(2)
      .map((t) => t.clone()),
  );
  tf.dispose([xs, ys]);
  return { out, stats, model: r.model };
}

/**
 * Checks that `fused` has `plain`'s loss and moving statistics (within 1e-5); returns the cosine
 * between their gradients (all variables as one vector) and the largest relative L2 error of one
 * variable's gradient. Disposes both.
 */
export function compareSteps(
  plain: StreamingStep,
  fused: StreamingStep,
): { cosine: number; worst: number } {
  assert.ok(Math.abs(plain.out[0].dataSync()[0] - fused.out[0].dataSync()[0]) < 1e-5);
  plain.stats.forEach((s, i) => {
    assert.ok(maxAbsDiff(s, fused.stats[i]) < 1e-5, `moving statistic ${i}`);
  });
  const grads = (st: StreamingStep) => st.out.slice(1);
  const worst = Math.max(
    ...grads(plain).map((g, i) => relativeL2Error(grads(fused)[i].dataSync(), g.dataSync())),
  );
  const flat = (ts: tf.Tensor[]) => tf.concat(ts.map((t) => t.reshape([-1])));
  const [p, q] = [flat(grads(plain)), flat(grads(fused))];
  const cosine = tf.tidy(
    () =>
      tf
        .sum(tf.mul(p, q))
        .div(tf.norm(p).mul(tf.norm(q)))
        .dataSync()[0],
  );
  tf.dispose([...plain.out, ...fused.out, ...plain.stats, ...fused.stats, p, q]);
  plain.model.dispose();
  fused.model.dispose();
  return { cosine, worst };
}
