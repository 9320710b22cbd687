// Decoupled weight decay (Loshchilov & Hutter), one of the HAET recipe's parts: after each update
// every kernel (a trained variable of rank 2 or more: not biases, not batch-norm scales) shrinks
// by lr * decay, independently of the optimizer's moments. lr is the optimizer's rate at that
// step (so the decay follows a learning-rate schedule), or the given rate for an optimizer
// without a readable one.
import * as tf from '@tensorflow/tfjs';
import type { StepHooks } from '../train/gradients.js';
import { learningRateOf } from './lr-schedule.js';

function rateOf(optimizer: tf.Optimizer, fallback: number): number {
  try {
    return learningRateOf(optimizer);
  } catch {
    return fallback;
  }
}

/** w <- w (1 - lr * decay) for every kernel the step trains, after the update. */
export function weightDecayHooks(decay: number, learningRate: number): StepHooks {
  if (!(decay > 0)) throw new Error(`weight decay: decay must be above 0, got ${decay}`);
  if (!(learningRate > 0))
    throw new Error(`weight decay: learning rate must be above 0, got ${learningRate}`);
  const factor = 1 - learningRate * decay;
  if (!(factor > 0))
    throw new Error(
      `weight decay: lr * decay = ${learningRate * decay} would flip or zero the weights (must be below 1)`,
    );
  return {
    afterUpdate: ({ ctx, optimizer }) => {
      const lr = rateOf(optimizer, learningRate);
      const f = lr === learningRate ? factor : 1 - lr * decay;
      if (!(f > 0))
        throw new Error(
          `weight decay: lr * decay = ${lr * decay} would flip or zero the weights (must be below 1)`,
        );
      for (const v of ctx.variables) {
        if (v.rank < 2) continue;
        tf.tidy(() => {
          v.assign(tf.mul(v, f));
        });
      }
    },
  };
}
