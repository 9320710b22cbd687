import {
  boolField,
  checkKnownFields,
  enumField,
  intField,
  numberField,
} from '../compress/options.js';
import { QUANT_SCHEMES, type QuantScheme } from '../compress/quantize/uniform.js';
import type { CompressionMethod } from '../compress/registry.js';
import { convertQat } from './convert-qat.js';
import { prepareQat } from './prepare-qat.js';
import { finetuneQat } from './qat-finetune.js';

export interface QatMethodOptions {
  bits: number;
  scheme: QuantScheme;
  foldBatchNorm: boolean;
  /** Training steps with batch statistics before freeze-then-fold (null: fold first). */
  freezeBatchNormAfter: number | null;
  /** Fine-tuning steps through the fake-quant model (needs labelled data). */
  finetuneSteps: number;
  learningRate: number;
  batchSize: number;
  /** Per-tensor activation fake-quant bits on each prepared layer's input (null: float). */
  activationBits: number | null;
  /** How activation ranges are set: EMA of min/max, or LSQ learned steps. */
  activationRange: 'ema' | 'lsq';
}

const FIELDS = [
  'bits',
  'scheme',
  'foldBatchNorm',
  'freezeBatchNormAfter',
  'finetuneSteps',
  'learningRate',
  'batchSize',
  'activationBits',
  'activationRange',
];

/** 'qat': prepare (fake-quant, STE), fine-tune on the data, convert to packed layers. */
export const qatMethod: CompressionMethod<QatMethodOptions> = {
  name: 'qat',
  summary: 'quantization-aware training: fake-quant fine-tune (STE), then packed int weights',
  appliesTo: 'Dense and Conv2D layers',
  parseOptions: (raw, where) => {
    checkKnownFields(raw, FIELDS, where);
    return {
      bits: intField(raw, 'bits', where, { min: 2, max: 8, fallback: 4 }),
      scheme: enumField(raw, 'scheme', where, QUANT_SCHEMES, 'symmetric'),
      foldBatchNorm: boolField(raw, 'foldBatchNorm', where, true),
      freezeBatchNormAfter: (() => {
        if (raw.freezeBatchNormAfter === undefined) return null;
        if (raw.foldBatchNorm !== undefined)
          throw new Error(`${where}: give foldBatchNorm or freezeBatchNormAfter, not both`);
        return intField(raw, 'freezeBatchNormAfter', where, { min: 0, max: 1e6, fallback: 0 });
      })(),
      finetuneSteps: intField(raw, 'finetuneSteps', where, { min: 1, max: 1e6, fallback: 200 }),
      learningRate: numberField(raw, 'learningRate', where, { min: 1e-8, max: 1, fallback: 5e-4 }),
      batchSize: intField(raw, 'batchSize', where, { min: 1, max: 1e5, fallback: 64 }),
      activationBits:
        raw.activationBits === undefined
          ? null
          : intField(raw, 'activationBits', where, { min: 2, max: 8, fallback: 8 }),
      activationRange: (() => {
        if (raw.activationRange !== undefined && raw.activationBits === undefined)
          throw new Error(
            `${where}: activationRange needs activationBits (it would change nothing)`,
          );
        return enumField(raw, 'activationRange', where, ['ema', 'lsq'] as const, 'ema');
      })(),
    };
  },
  apply: async (model, options, ctx) => {
    const o = options.global;
    if (!ctx.data) {
      throw new Error('qat: fine-tuning needs labelled data (pass data / --dataset)');
    }
    const p = await prepareQat(model, {
      bits: o.bits,
      scheme: o.scheme,
      ...(o.freezeBatchNormAfter === null
        ? { foldBatchNorm: o.foldBatchNorm }
        : { batchNorm: 'freeze-then-fold' as const, freezeBatchNormAfter: o.freezeBatchNormAfter }),
      ...(o.activationBits === null
        ? {}
        : { activations: { bits: o.activationBits, range: o.activationRange } }),
    });
    try {
      const r = finetuneQat(p.model, ctx.data, {
        steps: o.finetuneSteps,
        batchSize: o.batchSize,
        learningRate: o.learningRate,
        seed: ctx.seed,
        onStep: (s) =>
          ctx.onProgress?.({ method: 'qat', item: 'fine-tuning', done: s, total: o.finetuneSteps }),
      });
      const out = convertQat(p.model).model;
      const layers: Record<string, string> = { ...p.prepared };
      for (const [name, why] of Object.entries(p.unconverted)) layers[name] = `unconverted: ${why}`;
      for (const bn of p.folded)
        layers[bn] =
          o.freezeBatchNormAfter === null
            ? 'batch-norm folded before QAT'
            : `batch-norm trained with batch statistics for ${o.freezeBatchNormAfter} steps, then frozen and folded`;
      layers['(qat fine-tuning)'] =
        `${o.finetuneSteps} steps, loss ${r.losses[0].toFixed(4)} -> ${r.losses[r.losses.length - 1].toFixed(4)}${r.frozen.length ? `; conv kernels frozen (no conv filter gradient on this backend): ${r.frozen.join(', ')}` : ''}`;
      return { model: out, layers };
    } finally {
      p.model.dispose();
    }
  },
};
