import * as tf from '@tensorflow/tfjs';
import type { DecompositionMethod } from './config.js';

/** What decomposing one layer did. relativeError is ||K - K_hat||_F / ||K||_F of the kernel. */
export interface LayerReport {
  layer: string;
  method: DecompositionMethod;
  rank: number | number[];
  paramsBefore: number;
  paramsAfter: number;
  /** Multiply-adds per sample, when the spatial sizes are known. */
  flopsBefore: number | null;
  flopsAfter: number | null;
  relativeError: number;
  /** cp-admm: bits of the factor grid. */
  bits?: number;
  /**
   * cp-admm: grid step per new layer; every kernel value is step * k with integer
   * |k| <= 2^(bits-1) - 1, so the kernels can be stored as `bits`-bit codes exactly.
   */
  gridScales?: Record<string, number>;
  /** New layer names, in order. */
  replacedBy: string[];
}

/**
 * New layers that replace one trained layer, in application order, created with their
 * initial weights (set when first applied).
 */
export interface ReplacementLayers {
  layers: tf.layers.Layer[];
  /** The initial weight tensors, owned here; disposed by applyReplacements. */
  initialWeights: tf.Tensor[];
}

export interface Replacement extends ReplacementLayers {
  report: LayerReport;
}

/** float64 values to a float32 tensor of the given shape. */
export function toTensor(values: ArrayLike<number>, shape: number[]): tf.Tensor {
  return tf.tensor(Float32Array.from(values), shape, 'float32');
}
