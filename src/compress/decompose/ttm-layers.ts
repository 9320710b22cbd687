import * as tf from '@tensorflow/tfjs';
import type { LayerDecomposition } from './config.js';
import { denseCost, ttmCost } from './cost.js';
import { balancedFactors } from './factorize.js';
import { readDense } from './layer-info.js';
import { resolveTtmRank } from './rank-resolve.js';
import { type Replacement, toTensor } from './replacement.js';
import { ttMatrixFromDense, ttMatrixToDense } from './tt-svd.js';
import { TtmDense } from './ttm-dense.js';

/** Dense -> one TtmDense layer initialised by TT-SVD of the trained kernel. */
export function ttmReplacement(layer: tf.layers.Layer, settings: LayerDecomposition): Replacement {
  const d = readDense(layer);
  const cores = settings.ttmCores ?? 3;
  const inF = settings.inFactors ?? balancedFactors(d.inDim, cores);
  const outF = settings.outFactors ?? balancedFactors(d.units, cores);
  const prod = (f: number[]) => f.reduce((a, b) => a * b, 1);
  if (prod(inF) !== d.inDim || prod(outF) !== d.units) {
    throw new Error(
      `layer '${d.name}': TTM factors [${inF}] x [${outF}] do not multiply to the kernel's ${d.inDim} x ${d.units}`,
    );
  }
  if (inF.length !== outF.length) {
    throw new Error(`layer '${d.name}': inFactors and outFactors need the same length`);
  }
  const rank = resolveTtmRank(d, { ...settings, method: 'ttm' }, inF, outF);
  const tt = ttMatrixFromDense(d.kernel.data, inF, outF, rank);
  const ranks = tt.slice(0, -1).map((c) => c.shape[3]);
  const weights = tt.map((c) => toTensor(c.data, c.shape));
  const bias = d.bias ? [tf.tensor1d(d.bias)] : [];
  const ttm = new TtmDense({
    inFactors: inF,
    outFactors: outF,
    ranks,
    activation: d.activation,
    useBias: d.bias !== null,
    name: `${d.name}_ttm`,
    weights: [...weights, ...bias],
  });
  const approx = ttMatrixToDense(tt);
  let err = 0;
  let norm = 0;
  for (let i = 0; i < approx.length; i++) {
    err += (approx[i] - d.kernel.data[i]) ** 2;
    norm += d.kernel.data[i] ** 2;
  }
  const before = denseCost(d);
  const after = ttmCost(d, inF, outF, ranks);
  return {
    layers: [ttm],
    initialWeights: [...weights, ...bias],
    report: {
      layer: d.name,
      method: 'ttm',
      rank: ranks,
      paramsBefore: before.params,
      paramsAfter: after.params,
      flopsBefore: before.flops,
      flopsAfter: after.flops,
      relativeError: norm > 0 ? Math.sqrt(err / norm) : 0,
      replacedBy: [ttm.name],
    },
  };
}
