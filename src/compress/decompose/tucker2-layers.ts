import * as tf from '@tensorflow/tfjs';
import { tensorNorm } from '../linalg/tensor.js';
import type { LayerDecomposition } from './config.js';
import { inProjection, outProjection } from './conv-projections.js';
import { convCost, tucker2Cost } from './cost.js';
import { readConv } from './layer-info.js';
import { resolveTucker2Ranks } from './rank-resolve.js';
import { type Replacement, toTensor } from './replacement.js';
import { tucker2, tucker2Reconstruct } from './tucker2.js';

/**
 * Conv2D [kh, kw, cin, cout] -> 1x1 conv (cin -> r1), kh x kw conv (r1 -> r2, original strides,
 * padding and dilation), 1x1 conv (r2 -> cout, bias, activation), from Tucker-2 (HOSVD + HOOI).
 */
export function tucker2Replacement(
  layer: tf.layers.Layer,
  settings: LayerDecomposition,
): Replacement {
  const c = readConv(layer);
  const [r1, r2] = resolveTucker2Ranks(c, { ...settings, method: 'tucker2' });
  const t = tucker2(c.kernel, r1, r2);
  const input = inProjection(c, t.uIn, `${c.name}_tk_in`);
  const wCore = toTensor(t.core.data, [c.kh, c.kw, r1, r2]);
  const output = outProjection(c, t.uOut, `${c.name}_tk_out`);
  const layers = [
    input.layer,
    tf.layers.conv2d({
      filters: r2,
      kernelSize: [c.kh, c.kw],
      strides: c.strides,
      padding: c.padding,
      dilationRate: c.dilation,
      useBias: false,
      name: `${c.name}_tk_core`,
      weights: [wCore],
    }),
    output.layer,
  ];
  const before = convCost(c);
  const after = tucker2Cost(c, r1, r2);
  const rec = tucker2Reconstruct(t);
  let err = 0;
  for (let i = 0; i < rec.data.length; i++) err += (rec.data[i] - c.kernel.data[i]) ** 2;
  const norm = tensorNorm(c.kernel);
  return {
    layers,
    initialWeights: [...input.weights, wCore, ...output.weights],
    report: {
      layer: c.name,
      method: 'tucker2',
      rank: [r1, r2],
      paramsBefore: before.params,
      paramsAfter: after.params,
      flopsBefore: before.flops,
      flopsAfter: after.flops,
      relativeError: norm > 0 ? Math.sqrt(err) / norm : 0,
      replacedBy: layers.map((l) => l.name),
    },
  };
}
