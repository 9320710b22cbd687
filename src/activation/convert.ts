import * as tf from '@tensorflow/tfjs';
import { normalizeActivation } from './activation-fns.js';
import type { ActivationBits } from './bits.js';
import { type ActConfig, levelBits, validateActConfig } from './config.js';
import './layers/index.js';
import { seedActivationRng } from './seed.js';

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

export interface CompressResult {
  model: tf.LayersModel;
  converted: ConvertedLayer[];
  unconverted: UnconvertedLayer[];
  config: ActConfig;
}

/** Layers that hold no activations for backward, so there is nothing to convert. */
const NOTHING_SAVED = new Set(['InputLayer']);

type Plan = { className: string; args: Dict; weighted: boolean } | { reason: string };

function noConstraints(c: Dict, keys: string[]): string | null {
  for (const k of keys)
    if (c[k] != null) return `has ${k}, which the compressed layer does not support`;
  return null;
}

/** How to convert one layer from its (camelCase) config, or why it cannot be. */
function plan(className: string, c: Dict, rank: number): Plan {
  const isLast = (axis: unknown) => {
    const a = [axis].flat();
    return a.length === 1 && (a[0] === -1 || a[0] === rank - 1);
  };
  const weightedExtras = [
    'kernelRegularizer',
    'biasRegularizer',
    'activityRegularizer',
    'kernelConstraint',
    'biasConstraint',
  ];
  switch (className) {
    case 'Dense': {
      const bad = noConstraints(c, weightedExtras) ?? activationReason(c);
      if (bad) return { reason: bad };
      return {
        className: 'FrugalCompressedDense',
        args: { units: c.units, activation: c.activation, useBias: c.useBias },
        weighted: true,
      };
    }
    case 'Conv2D': {
      const bad = noConstraints(c, weightedExtras) ?? convReason(c);
      if (bad) return { reason: bad };
      return {
        className: 'FrugalCompressedConv2D',
        args: { filters: c.filters, ...convArgs(c) },
        weighted: true,
      };
    }
    case 'DepthwiseConv2D': {
      const bad = noConstraints(c, [
        ...weightedExtras,
        'depthwiseRegularizer',
        'depthwiseConstraint',
      ]);
      if (bad) return { reason: bad };
      if (c.depthMultiplier !== undefined && c.depthMultiplier !== 1)
        return { reason: 'depthMultiplier other than 1 is not supported' };
      const unsupported = convReason(c);
      if (unsupported) return { reason: unsupported };
      return { className: 'FrugalCompressedDepthwiseConv2D', args: convArgs(c), weighted: true };
    }
    case 'BatchNormalization': {
      if (!isLast(c.axis)) return { reason: `axis ${c.axis} is not the last axis` };
      if (c.center === false || c.scale === false)
        return { reason: 'center=false or scale=false is not supported' };
      const bad = noConstraints(c, ['betaRegularizer', 'gammaRegularizer']);
      if (bad) return { reason: bad };
      return {
        className: 'FrugalCompressedBatchNorm',
        args: { momentum: c.momentum, epsilon: c.epsilon },
        weighted: false,
      };
    }
    case 'LayerNormalization': {
      if (!isLast(c.axis)) return { reason: `axis ${c.axis} is not the last axis` };
      if (c.center === false || c.scale === false)
        return { reason: 'center=false or scale=false is not supported' };
      return {
        className: 'FrugalCompressedLayerNorm',
        args: { epsilon: c.epsilon },
        weighted: false,
      };
    }
    case 'ReLU':
      if (c.maxValue != null) return { reason: 'ReLU with maxValue is not supported' };
      return {
        className: 'FrugalCompressedActivation',
        args: { activation: 'relu' },
        weighted: false,
      };
    case 'Activation':
      if (!normalizeActivation(c.activation as string))
        return { reason: `activation '${c.activation}' is not supported` };
      return {
        className: 'FrugalCompressedActivation',
        args: { activation: c.activation },
        weighted: false,
      };
    case 'MaxPooling2D':
      if (c.dataFormat === 'channelsFirst') return { reason: 'channelsFirst is not supported' };
      return {
        className: 'FrugalCompressedMaxPool2D',
        args: { poolSize: c.poolSize, strides: c.strides, padding: c.padding },
        weighted: false,
      };
    case 'AveragePooling2D':
      if (c.dataFormat === 'channelsFirst') return { reason: 'channelsFirst is not supported' };
      return {
        className: 'FrugalNoSaveAvgPool2D',
        args: { poolSize: c.poolSize, strides: c.strides, padding: c.padding },
        weighted: false,
      };
    case 'Dropout':
      if (c.noiseShape != null) return { reason: 'noiseShape is not supported' };
      return { className: 'FrugalCompressedDropout', args: { rate: c.rate }, weighted: false };
    case 'Add':
      return { className: 'FrugalNoSaveAdd', args: {}, weighted: false };
    case 'Flatten':
      return { className: 'FrugalNoSaveFlatten', args: {}, weighted: false };
    case 'GlobalAveragePooling2D':
    case 'GlobalAveragePooling1D':
      if (c.dataFormat === 'channelsFirst') return { reason: 'channelsFirst is not supported' };
      return { className: 'FrugalNoSaveGlobalAveragePooling', args: {}, weighted: false };
    case 'FrugalMultiHeadSelfAttention':
      return {
        className: 'FrugalCompressedMultiHeadSelfAttention',
        args: { numHeads: c.numHeads, causal: c.causal, seed: c.seed },
        weighted: true,
      };
    case 'FrugalPositionEmbedding':
      return {
        className: 'FrugalNoSavePositionEmbedding',
        args: { seed: c.seed },
        weighted: false,
      };
    default:
      return { reason: 'no compressed version: its saved activations stay float32' };
  }
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
}

