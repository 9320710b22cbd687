import * as tf from '@tensorflow/tfjs';
import type { LayerDecomposition } from './config.js';
import { denseCost, svdCost } from './cost.js';
import { svdFactors } from './dense-svd.js';
import { readDense } from './layer-info.js';
import { resolveSvdRank } from './rank-resolve.js';
import { type Replacement, toTensor } from './replacement.js';

/**
 * Dense [in, out] -> Dense [in, r] (no bias, linear) then Dense [r, out] (bias, activation),
 * from the truncated SVD W ~ (U sqrt(S)) (sqrt(S) V^T): the Frobenius-optimal rank-r kernel.
 */
export function svdReplacement(layer: tf.layers.Layer, settings: LayerDecomposition): Replacement {
  const d = readDense(layer);
  const rank = resolveSvdRank(d, { ...settings, method: 'svd' });
  const f = svdFactors(d.kernel, rank);
  const wa = toTensor(f.a.data, [d.inDim, rank]);
  const wb = toTensor(f.b.data, [rank, d.units]);
  const bias = d.bias ? [tf.tensor1d(d.bias)] : [];
  const first = tf.layers.dense({
    units: rank,
    useBias: false,
    name: `${d.name}_svd_in`,
    weights: [wa],
  });
  const second = tf.layers.dense({
    units: d.units,
    useBias: d.bias !== null,
    activation: d.activation as 'linear',
    name: `${d.name}_svd_out`,
    weights: [wb, ...bias],
  });
  const before = denseCost(d);
  const after = svdCost(d, rank);
  return {
    layers: [first, second],
    initialWeights: [wa, wb, ...bias],
    report: {
      layer: d.name,
      method: 'svd',
      rank,
      paramsBefore: before.params,
      paramsAfter: after.params,
      flopsBefore: before.flops,
      flopsAfter: after.flops,
      relativeError: f.relativeError,
      replacedBy: [first.name, second.name],
    },
  };
}
