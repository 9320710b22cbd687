import type * as tf from '@tensorflow/tfjs';
import { type LayerEdit, rewriteModel } from '../../rewrite/rewrite-model.js';
import {
  boolField,
  checkKnownFields,
  enumField,
  intField,
  numberField,
  type RawOptions,
} from '../options.js';
import { type KernelCodec, storedValues } from '../packed/kernel-codec.js';
import { asKernelLayer, packedReplacement } from '../packed/layer-kernels.js';
import { adaquantLayer } from '../quantize/adaquant.js';
import { correctBias } from '../quantize/bias-correction.js';
import { layerRegressionData } from '../quantize/layer-data.js';
import {
  QUANT_GRANULARITIES,
  QUANT_SCHEMES,
  type QuantGranularity,
  type QuantScheme,
} from '../quantize/uniform.js';
import type {
  CompressContext,
  CompressionMethod,
  LayerOptions,
  MethodResult,
} from '../registry.js';
import { magnitudeNMMask } from '../sparsity/nm-mask.js';

export interface QuantizeOptions {
  bits: number;
  scheme: QuantScheme;
  granularity: QuantGranularity;
  /** Optimise weights, bias and ranges per layer on calibration data (AdaQuant). */
  adaquant: boolean;
  /** Adam steps per layer for AdaQuant. */
  steps: number;
  learningRate: number;
  /** Correct each layer's mean output shift on calibration data. */
  biasCorrection: boolean;
  /** Calibration rows (samples, or sampled conv output positions) per layer. */
  rows: number;
}

/** The option fields of the quantize method (mixed accepts them too). */
export const QUANTIZE_FIELDS = [
  'bits',
  'scheme',
  'granularity',
  'adaquant',
  'steps',
  'learningRate',
  'biasCorrection',
  'rows',
];

export function parseQuantizeOptions(
  raw: RawOptions,
  where: string,
  defaults: Partial<QuantizeOptions> = {},
): QuantizeOptions {
  checkKnownFields(raw, QUANTIZE_FIELDS, where);
  return {
    bits: intField(raw, 'bits', where, { min: 2, max: 8, fallback: defaults.bits ?? 8 }),
    scheme: enumField(raw, 'scheme', where, QUANT_SCHEMES, defaults.scheme ?? 'symmetric'),
    granularity: enumField(
      raw,
      'granularity',
      where,
      QUANT_GRANULARITIES,
      defaults.granularity ?? 'channel',
    ),
    adaquant: boolField(raw, 'adaquant', where, defaults.adaquant ?? false),
    steps: intField(raw, 'steps', where, { min: 1, max: 100000, fallback: defaults.steps ?? 200 }),
    learningRate: numberField(raw, 'learningRate', where, { min: 1e-8, max: 1, fallback: 1e-3 }),
    biasCorrection: boolField(raw, 'biasCorrection', where, defaults.biasCorrection ?? false),
    rows: intField(raw, 'rows', where, { min: 8, max: 1_000_000, fallback: 1024 }),
  };
}

/** Quantizes every Dense/Conv2D layer (float or already packed, e.g. N:M) the options reach. */
export async function quantizeModel(
  model: tf.LayersModel,
  options: LayerOptions<QuantizeOptions>,
  ctx: CompressContext,
  method = 'quantize',
): Promise<MethodResult> {
  const edits = new Map<string, LayerEdit>();
  const notes: Record<string, string> = {};
  const targets = model.layers.flatMap((l) => {
    const k = asKernelLayer(l);
    const o = options.forLayer(l.name);
    return k && o ? [{ k, o }] : [];
  });
  let done = 0;
  for (const { k, o } of targets) {
    const name = k.layer.name;
    ctx.onProgress?.({ method, item: name, done, total: targets.length });
    done++;
    const codec: KernelCodec = {
      ...k.codec,
      bits: o.bits,
      scheme: o.scheme,
      granularity: o.granularity,
    };
    const kernel = k.kernel();
    const mask = codec.m > 0 ? magnitudeNMMask(kernel, k.kernelShape, codec.n, codec.m) : undefined;
    let encode: Parameters<typeof packedReplacement>[2] = { kernel, mask };
    const what = [`int${o.bits} ${o.scheme} per-${o.granularity}`];
    if (o.adaquant || o.biasCorrection) {
      if (!ctx.calibration) {
        throw new Error(
          `${method}: layer '${name}' needs calibration data (AdaQuant / bias correction)`,
        );
      }
      const data = layerRegressionData(model, k, ctx.calibration, o.rows, ctx.seed);
      try {
        if (o.adaquant) {
          const layerIndex = done - 1;
          const r = adaquantLayer(data, k, codec, {
            steps: o.steps,
            learningRate: o.learningRate,
            mask,
            seed: ctx.seed,
            onStep: (s) =>
              ctx.onProgress?.({
                method,
                item: `${name} AdaQuant step ${s}/${o.steps}`,
                done: layerIndex + s / o.steps,
                total: targets.length,
              }),
          });
          encode = { kernel: r.kernel, bias: r.bias, ranges: r.ranges, mask };
          what.push(
            `AdaQuant mse ${r.initialMse.toExponential(2)} -> ${r.finalMse.toExponential(2)}`,
          );
        }
        if (o.biasCorrection) {
          const r = correctBias(data, k, codec, encode);
          encode = { ...encode, bias: r.bias };
          what.push(`bias corrected (mean shift ${r.meanAbsShift.toExponential(2)})`);
        }
      } finally {
        data.dispose();
      }
    }
    edits.set(name, { replace: [packedReplacement(k, codec, encode)] });
    notes[name] = `${what.join(', ')}; ${storedValues(codec, k.kernelShape)} values`;
  }
  ctx.onProgress?.({ method, item: 'done', done: targets.length, total: targets.length });
  return { model: rewriteModel(model, edits).model, layers: notes };
}

/** A quantization method with preset defaults (int8, int4, int2, adaquant, ...). */
export function quantizeMethod(
  name: string,
  summary: string,
  defaults: Partial<QuantizeOptions>,
): CompressionMethod<QuantizeOptions> {
  return {
    name,
    summary,
    appliesTo: 'Dense and Conv2D layers',
    needsCalibration: (o) => o.adaquant || o.biasCorrection,
    parseOptions: (raw, where) => parseQuantizeOptions(raw, where, defaults),
    apply: (model, options, ctx) => quantizeModel(model, options, ctx, name),
  };
}
