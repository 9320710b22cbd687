// Complement objective training (Chen et al., ICLR 2019; henry8527/COT): every batch takes the
// usual cross-entropy step, then a second step on the same batch that flattens the predicted
// distribution over the wrong classes (maximises the complement entropy). The second step runs in
// the step seam's `afterUpdate` hook (it receives the step's context, batch and optimizer), so it
// is counted by the memory meter and composes with the other recipes.
import * as tf from '@tensorflow/tfjs';
import { computeGradients, type StepHooks } from '../train/gradients.js';
import type { Loss } from '../train/loss.js';

/** The reference code's guards: 1 - p_g is floored at 1e-7, the log argument at 1e-10. */
const GUARD_DENOM = 1e-7;
const GUARD_LOG = 1e-10;

/**
 * The complement-entropy objective the COT step minimises, per sample, from probabilities `p`
 * [N, K] and one-hot targets `ys`: (1/K) sum_{j != g} q_j log q_j with q_j = p_j / (1 - p_g) the
 * probability of wrong class j normalised over the wrong classes. It is minus the entropy of q
 * divided by K (the reference implementation's scale), so its minimum, -log(K - 1) / K, is
 * reached exactly when the wrong classes are equally likely, whatever p_g.
 */
export function complementEntropyPerSample(ys: tf.Tensor, p: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const k = p.shape[p.shape.length - 1] as number;
    const pg = tf.sum(tf.mul(ys, p), -1, true);
    const q = tf.div(p, tf.add(tf.sub(1, pg), GUARD_DENOM));
    const wrong = tf.sub(1, ys);
    const terms = tf.mul(wrong, tf.mul(q, tf.log(tf.add(q, GUARD_LOG))));
    return tf.div(tf.sum(terms, -1), k) as tf.Tensor1D;
  });
}

/** The batch mean of `complementEntropyPerSample`. */
export function complementEntropy(ys: tf.Tensor, p: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(complementEntropyPerSample(ys, p)) as tf.Scalar);
}

/** The complement-entropy loss on a model whose outputs the step's loss `base` reads. */
export function complementLoss(base: Loss): Loss {
  if (base.name === 'mse')
    throw new Error(
      'complement objective training needs a classifier (logits or softmax outputs), not the mse loss',
    );
  const probs = (out: tf.Tensor) => (base.name === 'logits' ? tf.softmax(out) : out);
  return {
    name: base.name,
    mean: (ys, out) => complementEntropy(ys, probs(out)),
    sum: (ys, out) => tf.sum(complementEntropyPerSample(ys, probs(out))) as tf.Scalar,
  };
}

export interface CotOptions {
  /**
   * The optimizer of the complement step (the reference trains it with its own optimizer of the
   * same kind and learning rate); default: the step's own optimizer (shared state). The caller
   * owns and disposes it.
   */
  optimizer?: tf.Optimizer;
}

/**
 * COT as step hooks: after the step's (cross-entropy) update, a complement-entropy pass at the
 * new weights and a second update. Twice the passes of a plain step.
 */
export function cotHooks(options: CotOptions = {}): StepHooks {
  return {
    afterUpdate: ({ ctx, batch, optimizer }) => {
      const c = { ...ctx, loss: complementLoss(ctx.loss) };
      const opt = options.optimizer ?? optimizer;
      tf.tidy(() => {
        const g = computeGradients(c, batch);
        opt.applyGradients(g.grads);
      });
    },
  };
}
