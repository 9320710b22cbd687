import type * as tf from '@tensorflow/tfjs';
import { type LayerEdit, rewriteModel } from '../rewrite/rewrite-model.js';
import { normalizeActivation } from './codec/activation-fns.js';
import type { ActivationBits } from './codec/bits.js';
import { type ActConfig, levelBits, validateActConfig } from './config.js';
import './layers/index.js';
import { seedActivationRng } from '../engine/settings.js';

type Dict = tf.serialization.ConfigDict;

/** One layer swapped for its compressed version. */
export interface ConvertedLayer {
  name: string;
  from: string;
  to: string;
  actBits: ActivationBits;
}

/** A layer left as it was; its saved activations (if any) stay float32. */
export interface UnconvertedLayer {
  name: string;
  className: string;
  reason: string;
}

/** What `compressActivations` returns (model compression's result is `CompressResult`). */
export interface CompressActivationsResult {
  model: tf.LayersModel;
  converted: ConvertedLayer[];
  unconverted: UnconvertedLayer[];
  config: ActConfig;
}

/** A plain layer's compressed training class and the config fields it takes over unchanged. */
export interface TrainingLayerPair {
  /** The compressed-activation class (FrugalCompressed* or FrugalNoSave*). */
  to: string;
  keys: readonly string[];
  /** Holds weights (a Dense/Conv/attention layer: its level bits apply). */
  weighted: boolean;
}

const CONV_KEYS = ['kernelSize', 'strides', 'padding', 'activation', 'useBias'] as const;
// A sparse-gradient layer's pruning of dy (src/sparse) goes with it (its `seed` as `gradSeed`).
const GRAD_KEYS = ['gradSparsity', 'pruneInputGrad'] as const;
const POOL_KEYS = ['poolSize', 'strides', 'padding'] as const;
const pair = (to: string, keys: readonly string[], weighted = false): TrainingLayerPair => ({
  to,
  keys,
  weighted,
});

/**
 * Every plain layer class with a compressed-activation version (`compressActivations` converts
 * one way, `toPlainModel` the other).
 */
export const TRAINING_LAYERS: Readonly<Record<string, TrainingLayerPair>> = {
  Dense: pair('FrugalCompressedDense', ['units', 'activation', 'useBias'], true),
  Conv2D: pair('FrugalCompressedConv2D', ['filters', ...CONV_KEYS], true),
  DepthwiseConv2D: pair('FrugalCompressedDepthwiseConv2D', CONV_KEYS, true),
  BatchNormalization: pair('FrugalCompressedBatchNorm', ['momentum', 'epsilon']),
  LayerNormalization: pair('FrugalCompressedLayerNorm', ['epsilon']),
  ReLU: pair('FrugalCompressedActivation', []),
  Activation: pair('FrugalCompressedActivation', ['activation']),
  MaxPooling2D: pair('FrugalCompressedMaxPool2D', POOL_KEYS),
  AveragePooling2D: pair('FrugalNoSaveAvgPool2D', POOL_KEYS),
  Dropout: pair('FrugalCompressedDropout', ['rate']),
  Add: pair('FrugalNoSaveAdd', []),
  Flatten: pair('FrugalNoSaveFlatten', []),
  GlobalAveragePooling2D: pair('FrugalNoSaveGlobalAveragePooling', []),
  GlobalAveragePooling1D: pair('FrugalNoSaveGlobalAveragePooling', []),
  FrugalMultiHeadSelfAttention: pair(
    'FrugalCompressedMultiHeadSelfAttention',
    ['numHeads', 'causal', 'seed'],
    true,
  ),
  FrugalPositionEmbedding: pair('FrugalNoSavePositionEmbedding', ['seed']),
  FrugalSparseGradDense: pair(
    'FrugalCompressedDense',
    ['units', 'activation', 'useBias', ...GRAD_KEYS],
    true,
  ),
  FrugalSparseGradConv2D: pair(
    'FrugalCompressedConv2D',
    ['filters', ...CONV_KEYS, ...GRAD_KEYS],
    true,
  ),
};

/** The given fields of a config, leaving out those it does not set. */
export function pickConfig(c: Dict, keys: readonly string[]): Dict {
  const out: Dict = {};
  for (const k of keys) if (c[k] !== undefined) out[k] = c[k];
  return out;
}

function noConstraints(c: Dict, keys: string[]): string | null {
  for (const k of keys)
    if (c[k] != null) return `has ${k}, which the compressed layer does not support`;
  return null;
}

const WEIGHTED_EXTRAS = [
  'kernelRegularizer',
  'biasRegularizer',
  'activityRegularizer',
  'kernelConstraint',
  'biasConstraint',
];

