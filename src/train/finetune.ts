// A fixed number of optimizer steps on a model in place: the fine-tune that compress's masked
// N:M step, QAT and other rewrites share, through the one training-step seam.
import * as tf from '@tensorflow/tfjs';
import { batches, type ClassificationData } from '../data/dataset.js';
import { applyStep, defaultForward, type GradientContext, type StepHooks } from './gradients.js';
import { type LossName, resolveLoss } from './loss.js';

export interface FinetuneOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** What the model outputs (see LOSSES; default 'auto'). */
  loss?: LossName;
  /** Step hooks (e.g. re-applying masks after each update). */
  hooks?: StepHooks;
  onStep?: (step: number, loss: number) => void;
}

export interface FinetuneResult {
  losses: number[];
  /** Layers whose kernels were frozen because the backend cannot compute their gradient. */
  frozen: string[];
}

/** Whether the active backend can compute the filter gradient of Conv2D (stock wasm cannot). */
export function canTrainConv(): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
}

/** The trainable variables, without conv kernels when the backend cannot train them. */
export function finetuneVariables(model: tf.LayersModel): {
  variables: tf.Variable[];
  frozen: string[];
} {
  const convOk = canTrainConv();
  const frozen: string[] = [];
  const variables: tf.Variable[] = [];
  for (const layer of model.layers) {
    const isConv = layer.getClassName().includes('Conv') || layer.getConfig().kind === 'conv2d';
    if (isConv && !convOk && layer.trainableWeights.length > 0) frozen.push(layer.name);
    for (const w of layer.trainableWeights) {
      if (isConv && !convOk && w.shape.length > 1) continue;
      variables.push(w.read() as tf.Variable);
    }
  }
  return { variables, frozen };
}

/**
 * `options.steps` Adam steps on `model`'s trainable weights (conv kernels frozen on backends
 * without a conv filter gradient), shuffled batches seeded per epoch; `what` names the caller in
 * the divergence error.
 */
export function finetune(
  model: tf.LayersModel,
  data: ClassificationData,
  options: FinetuneOptions,
  what = 'fine-tuning',
): FinetuneResult {
  const { variables, frozen } = finetuneVariables(model);
  const ctx: GradientContext = {
    variables,
    forward: defaultForward(model),
    loss: resolveLoss(model, options.loss ?? 'auto', data.numClasses),
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
        const loss = applyStep(ctx, optimizer, b, options.hooks);
        const v = loss.dataSync()[0];
        loss.dispose();
        tf.dispose([b.xs, b.ys]);
        if (!Number.isFinite(v)) throw new Error(`${what} diverged at step ${step + 1}`);
        losses.push(v);
        step++;
        options.onStep?.(step, v);
      }
    }
  } finally {
    optimizer.dispose();
  }
  return { losses, frozen };
}
