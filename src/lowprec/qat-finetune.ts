import type * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../data/dataset.js';
import { finetune } from '../train/finetune.js';

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
  return finetune(model, data, options, 'QAT fine-tuning');
}
