import * as tf from '@tensorflow/tfjs';
import { makeRng } from '../../engine/random.js';
import type { KernelCodec } from '../packed/kernel-codec.js';
import type { KernelLayer } from '../packed/layer-kernels.js';
import type { RegressionData } from './layer-data.js';
import { channelRanges, codeRange, paramsFromRanges } from './uniform.js';

export interface AdaquantOptions {
  steps: number;
  learningRate: number;
  /** N:M mask to keep (1 = kept); pruned weights stay 0. */
  mask?: ArrayLike<number>;
  /** Rows per Adam step (all rows when fewer). */
  batchSize?: number;
  seed?: number;
}

export interface AdaquantResult {
  kernel: Float32Array;
  bias: Float32Array;
  ranges: { lo: Float32Array; hi: Float32Array };
  /** Output MSE on the calibration rows with round-to-nearest min/max quantization. */
  initialMse: number;
  /** Output MSE of the returned solution (never above initialMse). */
  finalMse: number;
}

/** Round with a straight-through gradient. */
const roundSte = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.round(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => dy,
})) as (x: tf.Tensor) => tf.Tensor;

/**
 * AdaQuant for one layer: optimise the kernel, the bias and the quantization ranges (log-scale
 * and, for affine, the offset per channel) with Adam to minimise the MSE between the quantized
 * layer's and the float layer's outputs on calibration rows. Rounding uses a straight-through
 * estimator; clipping passes no gradient outside the range. Keeps the round-to-nearest
 * solution if optimisation does not improve on it.
 */
export function adaquantLayer(
  data: RegressionData,
  k: KernelLayer,
  codec: KernelCodec,
  options: AdaquantOptions,
): AdaquantResult {
  const [fanIn, out] = [data.inputs.shape[1], data.targets.shape[1]];
  const kernel0 = k.kernel();
  const bias0 = k.bias() ?? new Float32Array(out);
  const perChannel = codec.granularity === 'channel';
  const mask = options.mask;
  const kept = mask ? kernel0.map((v, i) => (mask[i] ? v : 0)) : kernel0;
  const ch = perChannel ? out : 1;
  const r0 = channelRanges(kept, ch, perChannel ? (i) => i % out : () => 0);
  const p0 = paramsFromRanges(r0.lo, r0.hi, codec.bits, codec.scheme);
  const [cmin, cmax] = codeRange(codec.bits, codec.scheme);
  const symmetric = codec.scheme === 'symmetric';
  const half = 2 ** (codec.bits - 1);

  const w = tf.variable(tf.tensor2d(kernel0, [fanIn, out]));
  const b = tf.variable(tf.tensor1d(bias0));
  const logS = tf.variable(tf.log(tf.tensor1d(p0.scale)));
  const off = tf.variable(tf.tensor1d(p0.offset));
  const maskT = mask ? tf.tensor2d(Float32Array.from(mask), [fanIn, out]) : null;
  const quantized = (): tf.Tensor2D =>
    tf.tidy(() => {
      const s = tf.exp(logS);
      const o = symmetric ? tf.mul(s, -half) : off;
      const codes = tf.clipByValue(roundSte(tf.div(tf.sub(w, o), s)), cmin, cmax);
      const wq = tf.add(tf.mul(codes, s), o) as tf.Tensor2D;
      return maskT ? (tf.mul(wq, maskT) as tf.Tensor2D) : wq;
    });
  const mseOn = (x: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar =>
    tf.tidy(() => tf.mean(tf.squaredDifference(tf.add(tf.matMul(x, quantized()), b), y)));
  const fullMse = () => tf.tidy(() => mseOn(data.inputs, data.targets).dataSync()[0]);

  const initialMse = fullMse();
  const optimizer = tf.train.adam(options.learningRate);
  const rows = data.inputs.shape[0];
  const batch = Math.min(options.batchSize ?? 256, rows);
  const rng = makeRng(options.seed ?? 0);
  const vars = symmetric ? [w, b, logS] : [w, b, logS, off];
  for (let step = 0; step < options.steps; step++) {
    tf.tidy(() => {
      let x = data.inputs;
      let y = data.targets;
      if (batch < rows) {
        const idx = tf.tensor1d(
          Int32Array.from({ length: batch }, () => Math.floor(rng() * rows)),
          'int32',
        );
        x = tf.gather(x, idx);
        y = tf.gather(y, idx);
      }
      optimizer.minimize(() => mseOn(x, y), false, vars);
    });
  }
  const finalMse = fullMse();
  const improved = finalMse < initialMse;
  const scale = improved ? (tf.tidy(() => tf.exp(logS)).dataSync() as Float32Array) : p0.scale;
  const offset = improved
    ? symmetric
      ? scale.map((s) => -s * half)
      : (off.dataSync() as Float32Array).slice()
    : p0.offset;
  const result: AdaquantResult = {
    kernel: improved ? (w.dataSync() as Float32Array).slice() : kernel0,
    bias: improved ? (b.dataSync() as Float32Array).slice() : bias0,
    ranges: {
      lo: offset.map((o, c) => (symmetric ? -scale[c] * (half - 1) : o)),
      hi: offset.map((o, c) =>
        symmetric ? scale[c] * (half - 1) : o + scale[c] * (2 ** codec.bits - 1),
      ),
    },
    initialMse,
    finalMse: Math.min(finalMse, initialMse),
  };
  optimizer.dispose();
  tf.dispose([w, b, logS, off]);
  maskT?.dispose();
  return result;
}
