import * as tf from '@tensorflow/tfjs';
import { canTrainConv } from '../compress/sparsity/masked-finetune.js';
import { batches, type ClassificationData } from '../data/dataset.js';
import { applyStep, defaultForward, type GradientContext } from '../train/gradients.js';
import { resolveLoss } from '../train/loss.js';

export interface QatFinetuneOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  onStep?: (step: number, loss: number) => void;
}

export interface QatFinetuneResult {
  losses: number[];
  /** Conv layers whose kernels stayed frozen (the backend has no conv filter gradient). */
  frozen: string[];
}

/** Fine-tunes a prepared (fake-quant) model in place through the training-step seam with Adam. */
export function finetuneQat(
  model: tf.LayersModel,
  data: ClassificationData,
  options: QatFinetuneOptions,
): QatFinetuneResult {
  const input = model.inputs[0].shape.slice(1);
  if (
    input.length !== data.sampleShape.length ||
    input.some((d, i) => d !== null && d !== data.sampleShape[i])
  ) {
    throw new Error(
      `finetuneQat: data samples have shape [${data.sampleShape}], the model expects [${input}]`,
    );
  }
  const convOk = canTrainConv();
  const frozen: string[] = [];
  const vars: tf.Variable[] = [];
  for (const layer of model.layers) {
    const isConv = layer.getConfig().kind === 'conv2d' || layer.getClassName().includes('Conv');
    if (isConv && !convOk && layer.trainableWeights.length > 0) frozen.push(layer.name);
    for (const w of layer.trainableWeights) {
      if (isConv && !convOk && w.shape.length > 1) continue;
      vars.push(w.read() as tf.Variable);
    }
  }
  const ctx: GradientContext = {
    variables: vars,
    forward: defaultForward(model),
    loss: resolveLoss(model, 'auto', data.numClasses),
  };
  const optimizer = tf.train.adam(options.learningRate);
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
        const loss = applyStep(ctx, optimizer, b);
        const v = loss.dataSync()[0];
        loss.dispose();
        tf.dispose([b.xs, b.ys]);
        if (!Number.isFinite(v)) throw new Error(`QAT fine-tuning diverged at step ${step + 1}`);
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
