/**
 * A compressed kernel layer's hook on its backward: what its weight-gradient (and optionally
 * input-gradient) product reads in place of dz, dy through the activation's saved derivative.
 * `gradSparsity` (sparse N:M or stochastic pruning of dz) implements it in src/sparse
 * (grad-pruner.ts), which registers itself here when loaded: this folder does not import
 * src/sparse (the sparse module builds on the compressed layers).
 */
import type * as tf from '@tensorflow/tfjs';
import type { ConvGrads } from './conv-grad.js';

/** Which product reads dz. */
export type GradUse = 'weight' | 'input';

/** The layer options of a gradient transform (serialized with the layer). */
export interface GradTransformArgs {
  /** `{n, m, kind}` (N:M mask) or `{kind: 'stochastic', p}`; checked by src/sparse. */
  gradSparsity?: { kind: string; n?: number; m?: number; p?: number } | null;
  /** The input-gradient product reads the transformed dz too (default false). */
  pruneInputGrad?: boolean;
  /** Seed of the transform's random draws (default 0). */
  gradSeed?: number;
}

export interface GradTransform {
  /** dz as the `use` product reads it: a new tensor (the caller frees it) or dz itself. */
  operand(dz: tf.Tensor, use: GradUse): tf.Tensor;
  /** Zeros and entries of the transformed gradients so far. */
  readonly stats: { zeros: number; total: number };
  /** The layer options that rebuild it. */
  getConfig(): Required<GradTransformArgs>;
}

type Factory = (layer: string, args: GradTransformArgs) => GradTransform;
let factory: Factory | null = null;

/** Installs the builder of `gradSparsity` transforms (src/sparse/grad-pruner.ts does). */
export function setGradTransformFactory(f: Factory): void {
  factory = f;
}

/** The transform a layer's options ask for, or null without `gradSparsity`. */
export function gradTransformFromArgs(
  layer: string,
  args: GradTransformArgs,
): GradTransform | null {
  if (args.gradSparsity === undefined || args.gradSparsity === null) {
    if (args.pruneInputGrad !== undefined || args.gradSeed !== undefined)
      throw new Error(
        `${layer}: pruneInputGrad and gradSeed apply to gradSparsity: give gradSparsity or drop them`,
      );
    return null;
  }
  if (!factory)
    throw new Error(
      `${layer}: gradSparsity needs frugal's sparse module: import 'frugal' (or src/sparse/grad-pruner.js) first`,
    );
  return factory(layer, args);
}

function withOperand<R>(t: GradTransform, dz: tf.Tensor, use: GradUse, f: (d: tf.Tensor) => R): R {
  const d = t.operand(dz, use);
  try {
    return f(d);
  } finally {
    if (d !== dz) d.dispose();
  }
}

/** A weight-gradient product `f(a, dz)` reading dz through `t` (f itself without one). */
export function weightProductOf<A extends tf.Tensor, B extends tf.Tensor, R>(
  t: GradTransform | null,
  f: (a: A, dz: B) => R,
): (a: A, dz: B) => R {
  return t ? (a, dz) => withOperand(t, dz, 'weight', (d) => f(a, d as B)) : f;
}

/** An input-gradient product `f(dz, w)` reading dz through `t`. */
export function inputProductOf<W extends tf.Tensor, B extends tf.Tensor, R>(
  t: GradTransform | null,
  f: (dz: B, w: W) => R,
): (dz: B, w: W) => R {
  return t ? (dz, w) => withOperand(t, dz, 'input', (d) => f(d as B, w)) : f;
}

/** A convolution's gradients with the filter gradient (and the input's) reading dz through `t`. */
export function convGradsOf(t: GradTransform | null, g: ConvGrads): ConvGrads {
  if (!t) return g;
  return {
    input: (dz, w, shape, strides, padding) =>
      withOperand(t, dz, 'input', (d) => g.input(d as tf.Tensor4D, w, shape, strides, padding)),
    filter: (x, dz, shape, strides, padding) =>
      withOperand(t, dz, 'weight', (d) => g.filter(x, d as tf.Tensor4D, shape, strides, padding)),
  };
}
