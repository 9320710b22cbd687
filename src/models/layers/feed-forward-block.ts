import * as tf from '@tensorflow/tfjs';
import { checkPositiveInt, type SeededInit } from '../init.js';

// The pieces of a pre-norm Transformer encoder shared by the zoo Transformer and ViT.

/** The sizes a stack of pre-norm blocks is built from (the zoo Transformer's and ViT's). */
export interface BlockStackConfig {
  numClasses: number;
  dModel?: number;
  numHeads?: number;
  numBlocks?: number;
  /** Hidden width of each block's GELU MLP. */
  ffDim?: number;
  seed?: number;
}

/**
 * The checked sizes of `model`'s block stack: `config`'s, or the defaults (4 heads, dModel and
 * numBlocks as given, the MLP `ffFactor` times dModel wide); dModel must divide into the heads.
 */
export function blockStackSizes(
  model: string,
  config: BlockStackConfig,
  defaults: { dModel: number; numBlocks: number; ffFactor: number },
): { d: number; heads: number; nBlocks: number; ff: number } {
  const d = config.dModel ?? defaults.dModel;
  const heads = config.numHeads ?? 4;
  const nBlocks = config.numBlocks ?? defaults.numBlocks;
  const ff = config.ffDim ?? defaults.ffFactor * d;
  checkPositiveInt(`${model} dModel`, d);
  checkPositiveInt(`${model} numHeads`, heads);
  checkPositiveInt(`${model} numBlocks`, nBlocks);
  checkPositiveInt(`${model} ffDim`, ff);
  if (d % heads !== 0)
    throw new Error(`${model} dModel ${d} is not divisible by numHeads ${heads}`);
  return { d, heads, nBlocks, ff };
}

/** `layer` applied to symbolic `x` (one output). */
export function applyLayer(
  layer: tf.layers.Layer,
  x: tf.SymbolicTensor | tf.SymbolicTensor[],
): tf.SymbolicTensor {
  return layer.apply(x) as tf.SymbolicTensor;
}

/**
 * Pre-norm block `i` on the stream `x`: layer-norm `b{i}_ln1`, the self-attention `attention`,
 * then `residualFeedForward`.
 */
export function encoderBlock(
  x: tf.SymbolicTensor,
  i: number,
  attention: tf.layers.Layer,
  o: { units: number; hidden: number; init: SeededInit },
): tf.SymbolicTensor {
  const h = applyLayer(tf.layers.layerNormalization({ name: `b${i}_ln1` }), x);
  return residualFeedForward(x, applyLayer(attention, h), i, o);
}

/** The final layer-norm, `pool` (one vector per sample), and dense logits `logits`. */
export function classifierHead(
  x: tf.SymbolicTensor,
  pool: tf.layers.Layer,
  numClasses: number,
  init: SeededInit,
): tf.SymbolicTensor {
  const normed = applyLayer(tf.layers.layerNormalization({ name: 'final_ln' }), x);
  return applyLayer(
    tf.layers.dense({ units: numClasses, kernelInitializer: init.glorot(), name: 'logits' }),
    applyLayer(pool, normed),
  );
}

/**
 * The second half of a pre-norm Transformer block `i`: the attention output `h` added to the
 * stream `x`, then x + ff2(gelu(ff1(layerNorm(x)))) with `hidden` units inside. Layer names
 * `b{i}_add1`, `b{i}_ln2`, `b{i}_ff1`, `b{i}_ff2`, `b{i}_add2`; the two kernels take the next two
 * seeds of `init`. Shared by the zoo Transformer and ViT.
 */
export function residualFeedForward(
  x: tf.SymbolicTensor,
  h: tf.SymbolicTensor,
  i: number,
  o: { units: number; hidden: number; init: SeededInit },
): tf.SymbolicTensor {
  const apply = applyLayer;
  const stream = apply(tf.layers.add({ name: `b${i}_add1` }), [x, h]);
  let f = apply(tf.layers.layerNormalization({ name: `b${i}_ln2` }), stream);
  f = apply(
    tf.layers.dense({
      units: o.hidden,
      activation: 'gelu',
      kernelInitializer: o.init.glorot(),
      name: `b${i}_ff1`,
    }),
    f,
  );
  f = apply(
    tf.layers.dense({ units: o.units, kernelInitializer: o.init.glorot(), name: `b${i}_ff2` }),
    f,
  );
  return apply(tf.layers.add({ name: `b${i}_add2` }), [stream, f]);
}
