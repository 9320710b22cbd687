import type * as tf from '@tensorflow/tfjs';
import type { NewLayer } from '../../rewrite/rewrite-model.js';
import { type EncodeOptions, encodeKernel, FLOAT_CODEC, type KernelCodec } from './kernel-codec.js';
import { PackedConv2D } from './packed-conv2d.js';
import { PackedDense } from './packed-dense.js';
import { PackedLayerBase } from './packed-layer-base.js';

/** A Dense or Conv2D layer (float or packed) seen through its kernel. */
export interface KernelLayer {
  layer: tf.layers.Layer;
  kind: 'dense' | 'conv2d';
  kernelShape: number[];
  codec: KernelCodec;
  /** The float kernel (decoded when packed). */
  kernel(): Float32Array;
  bias(): Float32Array | null;
  activation: string;
}

/** Views a layer as a kernel layer, or null when it holds no Dense/Conv2D kernel. */
export function asKernelLayer(layer: tf.layers.Layer): KernelLayer | null {
  const cls = layer.getClassName();
  if (layer instanceof PackedLayerBase) {
    return {
      layer,
      kind: layer instanceof PackedDense ? 'dense' : 'conv2d',
      kernelShape: layer.kernelShape,
      codec: layer.codec,
      kernel: () => layer.kernelValues(),
      bias: () => layer.biasValues(),
      activation: layer.activationName,
    };
  }
  if (cls !== 'Dense' && cls !== 'Conv2D') return null;
  const cfg = layer.getConfig();
  if (cls === 'Conv2D' && cfg.dataFormat === 'channelsFirst') return null;
  const [k, b] = layer.getWeights();
  return {
    layer,
    kind: cls === 'Dense' ? 'dense' : 'conv2d',
    kernelShape: k.shape,
    codec: FLOAT_CODEC,
    kernel: () => k.dataSync() as Float32Array,
    bias: () => (b ? (b.dataSync() as Float32Array) : null),
    activation: (cfg.activation as string) ?? 'linear',
  };
}

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

/**
 * The replacement of a kernel layer by a packed layer storing `kernel` (default: its current
 * float kernel) under `codec`.
 */
export function packedReplacement(
  k: KernelLayer,
  codec: KernelCodec,
  options: EncodeOptions & { kernel?: Float32Array; bias?: Float32Array | null } = {},
): NewLayer {
  const kernel = options.kernel ?? k.kernel();
  const bias = options.bias !== undefined ? options.bias : k.bias();
  const encoded = encodeKernel(kernel, k.kernelShape, codec, options);
  const base = {
    kernelShape: k.kernelShape,
    codec,
    useBias: bias !== null,
    activation: k.activation,
  };
  let config: Record<string, unknown> = base;
  if (k.kind === 'conv2d') {
    const c = k.layer.getConfig();
    config = {
      ...base,
      strides: pair(c.strides, 1),
      padding: c.padding ?? 'valid',
      dilationRate: pair(c.dilationRate, 1),
    };
  }
  return {
    className: k.kind === 'dense' ? PackedDense.className : PackedConv2D.className,
    config: { ...config, name: k.layer.name },
    weights: (layer) => (layer as PackedLayerBase).setPacked(encoded, bias ?? undefined),
  };
}
