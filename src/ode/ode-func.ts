import * as tf from '@tensorflow/tfjs';
import type { ParamOdeFn } from './adjoint-backward.js';

/**
 * The right-hand side f(z, t; theta) of an ODE block: two convolutions (3x3, 'same') or two
 * dense layers, each fed the time t as one extra input channel (feature), with an activation
 * between them and a normalisation after each:
 *   f(z, t) = N2(L2([act(N1(L1([z, t]))), t]))
 */
export const ODE_FUNC_KINDS = ['conv', 'dense'] as const;
export type OdeFuncKind = (typeof ODE_FUNC_KINDS)[number];
/**
 * Normalisations inside f: none, batch norm (statistics of each evaluation's batch in training,
 * moving averages over the forward solve's evaluations in inference), layer norm (per sample),
 * weight norm (of the kernels).
 */
export const ODE_FUNC_NORMS = ['none', 'batch', 'layer', 'weight'] as const;
export type OdeFuncNorm = (typeof ODE_FUNC_NORMS)[number];
export const ODE_ACTIVATIONS = ['relu', 'tanh', 'softplus'] as const;
export type OdeActivation = (typeof ODE_ACTIVATIONS)[number];

export interface OdeFuncSpec {
  kind: OdeFuncKind;
  /** Channels (conv) or features (dense) of z. */
  channels: number;
  hidden: number;
  norm: OdeFuncNorm;
  activation: OdeActivation;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  init: 'glorot' | 'zeros' | 'ones' | 'norm-of-kernel';
  /** Moving statistics (batch norm) are not trained and not passed to the solvers. */
  trainable?: false;
  /** For 'norm-of-kernel': the index of the kernel whose column norms start the gain. */
  of?: number;
}

/** An ODE block's options of f, checked (`where` starts each error), defaults filled in. */
export function odeFuncOptions(
  where: string,
  o: { fn?: string; hidden?: number; norm?: string; activation?: string },
): {
  fn: OdeFuncKind | undefined;
  hidden: number | undefined;
  norm: OdeFuncNorm;
  activation: OdeActivation;
} {
  const oneOf = <T extends string>(what: string, choices: readonly T[], v: string): T => {
    if (!(choices as readonly string[]).includes(v))
      throw new Error(`${where}: ${what} must be one of ${choices.join(', ')}, got '${v}'`);
    return v as T;
  };
  const { hidden } = o;
  if (hidden !== undefined && (!Number.isInteger(hidden) || hidden < 1))
    throw new Error(`${where}: hidden must be a positive integer, got ${String(hidden)}`);
  return {
    fn: o.fn === undefined ? undefined : oneOf('fn', ODE_FUNC_KINDS, o.fn),
    hidden,
    norm: oneOf('norm', ODE_FUNC_NORMS, o.norm ?? 'none'),
    activation: oneOf('activation', ODE_ACTIVATIONS, o.activation ?? 'relu'),
  };
}

/** Adds one weight of a layer (its protected addWeight, bound): trainable or not. */
export type AddOdeWeight = (
  name: string,
  shape: number[],
  initializer: ReturnType<typeof tf.initializers.zeros>,
  trainable: boolean,
) => tf.LayerVariable;

/**
 * Adds f's weights (`odeFuncWeights`) through `add`: Glorot kernels seeded `seed`, `seed + 1`, ...
 * (unseeded without `seed`), ones, zeros, and weight-norm gains set to their kernel's column
 * norms. Returns the trained weights and the moving statistics, each in `makeOdeFunc`'s order.
 */
export function addOdeFuncWeights(
  add: AddOdeWeight,
  s: OdeFuncSpec,
  seed: number | undefined,
): { weights: tf.LayerVariable[]; moving: tf.LayerVariable[] } {
  let next = seed;
  const specs = odeFuncWeights(s);
  const all = specs.map((w) =>
    add(
      w.name,
      w.shape,
      w.init === 'glorot'
        ? tf.initializers.glorotUniform({ seed: next === undefined ? undefined : next++ })
        : w.init === 'ones' || w.init === 'norm-of-kernel'
          ? tf.initializers.ones()
          : tf.initializers.zeros(),
      w.trainable ?? true,
    ),
  );
  specs.forEach((w, i) => {
    if (w.init === 'norm-of-kernel') all[i].write(kernelColumnNorms(all[w.of as number].read()));
  });
  return {
    weights: all.filter((_, i) => specs[i].trainable !== false),
    moving: all.filter((_, i) => specs[i].trainable === false),
  };
}

