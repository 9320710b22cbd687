import * as tf from '@tensorflow/tfjs';
import { FrugalAdam } from './frugal-adam.js';

export const OPTIMIZERS = ['adam', 'sgd', 'momentum', 'rmsprop'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export function makeOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  switch (name) {
    case 'adam':
      // Same arithmetic as tf.train.adam, with a smaller step peak (see FrugalAdam).
      return new FrugalAdam(learningRate);
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
