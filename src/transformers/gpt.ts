import * as tf from '@tensorflow/tfjs';
import { balancedFactors } from '../compress/decompose/factorize.js';
import { ttMatrixFromDense, ttMatrixToDense } from '../compress/decompose/tt-svd.js';
import { TtmDense } from '../compress/decompose/ttm-dense.js';
import { defaultSeed } from '../engine/settings.js';
import { checkPositiveInt, SeededInit } from '../models/init.js';
import { MultiHeadSelfAttention, PositionEmbedding } from '../models/layers/attention.js';
import { TiedEmbedding } from '../models/vit/token-layers.js';

/** The MLP Dense layers as tensor-train matrices (TtmDense). */
export interface GptTtmConfig {
  /** Internal TT rank of every MLP layer. */
  rank: number;
  /** Number of TT cores (default 3); widths are split into this many balanced factors. */
  cores?: number;
  /** Factors of dModel (default balanced); their product must be dModel. */
  modelFactors?: number[];
  /** Factors of ffDim (default balanced); their product must be ffDim. */
  ffFactors?: number[];
}

export interface GptConfig {
  vocabSize: number;
  /** Tokens per sequence (the learned position table's length). */
  contextLength: number;
  dModel?: number;
  numHeads?: number;
  numBlocks?: number;
  /** Hidden width of each block's GELU MLP (default 4 dModel). */
  ffDim?: number;
  ttm?: GptTtmConfig;
  seed?: number;
}

export type ResolvedGptConfig = Required<Omit<GptConfig, 'ttm'>> & { ttm?: GptTtmConfig };

/** Factors of `n` for a TT matrix: the given ones (checked) or balanced ones, none equal to 1. */
export function ttFactors(what: string, n: number, cores: number, given?: number[]): number[] {
  const f = given ?? balancedFactors(n, cores);
  const prod = f.reduce((a, b) => a * b, 1);
  if (given && (given.length !== cores || prod !== n))
    throw new Error(
      `TTM: ${what} factors [${given}] must be ${cores} integers whose product is ${n} (got product ${prod})`,
    );
  if (f.some((x) => !Number.isInteger(x) || x < 2))
    throw new Error(
      `TTM: ${what} ${n} does not factor into ${cores} factors greater than 1 (got [${f}]); choose another width or fewer cores`,
    );
  return f;
}

/** The largest useful TT rank after each core of a TT matrix with these factors. */
export function maxTtRanks(inFactors: number[], outFactors: number[]): number[] {
  const sizes = inFactors.map((m, k) => m * outFactors[k]);
  const out: number[] = [];
  for (let k = 1; k < sizes.length; k++) {
    const left = sizes.slice(0, k).reduce((a, b) => a * b, 1);
    const right = sizes.slice(k).reduce((a, b) => a * b, 1);
    out.push(Math.min(left, right));
  }
  return out;
}

function resolve(config: GptConfig): ResolvedGptConfig {
  const d = config.dModel ?? 64;
  const c: ResolvedGptConfig = {
    vocabSize: config.vocabSize,
    contextLength: config.contextLength,
    dModel: d,
    numHeads: config.numHeads ?? 4,
    numBlocks: config.numBlocks ?? 4,
    ffDim: config.ffDim ?? 4 * d,
    seed: config.seed ?? defaultSeed(),
    ttm: config.ttm,
  };
  for (const k of [
    'vocabSize',
    'contextLength',
    'dModel',
    'numHeads',
    'numBlocks',
    'ffDim',
  ] as const)
    checkPositiveInt(`gpt ${k}`, c[k]);
  if (c.dModel % c.numHeads !== 0)
    throw new Error(`gpt dModel ${c.dModel} is not divisible by numHeads ${c.numHeads}`);
  return c;
}

