// 3D convolution computed with 2D convolutions on tensors of at most 4 dimensions (arXiv
// 2407.16514): conv3d(x, W)[t] = sum_tau conv2d(x[t*s + tau*d], W[tau]). The kd frames each
// output frame reads are sliced out of [B, D, H*W*C] (one slice per tap) and laid side by
// side on the channel axis, so the sum over tau becomes one conv2d with the kernel
// [kh, kw, kd*Cin, Cout]. Exact (same values as tf.conv3d up to float rounding), differentiable
// through stock tfjs gradients, including dilation in every axis (tf.conv3d has no gradient for
// dilation > 1; spatial dilation runs as a zero-filled kernel).
import * as tf from '@tensorflow/tfjs';

export type Triple = [number, number, number];

export interface Conv3dOptions {
  /** [depth, height, width] strides (or one number), default 1. */
  strides?: number | Triple;
  padding?: 'valid' | 'same';
  /** [depth, height, width] dilations (or one number), default 1. */
  dilations?: number | Triple;
}

/** One number or [d, h, w] as [d, h, w] of positive integers; errors start with `who`. */
export function triple(v: number | Triple | undefined, what: string, who = 'conv3dAs2d'): Triple {
  const t: Triple = v === undefined ? [1, 1, 1] : typeof v === 'number' ? [v, v, v] : v;
  if (!Array.isArray(t) || t.length !== 3 || t.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`${who}: ${what} must be positive integers [d, h, w], got ${String(v)}`);
  return t;
}

/** 'valid' or 'same' (default 'valid'); errors start with `who`. */
export function checkPadding(p: unknown, who = 'conv3dAs2d'): 'valid' | 'same' {
  const padding = p ?? 'valid';
  if (padding !== 'valid' && padding !== 'same')
    throw new Error(`${who}: padding must be 'valid' or 'same', got ${JSON.stringify(p)}`);
  return padding;
}

/** Output length and front padding of one axis, by TensorFlow's 'same' / 'valid' rules. */
export function axisPlan(
  size: number,
  k: number,
  stride: number,
  dilation: number,
  padding: 'valid' | 'same',
): { out: number; padFront: number; padBack: number } {
  const span = (k - 1) * dilation + 1;
  if (padding === 'valid') {
    const out = Math.floor((size - span) / stride) + 1;
    return { out, padFront: 0, padBack: 0 };
  }
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + span - size, 0);
  const padFront = Math.floor(total / 2);
  return { out, padFront, padBack: total - padFront };
}

/** A Conv3D kernel [kd, kh, kw, Cin, Cout] as the 2D kernel [kh, kw, kd*Cin, Cout] (4D ops only for the rearrangement). */
export function conv3dKernelTo2d(kernel: tf.Tensor5D): tf.Tensor4D {
  if (kernel.rank !== 5)
    throw new Error(
      `conv3dKernelTo2d: kernel must be [kd, kh, kw, Cin, Cout], got [${kernel.shape}]`,
    );
  const [kd, kh, kw, cin, cout] = kernel.shape;
  return tf.tidy(() =>
    tf
      .reshape(kernel, [kd, kh * kw, cin, cout])
      .transpose([1, 0, 2, 3])
      .reshape([kh, kw, kd * cin, cout]),
  );
}

/** The inverse of conv3dKernelTo2d, given the depth kd of the 3D kernel. */
export function conv2dKernelTo3d(kernel: tf.Tensor4D, kd: number): tf.Tensor5D {
  if (kernel.rank !== 4)
    throw new Error(
      `conv2dKernelTo3d: kernel must be [kh, kw, kd*Cin, Cout], got [${kernel.shape}]`,
    );
  if (!Number.isInteger(kd) || kd < 1)
    throw new Error(`conv2dKernelTo3d: depth must be a positive integer, got ${kd}`);
  const [kh, kw, kc, cout] = kernel.shape;
  if (kc % kd !== 0)
    throw new Error(`conv2dKernelTo3d: ${kc} input channels are not a multiple of depth ${kd}`);
  return tf.tidy(() =>
    tf
      .reshape(kernel, [kh * kw, kd, kc / kd, cout])
      .transpose([1, 0, 2, 3])
      .reshape([kd, kh, kw, kc / kd, cout]),
  );
}

/**
 * conv3d on a channels-last video x [B, D, H, W, C] with the 2D form of the kernel
 * ([kh, kw, kd*Cin, Cout], see conv3dKernelTo2d) and the depth kd. Every op it runs is on tensors
 * of rank <= 4 except the first reshape of x (a view) and the last one of the output.
 */
