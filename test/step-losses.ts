import type * as tf from '@tensorflow/tfjs';
import { applyStep, defaultForward, trainableVariables } from '../src/train/gradients.js';
import { resolveLoss } from '../src/train/loss.js';

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
