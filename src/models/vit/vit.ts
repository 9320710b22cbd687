import * as tf from '@tensorflow/tfjs';
import { defaultSeed } from '../../engine/settings.js';
import { checkPositiveInt, SeededInit } from '../init.js';
import { MultiHeadSelfAttention, PositionEmbedding } from '../layers/attention.js';
import {
  applyLayer as apply,
  type BlockStackConfig,
  blockStackSizes,
  classifierHead,
  encoderBlock,
} from '../layers/feed-forward-block.js';
import { checkGroups, GqkvaAttention } from './gqkva.js';
import { checkDropRatio, type SkipImportance, TokenRejoin, TokenSkip } from './skip.js';
import { ClassToken, ClassTokenPool } from './token-layers.js';

export interface VitConfig extends BlockStackConfig {
  /** [height, width, channels] of one image. */
  inputShape: number[];
  /** Side of the square patches; must divide height and width (default 4: 49 patches on MNIST). */
  patchSize?: number;
  /** GQKVA query groups (default numHeads: multi-head attention). */
  queryGroups?: number;
  /** GQKVA key/value groups (default numHeads). */
  kvGroups?: number;
  /**
   * SkipViT: from block `fromBlock` (1-based) up to and including `toBlock` (default the last),
   * the fraction `dropRatio` of the patch tokens with the lowest class-token attention bypasses
   * attention and MLP and rejoins unchanged after `toBlock`.
   */
  skip?: {
    dropRatio: number;
    fromBlock: number;
    toBlock?: number;
    /** How tokens are ranked (default 'norm'; see `SkipImportance`). */
    importance?: SkipImportance;
    /** Whether tokens also skip at inference (default true; false: training-time skip only). */
    skipAtInference?: boolean;
  };
}

/**
 * Vision Transformer (Dosovitskiy et al.): non-overlapping patches embedded by a strided
 * convolution, a learned class token, learned positions, pre-norm encoder blocks
 * [layer-norm, self-attention, residual, layer-norm, GELU MLP, residual], a final layer-norm and
 * dense logits from the class token. Attention is frugal's MultiHeadSelfAttention, or GQKVA
 * when `queryGroups`/`kvGroups` differ from the head count.
 */
export function buildVit(config: VitConfig): tf.LayersModel {
  const p = config.patchSize ?? 4;
  checkPositiveInt('vit patchSize', p);
  const { d, heads, nBlocks, ff } = blockStackSizes('vit', config, {
    dModel: 32,
    numBlocks: 3,
    ffFactor: 2,
  });
  const gq = config.queryGroups ?? heads;
  const gkv = config.kvGroups ?? heads;
  checkGroups(heads, gq, gkv);
  if (config.inputShape.length !== 3)
    throw new Error(`vit needs image samples [h, w, c], got [${config.inputShape}]`);
  const [hgt, wid] = config.inputShape;
  if (hgt % p !== 0 || wid % p !== 0)
    throw new Error(`vit patchSize ${p} does not divide the image size ${hgt}x${wid}`);
  const skip = config.skip;
  if (skip) {
    checkDropRatio(skip.dropRatio);
    const to = skip.toBlock ?? nBlocks;
    if (
      !Number.isInteger(skip.fromBlock) ||
      !Number.isInteger(to) ||
      skip.fromBlock < 1 ||
      to < skip.fromBlock ||
      to > nBlocks
    ) {
      throw new Error(
        `vit skip: blocks ${skip.fromBlock}..${to} are not a range within 1..${nBlocks}`,
      );
    }
  }
  const seed = config.seed ?? defaultSeed();
  const init = new SeededInit(seed);
  const input = tf.input({ shape: config.inputShape, name: 'input' });
  let x = apply(
    tf.layers.conv2d({
      filters: d,
      kernelSize: p,
      strides: p,
      padding: 'valid',
      kernelInitializer: init.glorot(),
      name: 'patch_embed',
    }),
    input,
  );
  const patches = (hgt / p) * (wid / p);
  x = apply(tf.layers.reshape({ targetShape: [patches, d], name: 'patches' }), x);
  x = apply(new ClassToken({ seed: seed * 1000 + 800, name: 'class_token' }), x);
  x = apply(new PositionEmbedding({ seed: seed * 1000 + 900, name: 'positions' }), x);
  const mha = gq === heads && gkv === heads;
  let beforeSkip: tf.SymbolicTensor | undefined;
  for (let i = 1; i <= nBlocks; i++) {
    if (skip && i === skip.fromBlock) {
      beforeSkip = x;
      const { dropRatio, importance, skipAtInference } = skip;
      x = apply(new TokenSkip({ dropRatio, importance, skipAtInference, name: 'skip' }), x);
    }
    const attnArgs = { numHeads: heads, seed: seed * 1000 + 100 * i, name: `b${i}_attn` };
    const attention = mha
      ? new MultiHeadSelfAttention(attnArgs)
      : new GqkvaAttention({ ...attnArgs, queryGroups: gq, kvGroups: gkv });
    x = encoderBlock(x, i, attention, { units: d, hidden: ff, init });
    if (skip && beforeSkip && i === (skip.toBlock ?? nBlocks)) {
      x = apply(new TokenRejoin({ dropRatio: skip.dropRatio, name: 'rejoin' }), [beforeSkip, x]);
    }
  }
  const logits = classifierHead(
    x,
    new ClassTokenPool({ name: 'class_out' }),
    config.numClasses,
    init,
  );
  return tf.model({ inputs: input, outputs: logits, name: skip ? 'skipvit' : 'vit' });
}