/** Why a layer with a compressed version cannot be converted, from its (camelCase) config. */
function unsupported(className: string, c: Dict, rank: number): string | null {
  const isLast = (axis: unknown) => {
    const a = [axis].flat();
    return a.length === 1 && (a[0] === -1 || a[0] === rank - 1);
  };
  switch (className) {
    case 'Dense':
      return noConstraints(c, WEIGHTED_EXTRAS) ?? activationReason(c);
    case 'Conv2D':
      return noConstraints(c, WEIGHTED_EXTRAS) ?? convReason(c);
    case 'DepthwiseConv2D': {
      const bad = noConstraints(c, [
        ...WEIGHTED_EXTRAS,
        'depthwiseRegularizer',
        'depthwiseConstraint',
      ]);
      if (bad) return bad;
      if (c.depthMultiplier !== undefined && c.depthMultiplier !== 1)
        return 'depthMultiplier other than 1 is not supported';
      return convReason(c);
    }
    case 'BatchNormalization':
    case 'LayerNormalization':
      if (!isLast(c.axis)) return `axis ${c.axis} is not the last axis`;
      if (c.center === false || c.scale === false)
        return 'center=false or scale=false is not supported';
      return className === 'BatchNormalization'
        ? noConstraints(c, ['betaRegularizer', 'gammaRegularizer'])
        : null;
    case 'ReLU':
      return c.maxValue != null ? 'ReLU with maxValue is not supported' : null;
    case 'Activation':
      return normalizeActivation(c.activation as string)
        ? null
        : `activation '${c.activation}' is not supported`;
    case 'MaxPooling2D':
    case 'AveragePooling2D':
    case 'GlobalAveragePooling2D':
    case 'GlobalAveragePooling1D':
      return c.dataFormat === 'channelsFirst' ? 'channelsFirst is not supported' : null;
    case 'Dropout':
      return c.noiseShape != null ? 'noiseShape is not supported' : null;
    case 'FrugalSparseGradDense':
      return c.nmKernel === 'on'
        ? "nmKernel 'on': the compressed layer's weight-gradient product is dense"
        : null;
    default:
      return null;
  }
}

type Plan = { className: string; args: Dict; weighted: boolean } | { reason: string };

/** How to convert one layer from its (camelCase) config, or why it cannot be. */
function plan(className: string, c: Dict, rank: number): Plan {
  const p = TRAINING_LAYERS[className];
  if (!p) return { reason: 'no compressed version: its saved activations stay float32' };
  const reason = unsupported(className, c, rank);
  if (reason) return { reason };
  const args = pickConfig(c, p.keys);
  if (className === 'ReLU') args.activation = 'relu';
  if (className.startsWith('FrugalSparseGrad')) args.gradSeed = c.seed;
  return { className: p.to, args, weighted: p.weighted };
}

/**
 * Returns a copy of `model` whose layers save compressed activations for backward (ActNN), with
 * the same weights: a trained model stays trained and its forward output is unchanged. Works on
 * Sequential and functional models. Layers without a compressed version are returned in
 * `unconverted` (and warned about), never skipped silently.
 */
export async function compressActivations(
  model: tf.LayersModel,
  config: Partial<ActConfig> = {},
  options: { warn?: (message: string) => void } = {},
): Promise<CompressActivationsResult> {
  const c = validateActConfig(config);
  seedActivationRng(c.seed);
  const converted: ConvertedLayer[] = [];
  const unconverted: UnconvertedLayer[] = [];
  const names = new Set(model.layers.map((l) => l.name));
  for (const n of Object.keys(c.overrides))
    if (!names.has(n)) throw new Error(`activation config: overrides names unknown layer '${n}'`);
  const { model: out } = rewriteModel(model, (layer): LayerEdit => {
    const from = layer.getClassName();
    const name = layer.name;
    const o = c.overrides[name] ?? {};
    if (o.skip) return keep(unconverted, layer, 'skipped by override');
    const input = layer.getInputAt(0) as tf.SymbolicTensor | tf.SymbolicTensor[]; // shared layers: the first use
    const rank = (Array.isArray(input) ? input[0] : input).shape.length;
    const p = plan(from, layer.getConfig(), rank);
    if ('reason' in p) return keep(unconverted, layer, p.reason);
    const actBits = o.actBits ?? levelBits(c, p.weighted);
    const args: Dict = {
      ...p.args,
      actBits,
      fewbit: o.fewbit ?? c.fewbit,
      perSample: c.perSample,
    };
    if (p.className === 'FrugalCompressedDense') {
      args.rmmRatio = o.rmmRatio ?? c.rmm?.ratio ?? 0;
      args.rmmKind = c.rmm?.kind ?? 'gaussian';
    }
    converted.push({ name, from, to: p.className, actBits });
    return {
      replace: [
        {
          className: p.className,
          config: { name, trainable: layer.trainable, ...args },
          weights: layer.getWeights(),
        },
      ],
    };
  });
  for (const u of unconverted)
    (options.warn ?? console.warn)(
      `compressActivations: layer '${u.name}' (${u.className}) not converted: ${u.reason}`,
    );
  return { model: out, converted, unconverted, config: c };
}

function keep(list: UnconvertedLayer[], layer: tf.layers.Layer, reason: string): LayerEdit {
  list.push({ name: layer.name, className: layer.getClassName(), reason });
  return { keep: reason };
}

/** Why a layer's activation has no compressed backward, or null when it has one. */
function activationReason(c: Dict): string | null {
  return normalizeActivation(c.activation as string)
    ? null
    : `activation '${c.activation}' is not supported`;
}

/** Why a (depthwise) convolution cannot be converted (layout, dilation, activation), or null. */
function convReason(c: Dict): string | null {
  if (c.dataFormat === 'channelsFirst') return 'channelsFirst is not supported';
  const dil = c.dilationRate as number | number[] | undefined;
  if (dil !== undefined && [dil].flat().some((d) => d !== 1))
    return 'dilated convolutions are not supported';
  return activationReason(c);
}
