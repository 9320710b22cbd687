import type * as tf from '@tensorflow/tfjs';
import { type LayerEdit, rewriteModel } from '../rewrite/rewrite-model.js';
import '../models/layers/attention.js';
import { pickConfig, TRAINING_LAYERS } from './convert.js';
import './layers/index.js';

type Dict = tf.serialization.ConfigDict;

/** One compressed-activation training layer turned back into its plain layer. */
export interface RestoredLayer {
  name: string;
  from: string;
  to: string;
}

/** A frugal training layer that has no plain equivalent here (it stays as it is). */
export interface UnrestoredLayer {
  name: string;
  className: string;
  reason: string;
}

export interface PlainModelResult {
  /** A new model; the input model is left untouched. */
  model: tf.LayersModel;
  restored: RestoredLayer[];
  unrestored: UnrestoredLayer[];
}

type Plain = { className: string; config: Dict } | { reason: string };

/** The plain layer (tfjs, or frugal's own model layers) a training layer stands for, from its config. */
function plainOf(className: string, c: Dict, inputRank: number): Plain | null {
  if (className === 'FrugalCompressedActivation')
    return c.activation === 'relu'
      ? { className: 'ReLU', config: {} }
      : { className: 'Activation', config: { activation: c.activation } };
  if (className === 'FrugalNoSaveGlobalAveragePooling') {
    if (inputRank === 4) return { className: 'GlobalAveragePooling2D', config: {} };
    if (inputRank === 3) return { className: 'GlobalAveragePooling1D', config: {} };
    return { reason: `input of rank ${inputRank} has no plain global average pooling` };
  }
  const entry = Object.entries(TRAINING_LAYERS).find(([, p]) => p.to === className);
  if (!entry) return null;
  const [plain, p] = entry;
  const config = pickConfig(c, p.keys);
  if (config.seed === null) delete config.seed;
  return { className: plain, config };
}

/** Whether a model holds frugal's compressed-activation training layers (FrugalCompressed*, FrugalNoSave*). */
export function hasTrainingLayers(model: tf.LayersModel): boolean {
  return model.layers.some((l) => /^Frugal(Compressed|NoSave)/.test(l.getClassName()));
}

function inputRank(layer: tf.layers.Layer): number {
  const shape = layer.inboundNodes[0]?.inputShapes as tf.Shape | tf.Shape[] | undefined;
  if (!shape) return 0;
  return (Array.isArray(shape[0]) ? (shape[0] as tf.Shape) : (shape as tf.Shape)).length;
}

/**
 * The plain model back after training with compressed activations (`compressActivations` /
 * `compressForTraining`): every FrugalCompressed* / FrugalNoSave* layer becomes the tfjs layer (or
 * frugal model layer, for attention and position embedding) it was converted from, with the same
 * weights and `trainable` flag, so the forward output is the same. The result saves and loads
 * without frugal's training layers and can be compressed, exported or trained in plain tfjs.
 * Other layers are copied as they are.
 */
export async function toPlainModel(model: tf.LayersModel): Promise<PlainModelResult> {
  const restored: RestoredLayer[] = [];
  const unrestored: UnrestoredLayer[] = [];
  const { model: out } = rewriteModel(model, (layer): LayerEdit | null => {
    const from = layer.getClassName();
    const p = plainOf(from, layer.getConfig(), inputRank(layer));
    if (p === null) return null;
    if ('reason' in p) {
      unrestored.push({ name: layer.name, className: from, reason: p.reason });
      return { keep: p.reason };
    }
    restored.push({ name: layer.name, from, to: p.className });
    const config = { ...p.config, name: layer.name, trainable: layer.trainable };
    return { replace: [{ className: p.className, config, weights: layer.getWeights() }] };
  });
  return { model: out, restored, unrestored };
}