/** The weights f needs, in the order `makeOdeFunc` reads them. */
export function odeFuncWeights(s: OdeFuncSpec): WeightSpec[] {
  const kShape = (cin: number, cout: number) =>
    s.kind === 'conv' ? [3, 3, cin + 1, cout] : [cin + 1, cout];
  const ws: WeightSpec[] = [
    { name: 'kernel1', shape: kShape(s.channels, s.hidden), init: 'glorot' },
    { name: 'bias1', shape: [s.hidden], init: 'zeros' },
    { name: 'kernel2', shape: kShape(s.hidden, s.channels), init: 'glorot' },
    { name: 'bias2', shape: [s.channels], init: 'zeros' },
  ];
  if (s.norm === 'layer') {
    ws.push(
      { name: 'ln1_gamma', shape: [s.hidden], init: 'ones' },
      { name: 'ln1_beta', shape: [s.hidden], init: 'zeros' },
      { name: 'ln2_gamma', shape: [s.channels], init: 'ones' },
      { name: 'ln2_beta', shape: [s.channels], init: 'zeros' },
    );
  } else if (s.norm === 'batch') {
    ws.push(
      { name: 'bn1_gamma', shape: [s.hidden], init: 'ones' },
      { name: 'bn1_beta', shape: [s.hidden], init: 'zeros' },
      { name: 'bn2_gamma', shape: [s.channels], init: 'ones' },
      { name: 'bn2_beta', shape: [s.channels], init: 'zeros' },
      { name: 'bn1_moving_mean', shape: [s.hidden], init: 'zeros', trainable: false },
      { name: 'bn1_moving_variance', shape: [s.hidden], init: 'ones', trainable: false },
      { name: 'bn2_moving_mean', shape: [s.channels], init: 'zeros', trainable: false },
      { name: 'bn2_moving_variance', shape: [s.channels], init: 'ones', trainable: false },
    );
  } else if (s.norm === 'weight') {
    ws.push(
      { name: 'wn1_g', shape: [s.hidden], init: 'norm-of-kernel', of: 0 },
      { name: 'wn2_g', shape: [s.channels], init: 'norm-of-kernel', of: 2 },
    );
  }
  return ws;
}

/** Column norms of a kernel over all axes but the last (the weight-norm gain that keeps W). */
export function kernelColumnNorms(kernel: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const axes = Array.from({ length: kernel.rank - 1 }, (_, i) => i);
    return tf.sqrt(tf.sum(tf.square(kernel), axes)) as tf.Tensor1D;
  });
}

function withTime(x: tf.Tensor, t: number): tf.Tensor {
  return tf.concat([x, tf.fill([...x.shape.slice(0, -1), 1], t)], -1);
}

function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i + 1);
  const { mean, variance } = tf.moments(x, axes, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
}

function act(x: tf.Tensor, a: OdeActivation): tf.Tensor {
  return a === 'relu' ? tf.relu(x) : a === 'tanh' ? tf.tanh(x) : tf.softplus(x);
}

/** Batch-norm mode of f: batch statistics (training) or the moving ones (inference). */
export interface BatchNormMode {
  training: boolean;
  /** [mean1, variance1, mean2, variance2]: the moving statistics. */
  moving: tf.Tensor[];
  /** Receives each training evaluation's batch statistics (norm index 0 or 1). */
  collect?: (index: number, mean: tf.Tensor, variance: tf.Tensor) => void;
}

function batchNorm(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  index: number,
  mode: BatchNormMode,
): tf.Tensor {
  let mean: tf.Tensor;
  let variance: tf.Tensor;
  if (mode.training) {
    const m = tf.moments(
      x,
      Array.from({ length: x.rank - 1 }, (_, i) => i),
    );
    mean = m.mean;
    variance = m.variance;
    mode.collect?.(index, mean, variance);
  } else {
    mean = mode.moving[2 * index];
    variance = mode.moving[2 * index + 1];
  }
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-3))), gamma), beta);
}

/**
 * f(t, z; params) for `tf` solvers, params = the trainable weights in the order of
 * `odeFuncWeights`. Batch norm needs `bn` (its mode and moving statistics).
 */
export function makeOdeFunc(s: OdeFuncSpec, bn?: BatchNormMode): ParamOdeFn {
  if (s.norm === 'batch' && !bn) throw new Error('makeOdeFunc: batch norm inside f needs its mode');
  const linear = (x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, g?: tf.Tensor) => {
    const k = g ? tf.mul(kernel, tf.div(g, kernelColumnNorms(kernel))) : kernel;
    const y =
      s.kind === 'conv'
        ? tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same')
        : tf.matMul(x as tf.Tensor2D, k as tf.Tensor2D);
    return tf.add(y, bias);
  };
  return (t, z, p) =>
    tf.tidy(() => {
      const wn = s.norm === 'weight';
      let h = linear(withTime(z, t), p[0], p[1], wn ? p[4] : undefined);
      if (s.norm === 'layer') h = layerNorm(h, p[4], p[5]);
      if (s.norm === 'batch') h = batchNorm(h, p[4], p[5], 0, bn as BatchNormMode);
      h = act(h, s.activation);
      let out = linear(withTime(h, t), p[2], p[3], wn ? p[5] : undefined);
      if (s.norm === 'layer') out = layerNorm(out, p[6], p[7]);
      if (s.norm === 'batch') out = batchNorm(out, p[6], p[7], 1, bn as BatchNormMode);
      return out;
    });
}
