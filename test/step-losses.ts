import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../src/data/dataset.js';
import { applyStep, defaultForward, trainableVariables } from '../src/train/gradients.js';
import { resolveLoss } from '../src/train/loss.js';
import { type StepContext, trainStep } from '../src/train/step.js';

/**
 * Training steps of `model` on one batch through `applyStep` (default forward, the 'auto' loss
 * for `numClasses` classes): each `step()` records its loss in `losses` and frees it.
 */
export function stepLosses(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  batch: { xs: tf.Tensor; ys: tf.Tensor },
  numClasses: number,
): { step: () => void; losses: number[] } {
  const ctx = {
    variables: trainableVariables(model),
    forward: defaultForward(model),
    loss: resolveLoss(model, 'auto', numClasses),
  };
  const losses: number[] = [];
  const step = () => {
    const l = applyStep(ctx, optimizer, batch);
    losses.push(l.dataSync()[0]);
    l.dispose();
  };
  return { step, losses };
}

/**
 * `1 + more` `trainStep`s of `ctx` on one batch: asserts the steps after the first leave the
 * tensor count unchanged and the last loss is below the first.
 */
export function assertLossFallsWithoutLeaks(ctx: StepContext, batch: Batch, more: number): void {
  const first = trainStep(ctx, batch);
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < more; i++) last = trainStep(ctx, batch);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(last < first, `loss ${first} -> ${last}`);
}
