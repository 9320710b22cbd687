import type * as tf from '@tensorflow/tfjs';
import {
  CONV_METHODS,
  DENSE_METHODS,
  type DecompositionMethod,
  type LayerDecomposition,
} from './config.js';
import { cpReplacement } from './cp-layers.js';
import { isConv2d, isDense } from './layer-info.js';
import type { Replacement } from './replacement.js';
import { svdReplacement } from './svd-layers.js';
import { ttmReplacement } from './ttm-layers.js';
import { tucker2Replacement } from './tucker2-layers.js';

/** Whether `method` applies to this layer's type (Dense: svd, ttm; Conv2D: tucker2, cp, cp-admm). */
export function methodFits(layer: tf.layers.Layer, method: DecompositionMethod): boolean {
  if (isDense(layer)) return (DENSE_METHODS as readonly string[]).includes(method);
  if (isConv2d(layer)) return (CONV_METHODS as readonly string[]).includes(method);
  return false;
}

/**
 * Decomposes one trained layer into replacement layers (weights set on first apply; see
 * applyReplacements). Throws with the layer name for a method that does not fit its type,
 * impossible ranks, budgets too small, or non-finite weights.
 */
export function decomposeLayer(layer: tf.layers.Layer, settings: LayerDecomposition): Replacement {
  const method = settings.method;
  if (!method) throw new Error(`layer '${layer.name}': no decomposition method given`);
  if (!methodFits(layer, method)) {
    const kind = isDense(layer) ? 'Dense' : isConv2d(layer) ? 'Conv2D' : layer.getClassName();
    throw new Error(
      `layer '${layer.name}' is a ${kind} layer; method '${method}' applies to ${
        (DENSE_METHODS as readonly string[]).includes(method) ? 'Dense' : 'Conv2D'
      } layers`,
    );
  }
  switch (method) {
    case 'svd':
      return svdReplacement(layer, settings);
    case 'ttm':
      return ttmReplacement(layer, settings);
    case 'tucker2':
      return tucker2Replacement(layer, settings);
    case 'cp':
    case 'cp-admm':
      return cpReplacement(layer, settings);
  }
}
