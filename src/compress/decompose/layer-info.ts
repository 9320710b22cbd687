import type * as tf from '@tensorflow/tfjs';
import type { Mat } from '../linalg/matrix.js';
import type { Tensor64 } from '../linalg/tensor.js';

/** What a decomposition needs from a trained Dense layer. */
export interface DenseInfo {
  name: string;
  inDim: number;
  units: number;
  activation: string;
  /** Kernel [inDim, units] in float64. */
  kernel: Mat;
  bias: Float32Array | null;
}

/** What a decomposition needs from a trained Conv2D layer (channels-last). */
export interface ConvInfo {
  name: string;
  kh: number;
  kw: number;
  cin: number;
  cout: number;
  strides: [number, number];
  padding: 'valid' | 'same';
  dilation: [number, number];
  activation: string;
  /** Kernel [kh, kw, cin, cout] in float64. */
  kernel: Tensor64;
  bias: Float32Array | null;
  /** Input and output spatial sizes [h, w] when the model knows them (for FLOP counts). */
  inSize: [number, number] | null;
  outSize: [number, number] | null;
}

function pair(v: unknown, what: string, layer: string): [number, number] {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2 || a.some((x) => typeof x !== 'number')) {
    throw new Error(`layer '${layer}': unsupported ${what} ${JSON.stringify(v)}`);
  }
  return [a[0] as number, a[1] as number];
}

function finiteCopy(t: tf.Tensor, layer: string, what: string): Float64Array {
  const d = t.dataSync();
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      throw new Error(`layer '${layer}': ${what} has a non-finite value (${d[i]}) at index ${i}`);
    }
  }
  return Float64Array.from(d);
}

function activationName(config: tf.serialization.ConfigDict): string {
  const a = config.activation;
  return typeof a === 'string' ? a : 'linear';
}

function spatial(shape: unknown): [number, number] | null {
  if (!Array.isArray(shape) || Array.isArray(shape[0]) || shape.length !== 4) return null;
  const [, h, w] = shape as (number | null)[];
  return h != null && w != null ? [h, w] : null;
}

export function isDense(layer: tf.layers.Layer): boolean {
  return layer.getClassName() === 'Dense';
}

export function isConv2d(layer: tf.layers.Layer): boolean {
  return layer.getClassName() === 'Conv2D';
}

export function readDense(layer: tf.layers.Layer): DenseInfo {
  if (!isDense(layer))
    throw new Error(`layer '${layer.name}' is a ${layer.getClassName()}, not a Dense layer`);
  const config = layer.getConfig();
  const [kernel, bias] = layer.getWeights();
  const [inDim, units] = kernel.shape;
  return {
    name: layer.name,
    inDim,
    units,
    activation: activationName(config),
    kernel: { rows: inDim, cols: units, data: finiteCopy(kernel, layer.name, 'kernel') },
    bias: bias ? Float32Array.from(finiteCopy(bias, layer.name, 'bias')) : null,
  };
}

export function readConv(layer: tf.layers.Layer): ConvInfo {
  if (!isConv2d(layer))
    throw new Error(`layer '${layer.name}' is a ${layer.getClassName()}, not a Conv2D layer`);
  const config = layer.getConfig();
  if (config.dataFormat === 'channelsFirst') {
    throw new Error(`layer '${layer.name}': channelsFirst convolutions are not supported`);
  }
  if (config.padding !== 'valid' && config.padding !== 'same') {
    throw new Error(`layer '${layer.name}': padding '${config.padding}' is not supported`);
  }
  const [kernel, bias] = layer.getWeights();
  const [kh, kw, cin, cout] = kernel.shape;
  let inSize: [number, number] | null = null;
  let outSize: [number, number] | null = null;
  try {
    inSize = spatial((layer.input as tf.SymbolicTensor).shape);
    outSize = spatial((layer.output as tf.SymbolicTensor).shape);
  } catch {
    // A layer not yet connected has no shapes; FLOP counts are then unavailable.
  }
  return {
    name: layer.name,
    kh,
    kw,
    cin,
    cout,
    strides: pair(config.strides, 'strides', layer.name),
    padding: config.padding,
    dilation: pair(config.dilationRate, 'dilationRate', layer.name),
    activation: activationName(config),
    kernel: { shape: [kh, kw, cin, cout], data: finiteCopy(kernel, layer.name, 'kernel') },
    bias: bias ? Float32Array.from(finiteCopy(bias, layer.name, 'bias')) : null,
    inSize,
    outSize,
  };
}
