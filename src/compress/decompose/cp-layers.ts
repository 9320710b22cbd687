import * as tf from '@tensorflow/tfjs';
import type { LayerDecomposition } from './config.js';
import { inProjection, outProjection } from './conv-projections.js';
import { convCost, cpCost } from './cost.js';
import { cpAdmmQuantized } from './cp-admm.js';
import { stabilizedCp } from './cp-stabilize.js';
import { balanceCp, type CpModel, cpRelativeError } from './cp-tensor.js';
import { type ConvInfo, readConv } from './layer-info.js';
import { resolveCpRank } from './rank-resolve.js';
import { type Replacement, toTensor } from './replacement.js';

/**
 * Conv2D [kh, kw, cin, cout] -> 1x1 conv (cin -> R), depthwise kh x 1 (stride [sh, 1]),
 * depthwise 1 x kw (stride [1, sw]), 1x1 conv (R -> cout, bias, activation): the CP form
 * K[h, w, s, t] = sum_r A_h[h, r] A_w[w, r] A_s[s, r] A_t[t, r]. 'same' padding splits exactly
 * (each 1-D filter pads only its own axis). Method 'cp' uses stabilised CP (ALS + error-preserving
 * correction); 'cp-admm' puts every factor on a `bits`-bit grid by ADMM.
 */
export function cpReplacement(layer: tf.layers.Layer, settings: LayerDecomposition): Replacement {
  const method = settings.method === 'cp-admm' ? 'cp-admm' : 'cp';
  const c = readConv(layer);
  const rank = resolveCpRank(c, { ...settings, method });
  if (method === 'cp-admm' && settings.bits === undefined) {
    throw new Error(`layer '${c.name}': cp-admm needs bits (2 to 8)`);
  }
  const stable = stabilizedCp(c.kernel, rank);
  let cp: CpModel;
  let relativeError: number;
  let grids: number[] = [];
  if (method === 'cp-admm') {
    const q = cpAdmmQuantized(c.kernel, rank, { bits: settings.bits!, init: stable.cp });
    cp = q.cp;
    relativeError = q.relativeError;
    grids = q.grids.map((g) => g.scale);
  } else {
    cp = balanceCp(stable.cp);
    relativeError = cpRelativeError(c.kernel, cp);
  }
  const { layers, initialWeights } = cpConvLayers(c, cp);
  const before = convCost(c);
  const after = cpCost(c, rank);
  return {
    layers,
    initialWeights,
    report: {
      layer: c.name,
      method,
      rank,
      paramsBefore: before.params,
      paramsAfter: after.params,
      flopsBefore: before.flops,
      flopsAfter: after.flops,
      relativeError,
      ...(method === 'cp-admm'
        ? {
            bits: settings.bits,
            // Factor order [kh, kw, cin, cout] = layers _cp_v, _cp_h, _cp_in, _cp_out.
            gridScales: {
              [`${c.name}_cp_v`]: grids[0],
              [`${c.name}_cp_h`]: grids[1],
              [`${c.name}_cp_in`]: grids[2],
              [`${c.name}_cp_out`]: grids[3],
            },
          }
        : {}),
      replacedBy: layers.map((l) => l.name),
    },
  };
}

/**
 * The four layers of a CP conv (1x1, kh x 1 depthwise, 1 x kw depthwise, 1x1) holding the
 * factors of `cp` (modes [kh, kw, cin, cout]) and the original bias and activation.
 */
export function cpConvLayers(
  c: ConvInfo,
  cp: CpModel,
): { layers: tf.layers.Layer[]; initialWeights: tf.Tensor[] } {
  const rank = cp.factors[0].cols;
  const shape = cp.factors.map((f) => f.rows);
  if (shape.join() !== [c.kh, c.kw, c.cin, c.cout].join()) {
    throw new Error(
      `layer '${c.name}': CP factors of [${shape}] do not fit kernel [${c.kernel.shape}]`,
    );
  }
  const [ah, aw, as, at] = cp.factors;
  const input = inProjection(c, as, `${c.name}_cp_in`);
  const wH = toTensor(ah.data, [c.kh, 1, rank, 1]);
  const wW = toTensor(aw.data, [1, c.kw, rank, 1]);
  const output = outProjection(c, at, `${c.name}_cp_out`);
  const layers = [
    input.layer,
    tf.layers.depthwiseConv2d({
      kernelSize: [c.kh, 1],
      strides: [c.strides[0], 1],
      padding: c.padding,
      dilationRate: [c.dilation[0], 1],
      useBias: false,
      name: `${c.name}_cp_v`,
      weights: [wH],
    }),
    tf.layers.depthwiseConv2d({
      kernelSize: [1, c.kw],
      strides: [1, c.strides[1]],
      padding: c.padding,
      dilationRate: [1, c.dilation[1]],
      useBias: false,
      name: `${c.name}_cp_h`,
      weights: [wW],
    }),
    output.layer,
  ];
  return { layers, initialWeights: [...input.weights, wH, wW, ...output.weights] };
}
