// The sequential reference of PipeDream-2BW's update rule, as a training-step hook: step b takes
// its gradient at the weights of `delay` steps earlier, W(b+1) = W(b) - lr * grad(W(b - delay)),
// with W(k) = W(0) for k < 0. Delay 1 is 2BW, delay 0 plain training. Plugs into any step
// through StepHooks.gradients (trainStep, the fine-tune loop).
import * as tf from '@tensorflow/tfjs';
import type { StepHooks } from '../train/gradients.js';

export interface DelayedGradients {
  hooks: StepHooks;
  /** Frees the weight snapshots the hook holds. */
  dispose(): void;
}

/** A hook that makes every step differentiate at the weights `delay` steps old (see above). */
export function delayedGradients(delay: number): DelayedGradients {
  if (!Number.isInteger(delay) || delay < 0)
    throw new Error(`delayedGradients: delay must be a non-negative integer, got ${delay}`);
  // Snapshots of the weights at the entry of the last `delay + 1` steps, oldest first.
  const history: tf.Tensor[][] = [];
  return {
    hooks: {
      gradients: (pass, ctx) => {
        if (delay === 0) return pass();
        const now = ctx.variables.map((v) => tf.keep(v.clone()));
        history.push(now);
        const stale = history[0];
        ctx.variables.forEach((v, j) => {
          v.assign(stale[j]);
        });
        try {
          return pass();
        } finally {
          ctx.variables.forEach((v, j) => {
            v.assign(now[j]);
          });
          if (history.length > delay) tf.dispose(history.shift());
        }
      },
    },
    dispose: () => {
      for (const h of history) tf.dispose(h);
      history.length = 0;
    },
  };
}
