import * as tf from '@tensorflow/tfjs';
import { defaultSeed } from '../engine/settings.js';
import { SeededInit } from './init.js';
import { MultiHeadSelfAttention, PositionEmbedding } from './layers/attention.js';
import {
  applyLayer as apply,
  type BlockStackConfig,
  blockStackSizes,
  classifierHead,
  encoderBlock,
} from './layers/feed-forward-block.js';

export interface TransformerConfig extends BlockStackConfig {
  /** [length, features] of one sequence. */
  inputShape: number[];
  /** Decoder blocks (causal attention) instead of encoder blocks. */
  causal?: boolean;
}

/**
 * Pre-norm Transformer block stack for sequence classification: input projection, learned
 * positions, blocks of [layer-norm, self-attention, residual, layer-norm, GELU MLP, residual],
 * final layer-norm, mean over positions, dense logits.
 */
export function buildTransformer(config: TransformerConfig): tf.LayersModel {
  const sizes = { dModel: 64, numBlocks: 2, ffFactor: 4 };
  const { d, heads, nBlocks, ff } = blockStackSizes('transformer', config, sizes);
  if (config.inputShape.length !== 2) {
    throw new Error(
      `transformer needs sequence samples [length, features], got [${config.inputShape}]`,
    );
  }
  const seed = config.seed ?? defaultSeed();
  const init = new SeededInit(seed);
  const input = tf.input({ shape: config.inputShape, name: 'input' });
  let x = apply(
    tf.layers.dense({ units: d, kernelInitializer: init.glorot(), name: 'embed' }),
    input,
  );
  x = apply(new PositionEmbedding({ seed: seed * 1000 + 900, name: 'positions' }), x);
  for (let i = 1; i <= nBlocks; i++) {
    const attention = new MultiHeadSelfAttention({
      numHeads: heads,
      causal: config.causal,
      seed: seed * 1000 + 100 * i,
      name: `b${i}_attn`,
    });
    x = encoderBlock(x, i, attention, { units: d, hidden: ff, init });
  }
  const pool = tf.layers.globalAveragePooling1d({ name: 'mean' });
  const logits = classifierHead(x, pool, config.numClasses, init);
  return tf.model({
    inputs: input,
    outputs: logits,
    name: config.causal ? 'transformer_decoder' : 'transformer',
  });
}
