/**
 * 8-bit training for a whole model, through the rewrite engine: every Dense / Conv2D becomes a
 * `LowPrecisionLayer` (quantized forward products, stochastically rounded layer gradients) and
 * every BatchNormalization a `RangeBatchNorm` (moving statistics carried over), with the same
 * weights. Train the result with the usual loop (`train`, `finetune`: the step seam). Layers that
 * cannot be converted are listed with the reason, never skipped silently.
 */
import type * as tf from '@tensorflow/tfjs';
import { type LayerEdit, type NewWeights, rewriteModel } from '../rewrite/rewrite-model.js';
import { LowPrecisionLayer } from './int8-layer.js';
import { type LowPrecisionSpec, parseLowPrecision } from './int8-spec.js';
import { RangeBatchNorm } from './range-bn.js';

export interface LowPrecisionOptions {
  /** What to quantize; null keeps the products float32 (Range BN only). */
  quantize: LowPrecisionSpec | null;
  /** Replace BatchNormalization by Range BN (default true). */
  rangeBn?: boolean;
  /** Chunks of Range BN (default 16). */
  rangeBnChunks?: number;
  /** Seed of the rounding draws; layer i draws from seed + i (default 0). */
  seed?: number;
}

export interface LowPrecisionResult {
  model: tf.LayersModel;
  /** Layers converted: name, class before and after. */
  converted: { name: string; from: string; to: string }[];
  /** Dense/Conv2D/BatchNormalization layers left as they were, with the reason. */
  unconverted: { name: string; className: string; reason: string }[];
}

type Dict = tf.serialization.ConfigDict;

function pair(v: unknown): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  return [Number(v ?? 1), Number(v ?? 1)];
}

const KERNEL_LAYERS = new Set([
  'Conv1D',
  'Conv2DTranspose',
  'Conv3D',
  'DepthwiseConv2D',
  'SeparableConv2D',
]);

function kernelUnsupported(c: Dict): string | null {
  if (c.kernelRegularizer || c.biasRegularizer || c.activityRegularizer)
    return 'has a regularizer (not carried over)';
  if (c.kernelConstraint || c.biasConstraint) return 'has a constraint (not carried over)';
  if (typeof (c.activation ?? 'linear') !== 'string') return 'activation is not a named one';
  return null;
}

function convUnsupported(c: Dict): string | null {
  if ((c.dataFormat ?? 'channelsLast') !== 'channelsLast') return 'channels-first Conv2D';
  if (pair(c.dilationRate).some((d) => d !== 1)) return 'dilated Conv2D';
  if (((c.groups as number | undefined) ?? 1) !== 1) return 'grouped Conv2D';
  if (c.padding !== 'same' && c.padding !== 'valid') return `padding '${String(c.padding)}'`;
  return kernelUnsupported(c);
}

function bnUnsupported(layer: tf.layers.Layer, c: Dict): string | null {
  const shape = layer.inboundNodes[0]?.inputShapes as tf.Shape | undefined;
  const rank = shape && !Array.isArray(shape[0]) ? shape.length : undefined;
  const axis = Array.isArray(c.axis) ? c.axis : [c.axis ?? -1];
  if (axis.length !== 1 || !(axis[0] === -1 || (rank !== undefined && axis[0] === rank - 1)))
    return `normalises axis ${String(c.axis)} (Range BN normalises the last axis)`;
  if (c.center === false || c.scale === false) return 'has no beta or no gamma';
  return null;
}

/**
 * A copy of `model` for 8-bit training (or, with `quantize: null`, with Range BN only). The input
 * model is not modified. Throws when nothing can be converted.
 */
export function lowPrecisionModel(
  model: tf.LayersModel,
  options: LowPrecisionOptions,
): LowPrecisionResult {
  const spec = options.quantize === null ? null : parseLowPrecision(options.quantize);
  const rangeBn = options.rangeBn ?? true;
  if (!spec && !rangeBn)
    throw new Error('lowPrecisionModel: quantize is null and rangeBn false: nothing to change');
  const seed = options.seed ?? 0;
  let index = 0;
  // What was converted and what was not (with the reasons) is the rewrite's report.
  const { model: out, report } = rewriteModel(model, (layer): LayerEdit | null => {
    const cls = layer.getClassName();
    const c = layer.getConfig();
    /** Replaces the layer by one `to` layer of the same name. */
    const swap = (to: string, config: Record<string, unknown>, weights: NewWeights): LayerEdit => ({
      replace: [{ className: to, config: { name: layer.name, ...config }, weights }],
    });
    if (cls === 'BatchNormalization' && rangeBn) {
      const why = bnUnsupported(layer, c);
      if (why) return { keep: why };
      const [gamma, beta, mean, variance] = layer.getWeights();
      const eps = (c.epsilon as number | undefined) ?? 1e-3;
      return swap(
        RangeBatchNorm.className,
        { momentum: c.momentum ?? 0.99, epsilon: eps, chunks: options.rangeBnChunks ?? 16 },
        // Range BN divides by its moving scale where batch norm divides by sqrt(var + eps).
        (l) => l.setWeights([gamma, beta, mean, variance.add(eps).sqrt()]),
      );
    }
    if (!spec) return null;
    if (KERNEL_LAYERS.has(cls))
      return { keep: `${cls} has no low-precision layer (Dense and Conv2D only)` };
    if (cls !== 'Dense' && cls !== 'Conv2D') return null;
    const why = cls === 'Dense' ? kernelUnsupported(c) : convUnsupported(c);
    if (why) return { keep: why };
    const w = layer.getWeights();
    return swap(
      LowPrecisionLayer.className,
      {
        kind: cls === 'Dense' ? 'dense' : 'conv2d',
        kernelShape: w[0].shape,
        lowPrecision: spec,
        useBias: c.useBias ?? true,
        activation: c.activation ?? 'linear',
        ...(cls === 'Conv2D' ? { strides: pair(c.strides), padding: c.padding } : {}),
        seed: seed + index++,
      },
      w,
    );
  });
  const converted = report.replaced.map((r) => ({
    name: r.name,
    from: r.className,
    to: r.by[0].className,
  }));
  const unconverted = report.kept;
  if (converted.length === 0) {
    out.dispose();
    throw new Error(
      `lowPrecisionModel: nothing to convert in ${model.name} (no Dense, Conv2D${rangeBn ? ' or BatchNormalization' : ''} layer that can be converted${unconverted.length ? `; ${unconverted.map((u) => `${u.name}: ${u.reason}`).join('; ')}` : ''})`,
    );
  }
  return { model: out, converted, unconverted };
}
