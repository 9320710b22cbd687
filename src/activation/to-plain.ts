import type * as tf from '@tensorflow/tfjs';
import { type LayerReplacement, type PyConfig, rebuildModel } from '../compress/model-surgery.js';
import '../models/layers/attention.js';
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
  const conv = { strides: c.strides, padding: c.padding, activation: c.activation };
  switch (className) {
    case 'FrugalCompressedDense':
      return {
        className: 'Dense',
        config: { units: c.units, activation: c.activation, useBias: c.useBias },
      };
    case 'FrugalCompressedConv2D':
      return {
        className: 'Conv2D',
        config: { filters: c.filters, kernelSize: c.kernelSize, useBias: c.useBias, ...conv },
      };
    case 'FrugalCompressedDepthwiseConv2D':
      return {
        className: 'DepthwiseConv2D',
        config: { kernelSize: c.kernelSize, depthMultiplier: 1, useBias: c.useBias, ...conv },
      };
    case 'FrugalCompressedBatchNorm':
      return {
        className: 'BatchNormalization',
        config: { axis: -1, momentum: c.momentum, epsilon: c.epsilon },
      };
    case 'FrugalCompressedLayerNorm':
      return { className: 'LayerNormalization', config: { axis: -1, epsilon: c.epsilon } };
    case 'FrugalCompressedActivation':
      return c.activation === 'relu'
        ? { className: 'ReLU', config: {} }
        : { className: 'Activation', config: { activation: c.activation } };
    case 'FrugalCompressedMaxPool2D':
      return {
        className: 'MaxPooling2D',
        config: { poolSize: c.poolSize, strides: c.strides, padding: c.padding },
      };
    case 'FrugalNoSaveAvgPool2D':
      return {
        className: 'AveragePooling2D',
        config: { poolSize: c.poolSize, strides: c.strides, padding: c.padding },
      };
    case 'FrugalCompressedDropout':
      return { className: 'Dropout', config: { rate: c.rate } };
    case 'FrugalNoSaveAdd':
      return { className: 'Add', config: {} };
    case 'FrugalNoSaveFlatten':
      return { className: 'Flatten', config: {} };
    case 'FrugalNoSaveGlobalAveragePooling':
      if (inputRank === 4) return { className: 'GlobalAveragePooling2D', config: {} };
      if (inputRank === 3) return { className: 'GlobalAveragePooling1D', config: {} };
      return { reason: `input of rank ${inputRank} has no plain global average pooling` };
    case 'FrugalCompressedMultiHeadSelfAttention':
      return {
        className: 'FrugalMultiHeadSelfAttention',
        config: {
          numHeads: c.numHeads,
          causal: c.causal,
          ...(c.seed != null ? { seed: c.seed } : {}),
        },
      };
    case 'FrugalNoSavePositionEmbedding':
      return {
        className: 'FrugalPositionEmbedding',
        config: c.seed != null ? { seed: c.seed } : {},
      };
    default:
      return null;
  }
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
  const replace = new Map<string, LayerReplacement>();
  for (const layer of model.layers) {
    const from = layer.getClassName();
    const p = plainOf(from, layer.getConfig(), inputRank(layer));
    if (p === null) continue;
    if ('reason' in p) {
      unrestored.push({ name: layer.name, className: from, reason: p.reason });
      continue;
    }
    const weights = layer.getWeights();
    replace.set(layer.name, {
      className: p.className,
      config: (old: PyConfig) => ({ ...p.config, trainable: old.trainable }),
      setWeights: weights.length > 0 ? (l) => l.setWeights(weights) : undefined,
    });
    restored.push({ name: layer.name, from, to: p.className });
  }
  return { model: await rebuildModel(model, { replace }), restored, unrestored };
}
