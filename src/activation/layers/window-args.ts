import type * as tf from '@tensorflow/tfjs';
import { type ConvPadding, padBefore } from '../backward/conv-grad.js';

/** A kernel, stride or pool size given as one number or [rows, cols], as a [rows, cols] pair. */
export function pair(
  v: number | number[] | undefined | null,
  dflt: [number, number],
): [number, number] {
  if (v == null) return dflt;
  return typeof v === 'number' ? [v, v] : [v[0], v[1] ?? v[0]];
}

/** A sliding window's geometry: its size (kernel or pool), strides and padding. */
export interface Window {
  size: [number, number];
  strides: [number, number];
  padding: ConvPadding;
}

/**
 * The checked window of a conv or pool layer `layer`: `args[sizeName]` (default `dflt`), strides (default 1 for a kernel, the window for a pool) and padding ('valid' default).
 */
export function windowArgs(
  layer: string,
  sizeName: 'kernelSize' | 'poolSize',
  args: {
    kernelSize?: number | number[] | null;
    poolSize?: number | number[] | null;
    strides?: number | number[] | null;
    padding?: string;
  },
  dflt: [number, number],
): Window {
  const size = pair(args[sizeName], dflt);
  const strides = pair(args.strides, sizeName === 'poolSize' ? size : [1, 1]);
  for (const v of [...size, ...strides])
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`${layer}: ${sizeName} and strides must be positive integers`);
  const padding = args.padding ?? 'valid';
  if (padding !== 'valid' && padding !== 'same')
    throw new Error(`${layer}: padding must be 'valid' or 'same', got ${args.padding}`);
  return { size, strides, padding };
}

/** The channels of an NHWC input shape; refuses another rank or unknown channels. */
export function nhwcChannels(layer: string, inputShape: tf.Shape | tf.Shape[]): number {
  const shape = inputShape as tf.Shape;
  const c = shape[3];
  if (shape.length !== 4 || c == null)
    throw new Error(`${layer}: needs NHWC input with known channels, got [${shape}]`);
  return c;
}

/** The output shape [n, h', w', c] of a pool window over an NHWC input shape. */
export function pooledShape(inputShape: tf.Shape | tf.Shape[], win: Window): tf.Shape {
  const [n, h, w, c] = inputShape as tf.Shape;
  const out = (size: number | null, i: 0 | 1) =>
    size == null ? null : padBefore(size, win.size[i], win.strides[i], win.padding).out;
  return [n, out(h, 0), out(w, 1), c];
}
