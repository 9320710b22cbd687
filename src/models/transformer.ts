import * as tf from '@tensorflow/tfjs';
import { defaultSeed } from '../engine/settings.js';
import { checkPositiveInt, SeededInit } from './init.js';
import { MultiHeadSelfAttention, PositionEmbedding } from './layers/attention.js';
import { residualFeedForward } from './layers/feed-forward-block.js';

export interface TransformerConfig {
  /** [length, features] of one sequence. */
  inputShape: number[];
  numClasses: number;
  dModel?: number;
  numHeads?: number;
  numBlocks?: number;
  /** Hidden width of each block's GELU MLP. */
  ffDim?: number;
  /** Decoder blocks (causal attention) instead of encoder blocks. */
  causal?: boolean;
  seed?: number;
}

/**
 * Pre-norm Transformer block stack for sequence classification: input projection, learned
 * positions, blocks of [layer-norm, self-attention, residual, layer-norm, GELU MLP, residual],
 * final layer-norm, mean over positions, dense logits.
 */
export function buildTransformer(config: TransformerConfig): tf.LayersModel {
  const d = config.dModel ?? 64;
  const heads = config.numHeads ?? 4;
  const nBlocks = config.numBlocks ?? 2;
  const ff = config.ffDim ?? 4 * d;
  checkPositiveInt('transformer dModel', d);
  checkPositiveInt('transformer numHeads', heads);
  checkPositiveInt('transformer numBlocks', nBlocks);
  checkPositiveInt('transformer ffDim', ff);
  if (config.inputShape.length !== 2) {
    throw new Error(
      `transformer needs sequence samples [length, features], got [${config.inputShape}]`,
    );
  }
  if (d % heads !== 0)
    throw new Error(`transformer dModel ${d} is not divisible by numHeads ${heads}`);
  const seed = config.seed ?? defaultSeed();
  const init = new SeededInit(seed);
  const input = tf.input({ shape: config.inputShape, name: 'input' });
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    layer.apply(x) as tf.SymbolicTensor;
  let x = apply(
    tf.layers.dense({ units: d, kernelInitializer: init.glorot(), name: 'embed' }),
    input,
  );
  x = apply(new PositionEmbedding({ seed: seed * 1000 + 900, name: 'positions' }), x);
  for (let i = 1; i <= nBlocks; i++) {
    let h = apply(tf.layers.layerNormalization({ name: `b${i}_ln1` }), x);
    h = apply(
      new MultiHeadSelfAttention({
        numHeads: heads,
        causal: config.causal,
        seed: seed * 1000 + 100 * i,
        name: `b${i}_attn`,
      }),
      h,
    );
    x = residualFeedForward(x, h, i, { units: d, hidden: ff, init });
  }
  x = apply(tf.layers.layerNormalization({ name: 'final_ln' }), x);
  x = apply(tf.layers.globalAveragePooling1d({ name: 'mean' }), x);
  const logits = apply(
    tf.layers.dense({ units: config.numClasses, kernelInitializer: init.glorot(), name: 'logits' }),
    x,
  );
  return tf.model({
    inputs: input,
    outputs: logits,
    name: config.causal ? 'transformer_decoder' : 'transformer',
  });
}
