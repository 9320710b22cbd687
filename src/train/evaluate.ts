import * as tf from '@tensorflow/tfjs';
import { batches, type ClassificationData } from '../data/dataset.js';
import { type Loss, type LossName, resolveLoss } from './loss.js';
import { defaultForward, type ForwardFn } from './step.js';

export interface Evaluation {
  accuracy: number;
  loss: number;
  count: number;
}

/** Accuracy and mean loss (the training loss, default 'auto') over a split, in inference mode. */
export function evaluate(
  model: tf.LayersModel,
  data: ClassificationData,
  which: 'train' | 'test' = 'test',
  options: { batchSize?: number; forward?: ForwardFn; loss?: LossName | Loss } = {},
): Evaluation {
  const forward = options.forward ?? defaultForward(model);
  const lossFn = resolveLoss(model, options.loss);
  let correct = 0;
  let lossSum = 0;
  let count = 0;
  for (const b of batches(data, which, options.batchSize ?? 256)) {
    const [c, l] = tf.tidy(() => {
      const outputs = forward(b.xs, false);
      const right = tf.equal(tf.argMax(outputs, -1), tf.tensor1d(b.labels, 'int32')).sum();
      const loss = lossFn.sum(b.ys, outputs);
      return [right.dataSync()[0], loss.dataSync()[0]];
    });
    correct += c;
    lossSum += l;
    count += b.size;
    tf.dispose([b.xs, b.ys]);
  }
  return { accuracy: correct / count, loss: lossSum / count, count };
}
