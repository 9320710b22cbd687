import type * as tf from '@tensorflow/tfjs';

/** A Conv2D layer's geometry: kernel [kh, kw, in, out], strides, dilation (default 1), padding. */
export interface Conv2DLayerGeometry {
  readonly kernelShape: readonly number[];
  readonly strides: readonly [number, number];
  readonly dilationRate?: readonly [number, number];
  readonly padding: 'valid' | 'same';
}

/** The NHWC output shape of a Conv2D layer over [batch, h, w, c] (null sizes stay null), as tfjs computes it. */
export function conv2dOutputShape(inputShape: tf.Shape, g: Conv2DLayerGeometry): tf.Shape {
  const [b, h, w] = inputShape;
  const [kh, kw, , out] = g.kernelShape;
  const [dh, dw] = g.dilationRate ?? [1, 1];
  const size = (n: number | null, k: number, s: number, d: number) => {
    if (n == null) return null;
    const eff = (k - 1) * d + 1;
    return g.padding === 'same' ? Math.ceil(n / s) : Math.floor((n - eff) / s) + 1;
  };
  return [b, size(h, kh, g.strides[0], dh), size(w, kw, g.strides[1], dw), out];
}
