import { copyModel } from '../../rewrite/rewrite-model.js';
import { checkKnownFields, numberField, type RawOptions } from '../options.js';
import { asKernelLayer } from '../packed/layer-kernels.js';
import { allocateBits } from '../quantize/bit-allocation.js';
import { codecBytes, measureSensitivity } from '../quantize/sensitivity.js';
import type { CompressionMethod } from '../registry.js';
import {
  parseQuantizeOptions,
  QUANTIZE_FIELDS,
  type QuantizeOptions,
  quantizeModel,
} from './quantize-method.js';

export interface MixedOptions extends QuantizeOptions {
  /** Allowed bit widths. */
  candidates: number[];
  /** Size budget of the quantized layers as a fraction of their float32 size. */
  budgetRatio: number;
}

/** 'mixed': per-layer bits by knapsack on measured sensitivities, then quantization. */
export const mixedMethod: CompressionMethod<MixedOptions> = {
  name: 'mixed',
  summary: 'per-layer bit widths under a size budget (knapsack on measured loss increases)',
  appliesTo: 'Dense and Conv2D layers',
  needsCalibration: () => true,
  parseOptions: (raw: RawOptions, where) => {
    checkKnownFields(raw, ['candidates', 'budgetRatio', ...QUANTIZE_FIELDS], where);
    const { candidates = [8, 4, 2], budgetRatio, ...rest } = raw;
    if (
      !Array.isArray(candidates) ||
      candidates.length === 0 ||
      candidates.some((b) => !Number.isInteger(b) || b < 2 || b > 8)
    ) {
      throw new Error(
        `${where}: candidates must be a non-empty list of bit widths from 2 to 8, got ${JSON.stringify(candidates)}`,
      );
    }
    return {
      ...parseQuantizeOptions(rest, where),
      candidates: candidates as number[],
      budgetRatio: numberField({ budgetRatio }, 'budgetRatio', where, {
        min: 1e-4,
        max: 1,
        fallback: 0.15,
      }),
    };
  },
  apply: async (model, options, ctx) => {
    if (!ctx.calibration) throw new Error('mixed: needs calibration data');
    const work = copyModel(model);
    try {
      const layers = work.layers.filter((l) => {
        const k = asKernelLayer(l);
        return (
          k !== null && k.codec.bits === 0 && k.codec.m === 0 && options.forLayer(l.name) !== null
        );
      });
      const g = options.global;
      const items = measureSensitivity(work, {
        candidates: g.candidates,
        codecFor: (bits, base) => ({ ...base, bits, scheme: g.scheme, granularity: g.granularity }),
        layers: layers.map((l) => l.name),
        calibration: ctx.calibration,
        labels: ctx.calibrationLabels,
      });
      const floatBytes = layers.reduce((s, l) => {
        const k = asKernelLayer(l);
        return k ? s + codecBytes(k.codec, k.kernelShape, k.bias() !== null) : s;
      }, 0);
      const budget = floatBytes * g.budgetRatio;
      const alloc = allocateBits(items, budget);
      const result = await quantizeModel(
        work,
        {
          global: g,
          forLayer: (name) => (alloc.bits[name] ? { ...g, bits: alloc.bits[name] } : null),
        },
        ctx,
        'mixed',
      );
      result.layers['(allocation)'] =
        `budget ${Math.round(budget)} B of ${floatBytes} B float; chose ${alloc.cost} B, predicted loss increase ${alloc.loss.toExponential(2)}`;
      return result;
    } finally {
      work.dispose();
    }
  },
};
