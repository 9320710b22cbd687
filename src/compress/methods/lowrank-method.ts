import type * as tf from '@tensorflow/tfjs';
import {
  type DecomposeConfig,
  type LayerDecomposition,
  validateDecomposeConfig,
} from '../decompose/config.js';
import { methodFits } from '../decompose/decompose-layer.js';
import { decomposeModel } from '../decompose/decompose-model.js';
import type { RawOptions } from '../options.js';
import type { CompressionMethod } from '../registry.js';

/** Default when a step gives no method: Dense layers by truncated SVD at half their parameters. */
const DEFAULTS: LayerDecomposition = { method: 'svd', ratio: 0.5 };

/**
 * The layers that produce the model's outputs: from each output back through weightless
 * single-input layers (softmax, reshape) to the first layer with weights (the classifier head).
 */
function headLayers(model: tf.LayersModel): Set<string> {
  const heads = new Set<string>();
  for (const t of model.outputs) {
    let layer = t.sourceLayer as tf.layers.Layer;
    while (layer.weights.length === 0 && layer.inboundNodes[0]?.inboundLayers.length === 1)
      layer = layer.inboundNodes[0].inboundLayers[0] as tf.layers.Layer;
    heads.add(layer.name);
  }
  return heads;
}

/**
 * 'lowrank': the decomposition module's `decomposeModel` (SVD, Tucker-2, CP, ADMM-CP, TTM) as a
 * compress step. Options are a DecomposeConfig's per-layer settings; layer overrides become its
 * `layers` entries ('skip' -> { skip: true }).
 */
export const lowrankMethod: CompressionMethod<LayerDecomposition> = {
  name: 'lowrank',
  summary:
    'low-rank / tensor decompositions (svd, tucker2, cp, cp-admm, ttm; default svd at 0.5x, output layer kept)',
  appliesTo: 'Dense layers (svd, ttm) and Conv2D layers (tucker2, cp, cp-admm)',
  parseOptions: (raw: RawOptions, where) => {
    const settings = (Object.keys(raw).length === 0 ? DEFAULTS : raw) as LayerDecomposition;
    try {
      validateDecomposeConfig(settings);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
    return settings;
  },
  apply: async (model, options) => {
    const layers: Record<string, LayerDecomposition> = {};
    const notes: Record<string, string> = {};
    const heads = headLayers(model);
    for (const layer of model.layers) {
      const o = options.forLayer(layer.name);
      if (o === null) layers[layer.name] = { skip: true };
      else if (o !== options.global) layers[layer.name] = o;
      else if (heads.has(layer.name) && o.method !== undefined && methodFits(layer, o.method)) {
        // The output layer (a classifier head) is narrow: decomposing it saves little and costs
        // the most accuracy, so it is left alone unless the config names it.
        layers[layer.name] = { skip: true };
        notes[layer.name] =
          'skipped: output layer (decompose it by naming it in layers, e.g. { "rank": 8 })';
      }
    }
    const config: DecomposeConfig = { ...options.global, layers };
    const r = decomposeModel(model, config);
    return {
      model: r.model,
      layers: Object.fromEntries([
        ...Object.entries(notes),
        ...r.report.layers.flatMap((l) =>
          l.replacedBy.map((name) => [
            name,
            `${l.method} rank ${l.rank} of '${l.layer}': ${l.paramsBefore} -> ${l.paramsAfter} params, relative error ${l.relativeError.toExponential(2)}`,
          ]),
        ),
      ]),
    };
  },
};