/** TT settings of the two MLP layers (d -> ff, ff -> d), checked. */
export function gptTtmShapes(c: ResolvedGptConfig): {
  modelFactors: number[];
  ffFactors: number[];
  rank: number;
} {
  const t = c.ttm!;
  const cores = t.cores ?? 3;
  checkPositiveInt('TTM rank', t.rank);
  if (!Number.isInteger(cores) || cores < 2)
    throw new Error(`TTM: cores must be an integer >= 2, got ${cores}`);
  const modelFactors = ttFactors('dModel', c.dModel, cores, t.modelFactors);
  const ffFactors = ttFactors('ffDim', c.ffDim, cores, t.ffFactors);
  const limit = Math.min(...maxTtRanks(modelFactors, ffFactors));
  if (t.rank > limit)
    throw new Error(
      `TTM: rank ${t.rank} exceeds the full TT rank ${limit} of a [${modelFactors}] x [${ffFactors}] matrix`,
    );
  return { modelFactors, ffFactors, rank: t.rank };
}

/**
 * GPT-2-style decoder language model: token embedding tied to the output projection, learned
 * positions, pre-norm causal blocks [layer-norm, causal self-attention, residual, layer-norm,
 * GELU MLP, residual], a final layer-norm and logits h E^T. Input: token ids [batch, context]
 * (float or int); output: next-token logits [batch, context, vocab]. With `ttm` the MLP layers
 * are TT-matrix layers (TtmDense).
 */
export function buildGpt(config: GptConfig): tf.LayersModel {
  const c = resolve(config);
  const tt = c.ttm ? gptTtmShapes(c) : null;
  const init = new SeededInit(c.seed);
  const s = c.seed * 1000;
  const input = tf.input({ shape: [c.contextLength], name: 'ids' });
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    layer.apply(x) as tf.SymbolicTensor;
  const embed = new TiedEmbedding({
    vocabSize: c.vocabSize,
    dModel: c.dModel,
    seed: s + 700,
    name: 'tokens',
  });
  let x = apply(embed, input);
  x = apply(new PositionEmbedding({ seed: s + 900, name: 'positions' }), x);
  // GPT-2 scales the residual projections by 1 / sqrt(2 n_layer).
  const residStd = 0.02 / Math.sqrt(2 * c.numBlocks);
  for (let i = 1; i <= c.numBlocks; i++) {
    let h = apply(tf.layers.layerNormalization({ name: `b${i}_ln1` }), x);
    h = apply(
      new MultiHeadSelfAttention({
        numHeads: c.numHeads,
        causal: true,
        seed: s + 100 * i,
        name: `b${i}_attn`,
      }),
      h,
    );
    x = apply(tf.layers.add({ name: `b${i}_add1` }), [x, h]);
    h = apply(tf.layers.layerNormalization({ name: `b${i}_ln2` }), x);
    if (tt) {
      h = apply(
        new TtmDense({
          inFactors: tt.modelFactors,
          outFactors: tt.ffFactors,
          ranks: tt.rank,
          activation: 'gelu',
          seed: s + 100 * i + 10,
          name: `b${i}_ff1`,
        }),
        h,
      );
      h = apply(
        new TtmDense({
          inFactors: tt.ffFactors,
          outFactors: tt.modelFactors,
          ranks: tt.rank,
          seed: s + 100 * i + 20,
          name: `b${i}_ff2`,
        }),
        h,
      );
    } else {
      h = apply(
        tf.layers.dense({
          units: c.ffDim,
          activation: 'gelu',
          kernelInitializer: init.normal(0.02),
          name: `b${i}_ff1`,
        }),
        h,
      );
      h = apply(
        tf.layers.dense({
          units: c.dModel,
          kernelInitializer: init.normal(residStd),
          name: `b${i}_ff2`,
        }),
        h,
      );
    }
    x = apply(tf.layers.add({ name: `b${i}_add2` }), [x, h]);
  }
  x = apply(tf.layers.layerNormalization({ name: 'final_ln' }), x);
  const logits = apply(embed, x);
  const model = tf.model({ inputs: input, outputs: logits, name: c.ttm ? 'gpt_ttm' : 'gpt' });
  return model;
}

