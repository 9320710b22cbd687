import * as tf from '@tensorflow/tfjs';
import { buildVit, type VitConfig } from '../src/models/vit/vit.js';
import { buildModel } from '../src/models/zoo.js';

/** A zoo CNN on 8x8x1 images with 3 classes unless told otherwise. */
export function tinyCnn(
  filters: [number, number],
  dense: number,
  seed: number,
  inputShape: [number, number, number] = [8, 8, 1],
  numClasses = 3,
): tf.LayersModel {
  return buildModel('cnn', { inputShape, numClasses, filters, dense, seed });
}

/** A zoo ResNet on 8x8x1 images with 3 classes. */
export function tinyResnet(widths: number[], seed: number): tf.LayersModel {
  return buildModel('resnet', { inputShape: [8, 8, 1], numClasses: 3, widths, seed });
}

/** A one-block zoo Transformer (width 8, 2 heads) on [length, features] inputs, 3 classes. */
export function tinyTransformer(
  seed: number,
  inputShape: [number, number] = [4, 6],
): tf.LayersModel {
  return buildModel('transformer', {
    inputShape,
    numClasses: 3,
    dModel: 8,
    numHeads: 2,
    numBlocks: 1,
    seed,
  });
}

/**
 * A Sequential MLP on [inputDim] inputs: one dense layer per [units, name], ReLU but the last
 * (linear), Glorot-uniform kernels seeded 1, 2, ... in order.
 */
export function seededMlp(inputDim: number, layers: [number, string][]): tf.Sequential {
  return tf.sequential({
    layers: layers.map(([units, name], i) =>
      tf.layers.dense({
        units,
        activation: i < layers.length - 1 ? 'relu' : undefined,
        inputShape: i === 0 ? [inputDim] : undefined,
        name,
        kernelInitializer: tf.initializers.glorotUniform({ seed: i + 1 }),
      }),
    ),
  });
}

/**
 * The small ViT of the ViT tests: 8x8x1 images in 2x2 patches (16 tokens and the class token),
 * width 8, 4 heads, 3 blocks, 3 classes.
 */
export const TINY_VIT = {
  inputShape: [8, 8, 1],
  numClasses: 3,
  patchSize: 2,
  dModel: 8,
  numHeads: 4,
  numBlocks: 3,
};

/** TINY_VIT with `more` on top (a seed, token skipping, head groups). */
export function tinyVit(more: Partial<VitConfig> = {}): tf.LayersModel {
  return buildVit({ ...TINY_VIT, ...more });
}
