import * as tf from '@tensorflow/tfjs';
import { batches, type ClassificationData } from '../../data/dataset.js';
import { applyStep, defaultForward, type GradientContext } from '../../train/gradients.js';
import { type LossName, resolveLoss } from '../../train/loss.js';

export interface MaskedFinetuneOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** What the model outputs (see LOSSES; default 'auto'). */
  loss?: LossName;
  onStep?: (step: number, loss: number) => void;
}

export interface MaskedFinetuneResult {
  losses: number[];
  /** Layers whose kernels were frozen because the backend cannot compute their gradient. */
  frozen: string[];
}

/** Whether the active backend can compute the filter gradient of Conv2D (stock wasm cannot). */
export function canTrainConv(): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
}

/**
 * Fine-tunes a float model in place with fixed masks: after every optimizer step each masked
 * kernel is multiplied by its mask again (the step seam's `afterUpdate`), so pruned weights stay
 * exactly 0. Trains the model's
 * trainable weights, except conv kernels on backends without a conv filter gradient.
 */
export function finetuneWithMasks(
  model: tf.LayersModel,
  masks: Map<string, Uint8Array>,
  data: ClassificationData,
  options: MaskedFinetuneOptions,
): MaskedFinetuneResult {
  const convOk = canTrainConv();
  const frozen: string[] = [];
  const vars: tf.Variable[] = [];
  for (const layer of model.layers) {
    const isConv = layer.getClassName().includes('Conv');
    if (isConv && !convOk && layer.trainableWeights.length > 0) frozen.push(layer.name);
    for (const w of layer.trainableWeights) {
      if (isConv && !convOk && w.shape.length > 1) continue;
      vars.push(w.read() as tf.Variable);
    }
  }
  const masked = [...masks].map(([name, mask]) => {
    const variable = model.getLayer(name).weights[0].read() as tf.Variable;
    return { variable, mask: tf.tensor(mask, variable.shape, 'float32') };
  });
  const reapply = () => {
    for (const { variable, mask } of masked) tf.tidy(() => variable.assign(tf.mul(variable, mask)));
  };
  reapply();
  const ctx: GradientContext = {
    variables: vars,
    forward: defaultForward(model),
    loss: resolveLoss(model, options.loss, data.numClasses),
  };
  const optimizer: tf.Optimizer = tf.train.adam(options.learningRate);
  const losses: number[] = [];
  let step = 0;
  try {
    for (let epoch = 0; step < options.steps; epoch++) {
      for (const b of batches(data, 'train', options.batchSize, {
        shuffle: true,
        seed: options.seed * 7919 + epoch,
        dropRemainder: true,
      })) {
        if (step >= options.steps) {
          tf.dispose([b.xs, b.ys]);
          break;
        }
        const loss = applyStep(ctx, optimizer, b, { afterUpdate: reapply });
        const v = loss.dataSync()[0];
        loss.dispose();
        tf.dispose([b.xs, b.ys]);
        if (!Number.isFinite(v)) throw new Error(`masked fine-tuning diverged at step ${step + 1}`);
        losses.push(v);
        step++;
        options.onStep?.(step, v);
      }
    }
  } finally {
    optimizer.dispose();
    tf.dispose(masked.map((m) => m.mask));
  }
  return { losses, frozen };
}
