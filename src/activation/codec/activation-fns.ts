import * as tf from '@tensorflow/tfjs';
import { isRecording } from '../../engine/tape.js';

/** Pointwise activations the compressed layers support (tfjs-layers identifiers). */
export const ACTIVATIONS = [
  'linear',
  'relu',
  'gelu',
  'swish',
  'tanh',
  'sigmoid',
  'elu',
  'softplus',
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** Smooth activations whose backward can use few-bit interval codes. */
export const SMOOTH_ACTIVATIONS = ['gelu', 'swish', 'tanh', 'sigmoid', 'elu', 'softplus'] as const;
export type SmoothActivation = (typeof SMOOTH_ACTIVATIONS)[number];

export function isActivationName(n: unknown): n is ActivationName {
  return (ACTIVATIONS as readonly unknown[]).includes(n);
}

export function isSmooth(n: ActivationName): n is SmoothActivation {
  return (SMOOTH_ACTIVATIONS as readonly string[]).includes(n);
}

/** Maps tfjs-layers' spelling ('silu' is swish) to ours; undefined when unsupported. */
export function normalizeActivation(n: string | null | undefined): ActivationName | undefined {
  if (n == null) return 'linear';
  if (n === 'silu') return 'swish';
  return isActivationName(n) ? n : undefined;
}

/** A layer's activation option, normalized; refuses an unsupported one naming the layer. */
export function layerActivation(layer: string, n: string | null | undefined): ActivationName {
  const act = normalizeActivation(n);
  if (!act) throw new Error(`${layer}: unsupported activation '${n}'`);
  return act;
}

/** The activation itself, with the same formulas as tfjs-layers. */
export function applyActivation(name: ActivationName, z: tf.Tensor): tf.Tensor {
  switch (name) {
    case 'linear':
      return z;
    case 'relu':
      return tf.relu(z);
    case 'gelu':
      // Without a tape recording these ops, each temporary can go as soon as the next exists.
      if (!isRecording())
        return chain(
          tf.div(z, Math.SQRT2),
          tf.erf,
          (t) => tf.add(1, t),
          (t) => tf.mul(0.5, t),
          (t) => tf.mul(z, t),
        );
      return tf.mul(z, tf.mul(0.5, tf.add(1, tf.erf(tf.div(z, Math.SQRT2)))));
    case 'swish':
      return tf.mul(tf.sigmoid(z), z);
    case 'tanh':
      return tf.tanh(z);
    case 'sigmoid':
      return tf.sigmoid(z);
    case 'elu':
      return tf.elu(z);
    case 'softplus':
      return tf.softplus(z);
  }
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** d activation / dz as a tensor. */
export function activationDerivative(name: ActivationName, z: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    switch (name) {
      case 'linear':
        return tf.onesLike(z);
      case 'relu':
        return tf.cast(tf.greater(z, 0), 'float32');
      // Each full-size temporary is freed as soon as the next one exists: a backward's peak is
      // made of such temporaries (GELU's chain would otherwise hold ten of them at once).
      case 'gelu': {
        const cdf = chain(
          tf.div(z, Math.SQRT2),
          tf.erf,
          (t) => tf.add(1, t),
          (t) => tf.mul(0.5, t),
        );
        const zPdf = chain(
          tf.square(z),
          (t) => tf.mul(-0.5, t),
          tf.exp,
          (t) => tf.mul(INV_SQRT_2PI, t),
          (t) => tf.mul(z, t),
        );
        return chain(cdf, (t) => tf.add(t, zPdf));
      }
      case 'swish': {
        const s = tf.sigmoid(z);
        return chain(
          tf.sub(1, s),
          (t) => tf.mul(z, t),
          (t) => tf.add(1, t),
          (t) => tf.mul(s, t),
        );
      }
      case 'tanh':
        return tf.sub(1, tf.square(tf.tanh(z)));
      case 'sigmoid': {
        const s = tf.sigmoid(z);
        return tf.mul(s, tf.sub(1, s));
      }
      case 'elu':
        return tf.where(tf.greater(z, 0), tf.onesLike(z), tf.exp(z));
      case 'softplus':
        return tf.sigmoid(z);
    }
  });
}

/** Applies `steps` in turn, freeing each intermediate result once the next one exists. */
function chain(first: tf.Tensor, ...steps: ((t: tf.Tensor) => tf.Tensor)[]): tf.Tensor {
  let t = first;
  for (const f of steps) {
    const next = f(t);
    t.dispose();
    t = next;
  }
  return t;
}

/** erf by Abramowitz-Stegun 7.1.26 (absolute error below 1.5e-7). */
export function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-a * a);
  return s * y;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** d activation / dz at one point (for building few-bit tables). */
export function derivativeAt(name: SmoothActivation, x: number): number {
  switch (name) {
    case 'gelu':
      return 0.5 * (1 + erf(x / Math.SQRT2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case 'swish': {
      const s = sigmoid(x);
      return s * (1 + x * (1 - s));
    }
    case 'tanh': {
      const t = Math.tanh(x);
      return 1 - t * t;
    }
    case 'sigmoid': {
      const s = sigmoid(x);
      return s * (1 - s);
    }
    case 'elu':
      return x > 0 ? 1 : Math.exp(x);
    case 'softplus':
      return sigmoid(x);
  }
}
