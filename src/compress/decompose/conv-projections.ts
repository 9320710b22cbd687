import * as tf from '@tensorflow/tfjs';
import type { Mat } from '../linalg/matrix.js';
import type { ConvInfo } from './layer-info.js';
import { toTensor } from './replacement.js';

/** A new layer and the initial weight tensors it was created with. */
export interface ProjectionLayer {
  layer: tf.layers.Layer;
  weights: tf.Tensor[];
}

/** The 1x1 conv cin -> r that opens a factorized Conv2D: kernel [1, 1, cin, r] = u (cin x r), no bias. */
export function inProjection(c: ConvInfo, u: Mat, name: string): ProjectionLayer {
  const w = toTensor(u.data, [1, 1, c.cin, u.cols]);
  const layer = tf.layers.conv2d({
    filters: u.cols,
    kernelSize: 1,
    useBias: false,
    name,
    weights: [w],
  });
  return { layer, weights: [w] };
}

/**
 * The 1x1 conv r -> cout that closes a factorized Conv2D: kernel [1, 1, r, cout] = u^T
 * (u: cout x r), with the original layer's bias and activation.
 */
export function outProjection(c: ConvInfo, u: Mat, name: string): ProjectionLayer {
  const r = u.cols;
  const uT = new Float64Array(r * c.cout);
  for (let i = 0; i < c.cout; i++)
    for (let j = 0; j < r; j++) uT[j * c.cout + i] = u.data[i * r + j];
  const w = toTensor(uT, [1, 1, r, c.cout]);
  const bias = c.bias ? [tf.tensor1d(c.bias)] : [];
  const layer = tf.layers.conv2d({
    filters: c.cout,
    kernelSize: 1,
    useBias: c.bias !== null,
    activation: c.activation as 'linear',
    name,
    weights: [w, ...bias],
  });
  return { layer, weights: [w, ...bias] };
}