export function conv3dAs2dWith2dKernel(
  x: tf.Tensor,
  kernel2d: tf.Tensor4D,
  kd: number,
  options: Conv3dOptions = {},
): tf.Tensor {
  if (x.rank !== 5) throw new Error(`conv3dAs2d: input must be [B, D, H, W, C], got [${x.shape}]`);
  if (kernel2d.rank !== 4)
    throw new Error(
      `conv3dAs2d: the 2D kernel must be [kh, kw, kd*Cin, Cout], got [${kernel2d.shape}]`,
    );
  if (!Number.isInteger(kd) || kd < 1)
    throw new Error(`conv3dAs2d: kernel depth must be a positive integer, got ${kd}`);
  const [b, d, h, w, c] = x.shape;
  const [kh, kw, kc, cout] = kernel2d.shape;
  if (kc !== kd * c)
    throw new Error(
      `conv3dAs2d: kernel has ${kc} input channels, expected depth ${kd} x ${c} input channels`,
    );
  const strides = triple(options.strides, 'strides');
  const dilations = triple(options.dilations, 'dilations');
  const padding = checkPadding(options.padding);
  const plan = axisPlan(d, kd, strides[0], dilations[0], padding);
  if (plan.out < 1) throw new Error(`conv3dAs2d: depth ${d} is shorter than the kernel span`);
  for (const [size, k, dil] of [
    [h, kh, dilations[1]],
    [w, kw, dilations[2]],
  ] as const) {
    if (padding === 'valid' && size < (k - 1) * dil + 1)
      throw new Error(`conv3dAs2d: spatial size ${size} is smaller than the kernel span`);
  }
  return tf.tidy(() => {
    // Frames t*s + tau*dil for each tap tau: one slice per tap, the stride taken by a reshape
    // (Slice, Pad, Reshape, Concat: ops whose gradients every backend has, wasm included).
    const hwc = h * w * c;
    const s0 = strides[0];
    const padded = d + plan.padFront + plan.padBack;
    const extra = Math.max(0, (kd - 1) * dilations[0] + plan.out * s0 - padded);
    let flat: tf.Tensor = tf.reshape(x, [b, d, hwc]);
    if (plan.padFront + plan.padBack + extra > 0)
      flat = tf.pad(flat, [
        [0, 0],
        [plan.padFront, plan.padBack + extra],
        [0, 0],
      ]);
    const taps: tf.Tensor[] = [];
    for (let tau = 0; tau < kd; tau++) {
      let f = tf.slice(flat, [0, tau * dilations[0], 0], [b, plan.out * s0, hwc]);
      if (s0 > 1)
        f = tf.slice(tf.reshape(f, [b, plan.out, s0, hwc]), [0, 0, 0, 0], [b, plan.out, 1, hwc]);
      taps.push(tf.reshape(f, [b * plan.out, h * w, 1, c]));
    }
    const stacked = tf.reshape(kd === 1 ? taps[0] : tf.concat(taps, 2), [
      b * plan.out,
      h,
      w,
      kd * c,
    ]) as tf.Tensor4D;
    // Spatial dilation as a zero-filled kernel: tfjs has no conv2d gradient for dilation > 1.
    const k = dilateAxis(dilateAxis(kernel2d, 0, dilations[1]), 1, dilations[2]);
    const y = tf.conv2d(stacked, k, [strides[1], strides[2]], padding);
    const [, ho, wo] = y.shape;
    return tf.reshape(y, [b, plan.out, ho, wo, cout]);
  });
}

/** Inserts d - 1 zeros between the taps of axis 0 or 1 of a 2D kernel (differentiable). */
function dilateAxis(k: tf.Tensor4D, axis: 0 | 1, d: number): tf.Tensor4D {
  if (d === 1) return k;
  const [kh, kw, ci, co] = k.shape;
  const n = axis === 0 ? kh : kw;
  const moved = axis === 0 ? k : (tf.transpose(k, [1, 0, 2, 3]) as tf.Tensor4D);
  const rest = (axis === 0 ? kw : kh) * ci * co;
  const spread = tf
    .pad(tf.reshape(moved, [n, 1, rest]), [
      [0, 0],
      [0, d - 1],
      [0, 0],
    ])
    .reshape([n * d, rest])
    .slice([0, 0], [(n - 1) * d + 1, rest]);
  const back = tf.reshape(spread, [(n - 1) * d + 1, axis === 0 ? kw : kh, ci, co]) as tf.Tensor4D;
  return axis === 0 ? back : (tf.transpose(back, [1, 0, 2, 3]) as tf.Tensor4D);
}

/** Exact tf.conv3d(x, kernel, strides, padding, 'NDHWC', dilations) with 2D convolutions. */
export function conv3dAs2d(
  x: tf.Tensor,
  kernel: tf.Tensor5D,
  options: Conv3dOptions = {},
): tf.Tensor {
  if (kernel.rank !== 5)
    throw new Error(`conv3dAs2d: kernel must be [kd, kh, kw, Cin, Cout], got [${kernel.shape}]`);
  return tf.tidy(() =>
    conv3dAs2dWith2dKernel(x, conv3dKernelTo2d(kernel), kernel.shape[0], options),
  );
}
