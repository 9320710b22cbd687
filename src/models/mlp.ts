import * as tf from '@tensorflow/tfjs';
import { defaultSeed } from '../engine/settings.js';
import { checkPositiveInt, SeededInit } from './init.js';

export interface MlpConfig {
  inputShape: number[];
  numClasses: number;
  /** Widths of the hidden layers. */
  hidden?: number[];
  activation?: 'relu' | 'gelu' | 'tanh' | 'sigmoid' | 'elu' | 'swish';
  seed?: number;
}

/** Flatten, hidden Dense layers, and a Dense layer producing logits. */
export function buildMlp(config: MlpConfig): tf.LayersModel {
  const hidden = config.hidden ?? [128];
  hidden.forEach((h, i) => {
    checkPositiveInt(`mlp hidden[${i}]`, h);
  });
  checkPositiveInt('numClasses', config.numClasses);
  const init = new SeededInit(config.seed ?? defaultSeed());
  const model = tf.sequential({ name: 'mlp' });
  const flat = config.inputShape.length === 1;
  if (!flat) model.add(tf.layers.flatten({ inputShape: config.inputShape, name: 'flatten' }));
  hidden.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        ...(flat && i === 0 ? { inputShape: config.inputShape } : {}),
        units,
        activation: config.activation ?? 'relu',
        kernelInitializer: init.glorot(),
        name: `dense${i + 1}`,
      }),
    );
  });
  model.add(
    tf.layers.dense({
      ...(flat && hidden.length === 0 ? { inputShape: config.inputShape } : {}),
      units: config.numClasses,
      kernelInitializer: init.glorot(),
      name: 'logits',
    }),
  );
  return model;
}
