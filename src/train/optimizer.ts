import * as tf from '@tensorflow/tfjs';

export const OPTIMIZERS = ['adam', 'sgd', 'momentum', 'rmsprop'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export function makeOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  switch (name) {
    case 'adam':
      return tf.train.adam(learningRate);
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate);
    default:
      throw new Error(
        `Unknown optimizer '${String(name)}': choose one of ${OPTIMIZERS.join(', ')}`,
      );
  }
}