/** Reads a GPT's configuration back from its layers (a built or loaded model). */
export function gptConfigOf(model: tf.LayersModel): ResolvedGptConfig {
  const names = new Set(model.layers.map((l) => l.name));
  if (!names.has('tokens') || !names.has('b1_attn'))
    throw new Error(`model '${model.name}' is not a frugal GPT (no 'tokens' or 'b1_attn' layer)`);
  const emb = model.getLayer('tokens') as TiedEmbedding;
  let numBlocks = 0;
  while (names.has(`b${numBlocks + 1}_attn`)) numBlocks++;
  const ff1 = model.getLayer('b1_ff1');
  const ffDim =
    ff1 instanceof TtmDense ? ff1.units : ((ff1.getConfig().units as number | undefined) ?? 0);
  const c: ResolvedGptConfig = {
    vocabSize: emb.vocabSize,
    contextLength: model.inputs[0].shape[1] as number,
    dModel: emb.dModel,
    numHeads: (model.getLayer('b1_attn') as MultiHeadSelfAttention).numHeads,
    numBlocks,
    ffDim,
    seed: 0,
  };
  if (ff1 instanceof TtmDense) {
    c.ttm = {
      rank: Math.max(...ff1.ranks),
      cores: ff1.inFactors.length,
      modelFactors: ff1.inFactors,
      ffFactors: ff1.outFactors,
    };
  }
  return c;
}

/** Copies the weights of every layer of `from` that `to` has under the same name and shapes. */
export function copyMatchingWeights(
  from: tf.LayersModel,
  to: tf.LayersModel,
  skip = new Set<string>(),
) {
  const names = new Set(to.layers.map((l) => l.name));
  for (const l of from.layers) {
    if (skip.has(l.name) || !names.has(l.name)) continue;
    const w = l.getWeights();
    if (w.length > 0) to.getLayer(l.name).setWeights(w);
  }
}

/**
 * The first `keepBlocks` blocks of a GPT (with its embeddings, positions and final norm) as a new
 * model holding copies of those weights: the student of layer-truncation distillation.
 */
export function truncateGpt(model: tf.LayersModel, keepBlocks: number): tf.LayersModel {
  const c = gptConfigOf(model);
  if (!Number.isInteger(keepBlocks) || keepBlocks < 1 || keepBlocks >= c.numBlocks)
    throw new Error(
      `truncateGpt: keepBlocks must be an integer in 1..${c.numBlocks - 1}, got ${keepBlocks}`,
    );
  const out = buildGpt({ ...c, numBlocks: keepBlocks });
  copyMatchingWeights(model, out);
  return out;
}

/**
 * A TTM GPT from a trained dense one: the MLP kernels by TT-SVD at `rank` (Oseledets), every
 * other weight copied. Returns the model and each MLP layer's relative Frobenius error.
 */
export function gptToTtm(
  dense: tf.LayersModel,
  ttm: GptTtmConfig,
): { model: tf.LayersModel; relativeErrors: Record<string, number> } {
  const c = gptConfigOf(dense);
  if (c.ttm) throw new Error('gptToTtm: the model already has TTM layers');
  const shapes = gptTtmShapes({ ...c, ttm });
  const model = buildGpt({ ...c, ttm });
  const ff = new Set<string>();
  for (let i = 1; i <= c.numBlocks; i++) ff.add(`b${i}_ff1`).add(`b${i}_ff2`);
  copyMatchingWeights(dense, model, ff);
  const relativeErrors: Record<string, number> = {};
  for (const name of ff) {
    const [kernel, bias] = dense.getLayer(name).getWeights();
    const [inF, outF] = name.endsWith('ff1')
      ? [shapes.modelFactors, shapes.ffFactors]
      : [shapes.ffFactors, shapes.modelFactors];
    const w = Float64Array.from(kernel.dataSync());
    const cores = ttMatrixFromDense(w, inF, outF, shapes.rank);
    const layer = model.getLayer(name) as TtmDense;
    const want = layer.coreShapes();
    const tensors = cores.map((core, k) => {
      if (core.shape.join() !== want[k].join())
        throw new Error(
          `gptToTtm: TT-SVD core ${k} of ${name} is [${core.shape}], layer needs [${want[k]}]`,
        );
      return tf.tensor(Float32Array.from(core.data), core.shape);
    });
    layer.setWeights([...tensors, bias]);
    tf.dispose(tensors);
    const approx = ttMatrixToDense(cores);
    let err = 0;
    let norm = 0;
    for (let i = 0; i < w.length; i++) {
      err += (approx[i] - w[i]) ** 2;
      norm += w[i] ** 2;
    }
    relativeErrors[name] = norm > 0 ? Math.sqrt(err / norm) : 0;
  }
  return { model, relativeErrors };
}
