import * as tf from '@tensorflow/tfjs';
import { type DecomposeConfig, settingsFor, validateDecomposeConfig } from './config.js';
import { decomposeLayer, methodFits } from './decompose-layer.js';
import {
  applyReplacement,
  type LayerReport,
  type Replacement,
  type ReplacementLayers,
} from './replacement.js';

export interface DecomposeReport {
  layers: LayerReport[];
  paramsBefore: number;
  paramsAfter: number;
}

export interface DecomposeResult {
  /** A new functional LayersModel; the input model is left untouched. */
  model: tf.LayersModel;
  report: DecomposeReport;
}

type LayerNode = tf.layers.Layer['inboundNodes'][number];

/**
 * Replaces the Dense / Conv2D layers selected by `config` with their decompositions and
 * rebuilds the model (Sequential or functional, single-use layers) with every other layer
 * cloned and its weights copied. Everything is validated before any layer is built.
 */
export function decomposeModel(model: tf.LayersModel, config: DecomposeConfig): DecomposeResult {
  const cfg = validateDecomposeConfig(config);
  let inputs: tf.SymbolicTensor[] | undefined;
  try {
    inputs = model.inputs;
  } catch (e) {
    throw new Error(`decomposeModel: the model is not built: ${(e as Error).message}`);
  }
  if (!inputs || inputs.length === 0) throw new Error('decomposeModel: the model has no inputs');
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const names = new Set(model.layers.map((l) => l.name));
  const unknown = Object.keys(cfg.layers ?? {}).filter((n) => !names.has(n));
  if (unknown.length > 0) {
    throw new Error(
      `decompose config: unknown layer names ${unknown.join(', ')} (model layers: ${[...names].join(', ')})`,
    );
  }
  const replacements = new Map<string, Replacement>();
  try {
    for (const layer of layers) {
      const s = settingsFor(cfg, layer.name);
      if (s.skip || !s.method) continue;
      const explicit = cfg.layers?.[layer.name] !== undefined;
      if (!explicit && !methodFits(layer, s.method)) continue;
      replacements.set(layer.name, decomposeLayer(layer, s));
    }
  } catch (e) {
    for (const r of replacements.values()) tf.dispose(r.initialWeights);
    throw e;
  }
  const rebuilt = rebuildModel(model, replacements);
  return {
    model: rebuilt,
    report: {
      layers: [...replacements.values()].map((r) => r.report),
      paramsBefore: model.countParams(),
      paramsAfter: rebuilt.countParams(),
    },
  };
}

function cloneLayer(layer: tf.layers.Layer): tf.layers.Layer {
  const ctor = layer.constructor as unknown as {
    fromConfig: (cls: unknown, config: tf.serialization.ConfigDict) => tf.layers.Layer;
  };
  return ctor.fromConfig(ctor, layer.getConfig());
}

/**
 * A new functional model equal to `model` with the named layers replaced (their replacement
 * layers applied in a chain) and every other layer cloned with its weights. Consumes the
 * replacements' initial weights.
 */
export function rebuildModel(
  model: tf.LayersModel,
  replacements: Map<string, ReplacementLayers>,
): tf.LayersModel {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const unknown = [...replacements.keys()].filter((n) => !layers.some((l) => l.name === n));
  if (unknown.length > 0) throw new Error(`rebuildModel: no layers named ${unknown.join(', ')}`);
  const map = new Map<number, tf.SymbolicTensor>();
  const inputs = model.inputs.map((t) => {
    const x = tf.input({ batchShape: t.shape, dtype: t.dtype, name: t.sourceLayer.name });
    map.set(t.id, x);
    return x;
  });
  for (const layer of layers) {
    const nodes = layer.inboundNodes.filter((n: LayerNode) =>
      n.inputTensors.every((t) => map.has(t.id)),
    );
    if (nodes.length !== 1) {
      throw new Error(
        `layer '${layer.name}' is used ${nodes.length} times in the model; shared layers are not supported`,
      );
    }
    const node = nodes[0];
    const ins = node.inputTensors.map((t) => map.get(t.id)!);
    const rep = replacements.get(layer.name);
    let outs: tf.SymbolicTensor[];
    if (rep) {
      if (ins.length !== 1)
        throw new Error(`layer '${layer.name}' has ${ins.length} inputs; expected 1`);
      outs = [applyReplacement(rep, ins[0])];
    } else {
      const clone = cloneLayer(layer);
      const y = clone.apply(ins.length === 1 ? ins[0] : ins, node.callArgs);
      clone.setWeights(layer.getWeights());
      outs = Array.isArray(y) ? (y as tf.SymbolicTensor[]) : [y as tf.SymbolicTensor];
    }
    node.outputTensors.forEach((t, i) => {
      map.set(t.id, outs[i]);
    });
  }
  const outputs = model.outputs.map((t) => {
    const y = map.get(t.id);
    if (!y) throw new Error(`could not rebuild model output ${t.name}`);
    return y;
  });
  return tf.model({ inputs, outputs, name: `${model.name}_decomposed` });
}
