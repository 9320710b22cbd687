import type * as tf from '@tensorflow/tfjs';
import { TokenSkip } from './skip.js';

/**
 * A dense warm-up for SkipViT, as training callbacks (`train(..., { callbacks })`): the model's
 * TokenSkip layers drop no token for the first `steps` training steps, then their configured
 * ratio (and keep it after training). Throws when the model has no TokenSkip layer or `steps`
 * is not a positive integer.
 */
export function skipWarmup(model: tf.LayersModel, steps: number): { onBatchBegin: () => void } {
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`skipWarmup: steps must be a positive integer, got ${steps}`);
  const layers = model.layers.filter((l): l is TokenSkip => l instanceof TokenSkip);
  if (layers.length === 0) throw new Error(`skipWarmup: ${model.name} has no TokenSkip layer`);
  const ratios = layers.map((l) => l.dropRatio);
  let step = 0;
  return {
    onBatchBegin: () => {
      layers.forEach((l, i) => {
        l.setDropRatio(step < steps ? 0 : ratios[i]);
      });
      step++;
    },
  };
}
