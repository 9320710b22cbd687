import * as tf from '@tensorflow/tfjs';
import { rewriteModel } from '../../rewrite/rewrite-model.js';
import { type DecomposeConfig, settingsFor, validateDecomposeConfig } from './config.js';
import { decomposeLayer, methodFits } from './decompose-layer.js';
import type { LayerReport, Replacement, ReplacementLayers } from './replacement.js';
import { type SpeedDecision, selectBySpeed } from './speed-select.js';

export interface DecomposeReport {
  layers: LayerReport[];
  paramsBefore: number;
  paramsAfter: number;
  /** With select 'speed': each candidate layer's timings and the rank chosen (null: kept). */
  speed?: SpeedDecision[];
}

export interface DecomposeResult {
  /** A new model (Sequential stays Sequential); the input model is left untouched. */
  model: tf.LayersModel;
  report: DecomposeReport;
}

/**
 * Replaces the Dense / Conv2D layers selected by `config` with their decompositions and
 * rebuilds the model with `rewriteModel` (Sequential or functional; a shared layer's
 * decomposition is shared too), every other layer copied with its weights. Everything is
 * validated before any layer is built.
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
  const speed: SpeedDecision[] = [];
  try {
    for (const layer of layers) {
      const s = settingsFor(cfg, layer.name);
      if (s.skip || !s.method) continue;
      const explicit = cfg.layers?.[layer.name] !== undefined;
      if (!explicit && !methodFits(layer, s.method)) continue;
      if (cfg.select === 'speed') {
        const r = selectBySpeed(layer, s, {
          for: cfg.for as 'training' | 'inference',
          batch: cfg.speedBatch,
        });
        speed.push(r.decision);
        if (r.replacement) replacements.set(layer.name, r.replacement);
        continue;
      }
      replacements.set(layer.name, decomposeLayer(layer, s));
    }
  } catch (e) {
    for (const r of replacements.values()) tf.dispose(r.initialWeights);
    throw e;
  }
  const rebuilt = applyReplacements(model, replacements);
  return {
    model: rebuilt,
    report: {
      layers: [...replacements.values()].map((r) => r.report),
      paramsBefore: model.countParams(),
      paramsAfter: rebuilt.countParams(),
      ...(cfg.select === 'speed' ? { speed } : {}),
    },
  };
}

/**
 * A copy of `model` (Sequential stays Sequential) with the named layers replaced by their
 * replacement layers, applied in a chain, and every other layer copied with its weights. Consumes
 * (disposes) the replacements' initial weights, also on error.
 */
export function applyReplacements(
  model: tf.LayersModel,
  replacements: Map<string, ReplacementLayers>,
): tf.LayersModel {
  try {
    const plan = new Map(
      [...replacements].map(([name, r]) => [
        name,
        { replace: r.layers.map((layer) => ({ layer })) },
      ]),
    );
    return rewriteModel(model, plan).model;
  } finally {
    for (const r of replacements.values()) {
      tf.dispose(r.initialWeights);
      r.initialWeights = [];
    }
  }
}
