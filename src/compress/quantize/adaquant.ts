import * as tf from '@tensorflow/tfjs';
import { makeRng } from '../../engine/random.js';
import type { KernelCodec } from '../packed/kernel-codec.js';
import type { KernelLayer } from '../packed/layer-kernels.js';
import type { RegressionData } from './layer-data.js';
import { channelRanges, codeRange, paramsFromRanges, quantizeWith } from './uniform.js';

export interface AdaquantOptions {
  steps: number;
  /** Adam learning rate of the bias and the range parameters. */
  learningRate: number;
  /** Adam learning rate of the weights as a fraction of their RMS (default 1e-3). */
  weightLearningRate?: number;
  /** N:M mask to keep (1 = kept); pruned weights stay 0. */
  mask?: ArrayLike<number>;
  /** Rows per Adam step (all rows when fewer). */
  batchSize?: number;
  seed?: number;
  /** Called after every Adam step (for progress bars). */
  onStep?: (step: number) => void;
}

export interface AdaquantResult {
  kernel: Float32Array;
  bias: Float32Array;
  ranges: { lo: Float32Array; hi: Float32Array };
  /** Output MSE on the calibration rows with round-to-nearest min/max quantization. */
  initialMse: number;
  /** Output MSE of the returned solution (after clipping search and Adam; the best seen). */
  finalMse: number;
}

/**
 * Per-channel clipping that minimises the weight quantization MSE: shrink each channel's
 * min/max range by a ratio from a grid (1, 0.95, ..., 0.3) and keep the best (the start point).
 */
export function clippedRanges(
  values: ArrayLike<number>,
  ranges: { lo: Float32Array; hi: Float32Array },
  codec: KernelCodec,
  channelOf: (i: number) => number,
  mask?: ArrayLike<number>,
): { lo: Float32Array; hi: Float32Array } {
  const ch = ranges.lo.length;
  const best = {
    lo: ranges.lo.slice(),
    hi: ranges.hi.slice(),
    err: new Float64Array(ch).fill(Infinity),
  };
  for (let ratio = 1; ratio >= 0.3 - 1e-9; ratio -= 0.05) {
    const lo = ranges.lo.map((v) => v * ratio);
    const hi = ranges.hi.map((v) => v * ratio);
    const p = paramsFromRanges(lo, hi, codec.bits, codec.scheme);
    const codes = quantizeWith(values, p, codec.scheme, channelOf);
    const err = new Float64Array(ch);
    for (let i = 0; i < values.length; i++) {
      if (mask && !mask[i]) continue;
      const c = channelOf(i);
      err[c] += (codes[i] * p.scale[c] + p.offset[c] - values[i]) ** 2;
    }
    for (let c = 0; c < ch; c++) {
      if (err[c] < best.err[c]) {
        best.err[c] = err[c];
        best.lo[c] = lo[c];
        best.hi[c] = hi[c];
      }
    }
  }
  return { lo: best.lo, hi: best.hi };
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
 * estimator; clipping passes no gradient outside the range. Starts from per-channel
 * MSE-optimal clipping and returns the best state seen at checkpoints.
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
  const of = perChannel ? (i: number) => i % out : () => 0;
  const r0 = clippedRanges(kept, channelRanges(kept, ch, of), codec, of, mask);
  const p0 = paramsFromRanges(r0.lo, r0.hi, codec.bits, codec.scheme);
  const [cmin, cmax] = codeRange(codec.bits, codec.scheme);
  const symmetric = codec.scheme === 'symmetric';
  const half = 2 ** (codec.bits - 1);

  const [w, b, logS, off] = tf.tidy(() => [
    tf.variable(tf.tensor2d(kernel0, [fanIn, out])),
    tf.variable(tf.tensor1d(bias0)),
    tf.variable(tf.log(tf.tensor1d(p0.scale))),
    tf.variable(tf.tensor1d(p0.offset)),
  ]);
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

  const clippedMse = fullMse();
  const initialMse = tf.tidy(() => {
    const mm = channelRanges(kept, ch, of);
    const pm = paramsFromRanges(mm.lo, mm.hi, codec.bits, codec.scheme);
    const codes = quantizeWith(kept, pm, codec.scheme, of);
    const m = Float32Array.from(codes, (q, i) =>
      mask && !mask[i] ? 0 : q * pm.scale[of(i)] + pm.offset[of(i)],
    );
    const y = tf.add(tf.matMul(data.inputs, tf.tensor2d(m, [fanIn, out])), b);
    return tf.mean(tf.squaredDifference(y, data.targets)).dataSync()[0];
  });
  const optimizer = tf.train.adam(options.learningRate);
  const rms = Math.sqrt(kernel0.reduce((a, v) => a + v * v, 0) / kernel0.length) || 1;
  const weightOptimizer = tf.train.adam((options.weightLearningRate ?? 1e-3) * rms);
  const rows = data.inputs.shape[0];
  const batch = Math.min(options.batchSize ?? 256, rows);
  const rng = makeRng(options.seed ?? 0);
  const vars = symmetric ? [b, logS] : [b, logS, off];
  const snapshot = () => ({
    w: w.dataSync().slice() as Float32Array,
    b: b.dataSync().slice() as Float32Array,
    logS: logS.dataSync().slice() as Float32Array,
    off: off.dataSync().slice() as Float32Array,
  });
  let best = { mse: clippedMse, state: snapshot() };
  const every = Math.max(1, Math.floor(options.steps / 10));
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
      const { grads } = tf.variableGrads(() => mseOn(x, y), [w, ...vars]);
      weightOptimizer.applyGradients([{ name: w.name, tensor: grads[w.name] }]);
      optimizer.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
    });
    options.onStep?.(step + 1);
    if ((step + 1) % every === 0 || step === options.steps - 1) {
      const mse = fullMse();
      if (mse < best.mse) best = { mse, state: snapshot() };
    }
  }
  const st = best.state;
  const scale = st.logS.map(Math.exp);
  const offset = symmetric ? scale.map((v) => -v * half) : st.off;
  const result: AdaquantResult = {
    kernel: st.w,
    bias: st.b,
    ranges: {
      lo: offset.map((o, c) => (symmetric ? -scale[c] * (half - 1) : o)),
      hi: offset.map((o, c) =>
        symmetric ? scale[c] * (half - 1) : o + scale[c] * (2 ** codec.bits - 1),
      ),
    },
    initialMse,
    finalMse: best.mse,
  };
  optimizer.dispose();
  weightOptimizer.dispose();
  tf.dispose([w, b, logS, off]);
  maskT?.dispose();
  return result;
}
