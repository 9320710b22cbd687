// Orthogonal over-parameterised training (OPT; Liu et al., CVPR 2021; wy1iu/OPT). A Dense layer's
// kernel W [in, units] (each column a neuron) stays frozen at its random initialisation; what
// trains is an orthogonal R [in, in] and the bias, and the layer computes x (R W) + b. Rotating
// every neuron by the same R keeps their pairwise angles, so the neurons' hyperspherical energy
// stays that of the random init. R comes from the Cayley transform of a learned skew-symmetric S:
// R = (I + S)^-1 (I - S). The stochastic variant (S-OPT) for wide layers learns R on a random
// block of `block` input dimensions only, and every `resampleEvery` steps folds R into W and
// draws a new block (`optHooks` does this after the update).
import * as tf from '@tensorflow/tfjs';
import { configWith } from '../models/layers/layer-config.js';
import type { OptVariant } from './config.js';
import { OptLayerBase, type OptLayerConfig } from './opt-layer.js';

export { drawOptRows, type OptLayer, optBlock } from './opt-layer.js';

/** Inverse of a square matrix (row-major, float64) by Gauss-Jordan with partial pivoting. */
export function invertMatrix(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
    const pivot = m[p * n + c];
    if (Math.abs(pivot) < 1e-300) throw new Error('invertMatrix: the matrix is singular');
    if (p !== c) {
      for (let j = 0; j < n; j++) {
        let t = m[c * n + j];
        m[c * n + j] = m[p * n + j];
        m[p * n + j] = t;
        t = inv[c * n + j];
        inv[c * n + j] = inv[p * n + j];
        inv[p * n + j] = t;
      }
    }
    const s = 1 / pivot;
    for (let j = 0; j < n; j++) {
      m[c * n + j] *= s;
      inv[c * n + j] *= s;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        m[r * n + j] -= f * m[c * n + j];
        inv[r * n + j] -= f * inv[c * n + j];
      }
    }
  }
  return inv;
}

/**
 * The Cayley transform R = (I + S)^-1 (I - S) of the skew-symmetric part S = A - A^T of a square
 * `a` [d, d]: orthogonal for every `a`. The forward pass inverts in float64 on the CPU (it reads
 * `a`'s values); the gradient is exact: dL/dS = -(I + S)^-T G (R + I)^T, and dL/dA = dL/dS -
 * (dL/dS)^T.
 */
export function cayley(a: tf.Tensor2D): tf.Tensor2D {
  const d = a.shape[0];
  if (a.shape[1] !== d) throw new Error(`cayley: expects a square matrix, got [${a.shape}]`);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const av = (args[0] as tf.Tensor).dataSync();
    const save = args[1] as tf.GradSaveFunc;
    const plus = new Float64Array(d * d);
    const minus = new Float64Array(d * d);
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        const s = av[i * d + j] - av[j * d + i];
        const e = i === j ? 1 : 0;
        plus[i * d + j] = e + s;
        minus[i * d + j] = e - s;
      }
    const inv = invertMatrix(plus, d);
    const r = new Float64Array(d * d);
    for (let i = 0; i < d; i++)
      for (let k = 0; k < d; k++) {
        const v = inv[i * d + k];
        if (v === 0) continue;
        for (let j = 0; j < d; j++) r[i * d + j] += v * minus[k * d + j];
      }
    const invT = tf.tensor2d(Float32Array.from(inv), [d, d]);
    const value = tf.tensor2d(Float32Array.from(r), [d, d]);
    save([invT, value]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const [mInv, rr] = saved as tf.Tensor2D[];
        const g = tf.neg(
          tf.matMul(
            tf.matMul(mInv, dy as tf.Tensor2D, true, false),
            tf.add(rr, tf.eye(d)),
            false,
            true,
          ),
        );
        return tf.sub(g, tf.transpose(g));
      },
    };
  });
  return f(a) as tf.Tensor2D;
}

/**
 * The kernel an OPT layer applies, from its frozen `w` [inputDim, units] (one column per neuron):
 * R W for the Cayley variant, W with only the block's `rows` rotated for the stochastic one.
 */
export function rotatedKernel(
  w: tf.Tensor2D,
  skew: tf.Tensor2D,
  rows: tf.Tensor1D,
  variant: OptVariant,
): tf.Tensor2D {
  return tf.tidy(() => {
    const r = cayley(skew);
    if (variant === 'cayley') return tf.matMul(r, w);
    const idx = tf.cast(rows, 'int32') as tf.Tensor1D;
    const sub = tf.gather(w, idx) as tf.Tensor2D;
    const delta = tf.sub(tf.matMul(r, sub), sub) as tf.Tensor2D;
    const onehot = tf.oneHot(idx, w.shape[0]).toFloat() as tf.Tensor2D;
    return tf.add(w, tf.matMul(onehot, delta, true, false)) as tf.Tensor2D;
  });
}

export interface OptDenseConfig extends OptLayerConfig {
  units: number;
  /** Input dimension (the frozen kernel's rows). */
  inputDim: number;
}

/** A Dense layer trained the OPT way (see the file comment). Weights: skew, bias, fixed kernel, rows. */
export class OptDense extends OptLayerBase {
  static className = 'FrugalOptDense';
  readonly units: number;

  constructor(c: OptDenseConfig) {
    super(c, c.inputDim);
    this.units = c.units;
  }

  override build(): void {
    this.addOptWeights([this.inputDim, this.units], this.units);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...s.slice(0, -1), this.units];
  }

  /** The kernel the layer applies: R W (cayley) or W with the block's rows rotated (stochastic). */
  effectiveKernel(): tf.Tensor2D {
    return rotatedKernel(
      (this.fixed as tf.LayerVariable).read() as tf.Tensor2D,
      (this.skew as tf.LayerVariable).read() as tf.Tensor2D,
      (this.rows as tf.LayerVariable).read() as tf.Tensor1D,
      this.variant,
    );
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const k = this.effectiveKernel();
      const flat = tf.reshape(x, [-1, this.inputDim]);
      let y: tf.Tensor = tf.matMul(flat, k);
      if (this.bias) y = tf.add(y, this.bias.read());
      y = tf.reshape(y, [...x.shape.slice(0, -1), this.units]);
      return this.act(y);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['units', 'inputDim'], this.optConfig());
  }
}
tf.serialization.registerClass(OptDense);
