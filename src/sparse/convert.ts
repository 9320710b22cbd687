/**
 * `gradSparsity` for a whole model: every Dense / Conv2D becomes a SparseGradDense /
 * SparseGradConv2D with the same weights (through the rewrite engine), and back to the plain
 * layers after training (so a sparse-trained model saves and loads as plain tfjs layers).
 */
import type * as tf from '@tensorflow/tfjs';
import { type LayerEdit, rewriteModel } from '../rewrite/rewrite-model.js';
import { type GradPrune, type PruneStats, parseGradPrune } from './grad-prune.js';
import { SparseGradConv2D } from './sparse-grad-conv-layer.js';
import { SparseGradDense } from './sparse-grad-dense.js';

export interface SparseGradOptions {
  /** Also prune dy before the input-gradient product (default false). */
  pruneInputGrad?: boolean;
  /** Seed of the mask draws; layer i draws from seed + i (default 0). */
  seed?: number;
}

export interface SparseGradResult {
  model: tf.LayersModel;
  /** Layers converted: name and plain class. */
  converted: { name: string; from: string }[];
  /** Dense/Conv2D layers left plain, with the reason. */
  unconverted: { name: string; className: string; reason: string }[];
}

type Dict = tf.serialization.ConfigDict;

function pair(v: unknown): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  return [Number(v), Number(v)];
}

/** Why a Dense/Conv2D cannot become a sparse-gradient layer, or null when it can. */
function unsupported(layer: tf.layers.Layer, c: Dict): string | null {
  const act = c.activation ?? 'linear';
  if (act !== 'linear' && act !== 'relu')
    return `activation '${String(act)}' (linear or relu only)`;
  if (c.kernelRegularizer || c.biasRegularizer || c.activityRegularizer)
    return 'has a regularizer (not carried over)';
  if (c.kernelConstraint || c.biasConstraint) return 'has a constraint (not carried over)';
  const cls = layer.getClassName();
  if (cls === 'Dense') {
    const raw = layer.inboundNodes[0]?.inputShapes as tf.Shape | tf.Shape[] | undefined;
    const shape =
      raw && Array.isArray(raw[0]) ? (raw[0] as tf.Shape) : (raw as tf.Shape | undefined);
    if (shape && shape.length !== 2) return `input of rank ${shape.length} (rank 2 only)`;
    return null;
  }
  if ((c.dataFormat ?? 'channelsLast') !== 'channelsLast') return 'channels-first Conv2D';
  if (pair(c.dilationRate ?? 1).some((d) => d !== 1)) return 'dilated Conv2D';
  if (((c.groups as number | undefined) ?? 1) !== 1) return 'grouped Conv2D';
  if (c.padding !== 'same' && c.padding !== 'valid') return `padding '${String(c.padding)}'`;
  return null;
}

const TRAINING_ACT = /^Frugal(Compressed|NoSave)/;

/**
 * A copy of `model` whose Dense and Conv2D layers prune their output gradient by `spec` before
 * the weight-gradient product. The input model is not modified. Throws on a model with
 * compressed-activation layers (FrugalCompressed*): their backward is their own.
 */
export function sparseGradModel(
  model: tf.LayersModel,
  spec: GradPrune,
  options: SparseGradOptions = {},
): SparseGradResult {
  const g = parseGradPrune(spec);
  const actLayers = model.layers.filter((l) => TRAINING_ACT.test(l.getClassName()));
  if (actLayers.length > 0)
    throw new Error(
      `gradSparsity cannot be combined with compressed activations yet: ${actLayers[0].name} (${actLayers[0].getClassName()}) computes its own backward; convert the plain model, or train without one of them`,
    );
  const seed = options.seed ?? 0;
  const converted: SparseGradResult['converted'] = [];
  const unconverted: SparseGradResult['unconverted'] = [];
  let index = 0;
  const { model: out } = rewriteModel(model, (layer): LayerEdit | null => {
    const cls = layer.getClassName();
    if (cls !== 'Dense' && cls !== 'Conv2D') return null;
    const c = layer.getConfig();
    const why = unsupported(layer, c);
    if (why) {
      unconverted.push({ name: layer.name, className: cls, reason: why });
      return { keep: why };
    }
    const common = {
      name: layer.name,
      trainable: layer.trainable,
      activation: c.activation ?? 'linear',
      useBias: c.useBias ?? true,
      gradSparsity: g,
      pruneInputGrad: options.pruneInputGrad ?? false,
      seed: seed + index++,
    };
    const config =
      cls === 'Dense'
        ? { ...common, units: c.units }
        : {
            ...common,
            filters: c.filters,
            kernelSize: pair(c.kernelSize),
            strides: pair(c.strides ?? 1),
            padding: c.padding,
          };
    converted.push({ name: layer.name, from: cls });
    const className = cls === 'Dense' ? SparseGradDense.className : SparseGradConv2D.className;
    return { replace: [{ className, config, weights: layer.getWeights() }] };
  });
  if (converted.length === 0)
    throw new Error(
      `gradSparsity: no Dense or Conv2D layer to convert in ${model.name}${unconverted.length ? ` (${unconverted.map((u) => `${u.name}: ${u.reason}`).join('; ')})` : ''}`,
    );
  return { model: out, converted, unconverted };
}

/** Whether a model holds sparse-gradient layers. */
export function hasSparseGradLayers(model: tf.LayersModel): boolean {
  return model.layers.some((l) => l instanceof SparseGradDense || l instanceof SparseGradConv2D);
}

/** Pruned-gradient zeros and entries summed over a model's sparse-gradient layers. */
export function modelPruneStats(model: tf.LayersModel): PruneStats {
  const s = { zeros: 0, total: 0 };
  for (const l of model.layers)
    if (l instanceof SparseGradDense || l instanceof SparseGradConv2D) {
      s.zeros += l.pruneStats.zeros;
      s.total += l.pruneStats.total;
    }
  return s;
}

/** The plain model back: each sparse-gradient layer becomes its Dense / Conv2D, same weights. */
export function plainFromSparseGrad(model: tf.LayersModel): tf.LayersModel {
  return rewriteModel(model, (layer): LayerEdit | null => {
    const common = { name: layer.name, trainable: layer.trainable };
    if (layer instanceof SparseGradDense)
      return {
        replace: [
          {
            className: 'Dense',
            config: {
              ...common,
              units: layer.units,
              activation: layer.activationName,
              useBias: layer.useBias,
            },
            weights: layer.getWeights(),
          },
        ],
      };
    if (layer instanceof SparseGradConv2D)
      return {
        replace: [
          {
            className: 'Conv2D',
            config: {
              ...common,
              filters: layer.filters,
              kernelSize: [...layer.kernelSize],
              strides: [...layer.strides],
              padding: layer.padding,
              activation: layer.activationName,
              useBias: layer.useBias,
            },
            weights: layer.getWeights(),
          },
        ],
      };
    return null;
  }).model;
}
