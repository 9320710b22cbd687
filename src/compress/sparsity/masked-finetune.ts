import * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../../data/dataset.js';
import { type FinetuneOptions, type FinetuneResult, finetune } from '../../train/finetune.js';

export { canTrainConv } from '../../train/finetune.js';
export type MaskedFinetuneOptions = Omit<FinetuneOptions, 'hooks'>;
export type MaskedFinetuneResult = FinetuneResult;

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
  const masked = [...masks].map(([name, mask]) => {
    const variable = model.getLayer(name).weights[0].read() as tf.Variable;
    return { variable, mask: tf.tensor(mask, variable.shape, 'float32') };
  });
  const reapply = () => {
    for (const { variable, mask } of masked) tf.tidy(() => variable.assign(tf.mul(variable, mask)));
  };
  try {
    reapply();
    return finetune(
      model,
      data,
      { ...options, hooks: { afterUpdate: reapply } },
      'masked fine-tuning',
    );
  } finally {
    tf.dispose(masked.map((m) => m.mask));
  }
}
