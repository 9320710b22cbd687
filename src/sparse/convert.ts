/**
 * `gradSparsity` for a whole model: every Dense / Conv2D becomes a SparseGradDense /
 * SparseGradConv2D with the same weights (through the rewrite engine), and back to the plain
 * layers after training (so a sparse-trained model saves and loads as plain tfjs layers). A
 * compressed-activation FrugalCompressedDense / FrugalCompressedConv2D gets the same pruning
 * inside its own backward (its `gradSparsity` option, grad-pruner.ts); `compressActivations`
 * of a sparse-gradient model carries the pruning over the same way.
 */
import type * as tf from '@tensorflow/tfjs';
import { CompressedConv2D } from '../activation/layers/compressed-conv2d.js';
import { CompressedDense } from '../activation/layers/compressed-dense.js';
import { CompressedKernelLayer } from '../activation/layers/compressed-kernel-layer.js';
import { type LayerEdit, rewriteModel } from '../rewrite/rewrite-model.js';
import { type GradPrune, type PruneStats, parseGradPrune } from './grad-prune.js';
// Registers the pruner of compressed layers' `gradSparsity`.
import './grad-pruner.js';
import { SparseGradConv2D } from './sparse-grad-conv-layer.js';
import { SparseGradDense } from './sparse-grad-dense.js';
import { SparseGradLayer } from './sparse-grad-layer.js';

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

/**
 * A copy of `model` whose Dense and Conv2D layers prune their output gradient by `spec` before
 * the weight-gradient product. The input model is not modified. Compressed-activation Dense and
 * Conv2D layers (FrugalCompressedDense / FrugalCompressedConv2D) keep their class and get
 * `gradSparsity` (their backward prunes dz, dy through the saved activation derivative, the
 * same way; one that already prunes is left as it is and listed in `unconverted`).
 */
export function sparseGradModel(
  model: tf.LayersModel,
  spec: GradPrune,
  options: SparseGradOptions = {},
): SparseGradResult {
  const g = parseGradPrune(spec);
  const seed = options.seed ?? 0;
  let index = 0;
  // What was converted and what was not (with the reasons) is the rewrite's report.
  const { model: out, report } = rewriteModel(model, (layer): LayerEdit | null => {
    const cls = layer.getClassName();
    if (layer instanceof CompressedDense || layer instanceof CompressedConv2D) {
      if (layer.gradPruner) return { keep: 'already prunes its gradient (gradSparsity)' };
      const config = {
        ...layer.getConfig(),
        gradSparsity: g,
        pruneInputGrad: options.pruneInputGrad ?? false,
        gradSeed: seed + index++,
      };
      return { replace: [{ className: cls, config, weights: layer.getWeights() }] };
    }
    if (cls !== 'Dense' && cls !== 'Conv2D') return null;
    const c = layer.getConfig();
    const why = unsupported(layer, c);
    if (why) return { keep: why };
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
    const className = cls === 'Dense' ? SparseGradDense.className : SparseGradConv2D.className;
    return { replace: [{ className, config, weights: layer.getWeights() }] };
  });
  const converted = report.replaced.map((r) => ({ name: r.name, from: r.className }));
  const unconverted = report.kept;
  if (converted.length === 0) {
    // The rewritten copy holds its own weights: free it before refusing.
    out.dispose();
    throw new Error(
      `gradSparsity: no Dense or Conv2D layer to convert in ${model.name}${unconverted.length ? ` (${unconverted.map((u) => `${u.name}: ${u.reason}`).join('; ')})` : ''}`,
    );
  }
  return { model: out, converted, unconverted };
}

/** The prune counts of a layer whose backward prunes its gradient, or null for any other. */
function layerPruneStats(l: tf.layers.Layer): PruneStats | null {
  if (l instanceof SparseGradLayer) return l.pruneStats;
  if (l instanceof CompressedKernelLayer) return l.gradPruner?.stats ?? null;
  return null;
}

/** Whether a model holds layers that prune their gradient (sparse-gradient or compressed ones). */
export function hasSparseGradLayers(model: tf.LayersModel): boolean {
  return model.layers.some((l) => layerPruneStats(l) !== null);
}

/** Pruned-gradient zeros and entries summed over a model's gradient-pruning layers. */
export function modelPruneStats(model: tf.LayersModel): PruneStats {
  const s = { zeros: 0, total: 0 };
  for (const l of model.layers) {
    const p = layerPruneStats(l);
    if (p) {
      s.zeros += p.zeros;
      s.total += p.total;
    }
  }
  return s;
}

/**
 * The plain model back: each sparse-gradient layer becomes its Dense / Conv2D, same weights.
 * Compressed-activation layers are copied as they are (`toPlainModel` turns them back).
 */
export function plainFromSparseGrad(model: tf.LayersModel): tf.LayersModel {
  return rewriteModel(model, (layer): LayerEdit | null => {
    if (!(layer instanceof SparseGradLayer)) return null;
    const { className, config } = layer.plainLayer();
    return {
      replace: [
        {
          className,
          config: { name: layer.name, trainable: layer.trainable, ...config },
          weights: layer.getWeights(),
        },
      ],
    };
  }).model;
}
