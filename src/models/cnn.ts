import * as tf from '@tensorflow/tfjs';
import { defaultSeed } from '../engine/settings.js';
import { checkPositiveInt, SeededInit } from './init.js';

export interface CnnConfig {
  inputShape: number[];
  numClasses: number;
  /** Filters of the two 3x3 convolutions. */
  filters?: [number, number];
  dense?: number;
  seed?: number;
}

/**
 * The classifier a CNN ends with: flatten, dense(`dense`)-relu `dense1`, dense logits `logits`
 * (both kernels take the next seeds of `init`). Shared by the zoo CNN and the video CNN.
 */
export function addDenseHead(
  model: tf.Sequential,
  dense: number,
  numClasses: number,
  init: SeededInit,
): void {
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(
    tf.layers.dense({
      units: dense,
      activation: 'relu',
      kernelInitializer: init.glorot(),
      name: 'dense1',
    }),
  );
  model.add(
    tf.layers.dense({ units: numClasses, kernelInitializer: init.glorot(), name: 'logits' }),
  );
}

/**
 * The two conv widths and the dense width of a CNN config (the defaults where it gives none),
 * each checked to be a positive integer, errors naming `who`'s fields. Shared by the zoo CNN and
 * the video CNN.
 */
export function cnnWidths(
  who: string,
  config: { filters?: [number, number]; dense?: number },
  defaults: { filters: [number, number]; dense: number },
): { f1: number; f2: number; dense: number } {
  const [f1, f2] = config.filters ?? defaults.filters;
  const dense = config.dense ?? defaults.dense;
  checkPositiveInt(`${who} filters[0]`, f1);
  checkPositiveInt(`${who} filters[1]`, f2);
  checkPositiveInt(`${who} dense`, dense);
  return { f1, f2, dense };
}

/** conv3x3(32)-relu, conv3x3(64)-relu, maxpool 2x2, dense(128)-relu, dense(logits). */
export function buildCnn(config: CnnConfig): tf.LayersModel {
  const { f1, f2, dense } = cnnWidths('cnn', config, { filters: [32, 64], dense: 128 });
  if (config.inputShape.length !== 3) {
    throw new Error(
      `cnn needs image samples [height, width, channels], got [${config.inputShape}]`,
    );
  }
  const init = new SeededInit(config.seed ?? defaultSeed());
  const model = tf.sequential({ name: 'cnn' });
  model.add(
    tf.layers.conv2d({
      inputShape: config.inputShape,
      filters: f1,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init.glorot(),
      name: 'conv1',
    }),
  );
  model.add(
    tf.layers.conv2d({
      filters: f2,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init.glorot(),
      name: 'conv2',
    }),
  );
  model.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }));
  addDenseHead(model, dense, config.numClasses, init);
  return model;
}