function toPythonic(args: Dict): Dict {
  const out: Dict = {};
  for (const [k, v] of Object.entries(args)) if (v !== undefined) out[snake(k)] = v;
  return out;
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
): Promise<CompressResult> {
  const c = validateActConfig(config);
  seedActivationRng(c.seed);
  const json = model.toJSON(null, false) as Dict;
  const layers = (json.config as Dict).layers as Dict[];
  const converted: ConvertedLayer[] = [];
  const unconverted: UnconvertedLayer[] = [];
  const names = new Set(model.layers.map((l) => l.name));
  for (const n of Object.keys(c.overrides))
    if (!names.has(n)) throw new Error(`activation config: overrides names unknown layer '${n}'`);
  for (const entry of layers) {
    const from = entry.class_name as string;
    const orig = entry.config as Dict;
    const name = orig.name as string;
    if (NOTHING_SAVED.has(from)) continue;
    const o = c.overrides[name] ?? {};
    if (o.skip) {
      unconverted.push({ name, className: from, reason: 'skipped by override' });
      continue;
    }
    const layer = model.getLayer(name);
    const input = layer.getInputAt(0) as tf.SymbolicTensor | tf.SymbolicTensor[]; // shared layers: the first use
    const rank = (Array.isArray(input) ? input[0] : input).shape.length;
    const p = plan(from, layer.getConfig(), rank);
    if ('reason' in p) {
      unconverted.push({ name, className: from, reason: p.reason });
      continue;
    }
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
    const keep: Dict = {};
    for (const k of ['name', 'trainable', 'batch_input_shape', 'dtype'])
      if (orig[k] !== undefined) keep[k] = orig[k];
    entry.class_name = p.className;
    entry.config = { ...keep, ...toPythonic(args) };
    converted.push({ name, from, to: p.className, actBits });
  }
  const out = await tf.models.modelFromJSON({ modelTopology: json } as tf.io.ModelJSON);
  for (const layer of model.layers) {
    const w = layer.getWeights();
    if (w.length > 0) out.getLayer(layer.name).setWeights(w);
  }
  for (const u of unconverted)
    (options.warn ?? console.warn)(
      `compressActivations: layer '${u.name}' (${u.className}) not converted: ${u.reason}`,
    );
  return { model: out, converted, unconverted, config: c };
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

/** The constructor arguments the compressed Conv2D and DepthwiseConv2D take from the original. */
function convArgs(c: Dict): Dict {
  const { kernelSize, strides, padding, activation, useBias } = c;
  return { kernelSize, strides, padding, activation, useBias };
}
