import * as tf from '@tensorflow/tfjs';
import { asKernelLayer } from '../compress/packed/layer-kernels.js';
import { foldBatchNorm } from '../compress/quantize/fold-bn.js';
import { checkQuantSpec, type QuantScheme } from '../compress/quantize/uniform.js';
import { type LayerEdit, rewriteModel } from '../rewrite/rewrite-model.js';
import { EmaActQuant } from './ema-act-quant.js';
import { LsqQuant } from './lsq.js';
import { QatBnLayer, qatBnPairs } from './qat-bn-layer.js';
import { QatLayer } from './qat-layers.js';

/** Activation fake-quant of QAT: per tensor, on the input of every prepared layer. */
export interface QatActivationConfig {
  /** Activation bits, integer 2..8. */
  bits: number;
  /**
   * 'ema' (default): affine range tracked by EMA of the batch min/max (`EmaActQuant`);
   * 'lsq': a learned step size (LSQ, `LsqQuant`), trained with the weights.
   */
  range?: 'ema' | 'lsq';
  /** EMA only: kept fraction of the old range per training call (default 0.9). */
  momentum?: number;
  /** EMA only: training calls after which the ranges stop moving (default: never). */
  freezeAfter?: number;
}

const ACT_FIELDS = ['bits', 'range', 'momentum', 'freezeAfter'];

function checkActivations(a: unknown): QatActivationConfig | null {
  if (a === undefined || a === null) return null;
  const where = 'prepareQat config.activations';
  if (typeof a !== 'object' || Array.isArray(a)) throw new Error(`${where} must be an object`);
  const o = a as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!ACT_FIELDS.includes(k))
      throw new Error(`${where}: unknown field '${k}' (known: ${ACT_FIELDS.join(', ')})`);
  if (!Number.isInteger(o.bits) || (o.bits as number) < 2 || (o.bits as number) > 8)
    throw new Error(`${where}.bits must be an integer in 2-8, got ${String(o.bits)}`);
  const range = o.range ?? 'ema';
  if (range !== 'ema' && range !== 'lsq')
    throw new Error(`${where}.range must be 'ema' or 'lsq', got ${String(o.range)}`);
  if (range === 'lsq')
    for (const k of ['momentum', 'freezeAfter'])
      if (o[k] !== undefined)
        throw new Error(`${where}.${k} applies to range 'ema' only (LSQ learns its step)`);
  return { ...(o as unknown as QatActivationConfig), range };
}

export interface QatConfig {
  /** Weight bits, integer 2..8. */
  bits: number;
  /** 'symmetric' (default) or 'affine'; always per output channel. */
  scheme?: QuantScheme;
  /**
   * Fold batch-norm into the conv/dense before it first (default true), so QAT trains the
   * folded kernel that will be stored. See docs/low-precision.md for why.
   */
  foldBatchNorm?: boolean;
  /**
   * 'fold' (the default; = foldBatchNorm true): fold batch norm before QAT. 'keep' (= false):
   * leave it as a float layer after the fake-quant one. 'freeze-then-fold': each conv/dense ->
   * batch-norm pair becomes a `QatBnLayer` that trains the folded kernel with batch statistics
   * for `freezeBatchNormAfter` steps, then with the frozen moving statistics; `convertQat` folds.
   */
  batchNorm?: 'fold' | 'keep' | 'freeze-then-fold';
  /** freeze-then-fold only: training steps with batch statistics (default: all of them). */
  freezeBatchNormAfter?: number;
  /** Activation fake-quant (default: none, activations stay float32). */
  activations?: QatActivationConfig;
}

export interface QatPrepared {
  model: tf.LayersModel;
  /** Layers made fake-quantized, with what was done. */
  prepared: Record<string, string>;
  /** Dense/Conv-like layers left in float, with the reason. */
  unconverted: Record<string, string>;
  /** Batch-norm layers folded into their producer (freeze-then-fold: folded by convertQat). */
  folded: string[];
}

const KERNEL_CLASSES = new Set([
  'Dense',
  'Conv2D',
  'Conv1D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'Conv2DTranspose',
  'FrugalPackedDense',
  'FrugalPackedConv2D',
]);

function pair(v: unknown): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  if (typeof v === 'number') return [v, v];
  return [1, 1];
}

/**
 * Returns a new model where every float Dense/Conv2D (channels last) is a `QatLayer` with the
 * same weights; the input model is not modified. Other kernel layers are listed in `unconverted`
 * with the reason, never skipped silently.
 */
export async function prepareQat(model: tf.LayersModel, config: QatConfig): Promise<QatPrepared> {
  if (config === null || typeof config !== 'object')
    throw new Error('prepareQat: config must be an object');
  const scheme = config.scheme ?? 'symmetric';
  checkQuantSpec({ bits: config.bits, scheme, granularity: 'channel' }, 'prepareQat config');
  if (config.foldBatchNorm !== undefined && typeof config.foldBatchNorm !== 'boolean') {
    throw new Error(
      `prepareQat config: foldBatchNorm must be a boolean, got ${config.foldBatchNorm}`,
    );
  }
  if (config.foldBatchNorm !== undefined && config.batchNorm !== undefined)
    throw new Error('prepareQat config: give batchNorm or foldBatchNorm, not both');
  const bnMode = config.batchNorm ?? (config.foldBatchNorm === false ? 'keep' : 'fold');
  if (!['fold', 'keep', 'freeze-then-fold'].includes(bnMode))
    throw new Error(
      `prepareQat config: batchNorm must be 'fold', 'keep' or 'freeze-then-fold', got ${String(bnMode)}`,
    );
  const freezeAfter = config.freezeBatchNormAfter;
  if (freezeAfter !== undefined) {
    if (bnMode !== 'freeze-then-fold')
      throw new Error(
        "prepareQat config: freezeBatchNormAfter applies to batchNorm 'freeze-then-fold' only",
      );
    if (!Number.isInteger(freezeAfter) || freezeAfter < 0)
      throw new Error(
        `prepareQat config: freezeBatchNormAfter must be a non-negative integer, got ${freezeAfter}`,
      );
  }
  const acts = checkActivations(config.activations);
  let source = model;
  let folded: string[] = [];
  const bnPairs =
    bnMode === 'freeze-then-fold' ? qatBnPairs(model, freezeAfter ?? null) : new Map();
  if (bnMode === 'fold') {
    const r = await foldBatchNorm(model);
    source = r.model;
    folded = r.folded.map((p) => p.batchNorm);
  }
  const edits = new Map<string, LayerEdit>();
  const prepared: Record<string, string> = {};
  const unconverted: Record<string, string> = {};
  for (const layer of source.layers) {
    const cls = layer.getClassName();
    if (!KERNEL_CLASSES.has(cls)) continue;
    const k = asKernelLayer(layer);
    if (!k) {
      unconverted[layer.name] =
        cls === 'Conv2D' ? 'channels-first Conv2D is not supported' : `${cls} has no QAT layer`;
      continue;
    }
    if (cls.startsWith('FrugalPacked')) {
      unconverted[layer.name] = 'already packed (quantize or prune the float model instead)';
      continue;
    }
    const cfg = layer.getConfig();
    if (k.kind === 'conv2d' && (cfg.groups ?? 1) !== 1) {
      unconverted[layer.name] = 'grouped Conv2D is not supported';
      continue;
    }
    const [kernel, bias] = layer.getWeights();
    const qcfg: Record<string, unknown> = {
      name: layer.name,
      kind: k.kind,
      kernelShape: k.kernelShape,
      bits: config.bits,
      scheme,
      useBias: bias !== undefined,
      activation: k.activation,
    };
    if (k.kind === 'conv2d') {
      qcfg.strides = pair(cfg.strides);
      qcfg.padding = cfg.padding ?? 'valid';
      qcfg.dilationRate = pair(cfg.dilationRate);
    }
    const bn = bnPairs.get(layer.name);
    const qat = bn
      ? {
          className: QatBnLayer.className,
          config: { ...qcfg, ...bn.config },
          weights: [...(bias ? [kernel, bias] : [kernel]), ...bn.weights],
        }
      : { className: QatLayer.className, config: qcfg, weights: bias ? [kernel, bias] : [kernel] };
    if (bn) {
      edits.set(bn.batchNorm, {
        remove: true,
        note: `trained in ${layer.name}, folded at convert`,
      });
      folded.push(bn.batchNorm);
    }
    const bnNote = bn
      ? `; ${bn.batchNorm} trained with batch statistics${freezeAfter === undefined ? '' : ` for ${freezeAfter} steps, then frozen`}, folded by convertQat`
      : '';
    if (!acts) {
      edits.set(layer.name, { replace: [qat] });
      prepared[layer.name] =
        `fake-quant int${config.bits} ${scheme} per-channel weights (STE)${bnNote}`;
      continue;
    }
    const actName = `${layer.name}_act_quant`;
    const act =
      acts.range === 'lsq'
        ? { className: LsqQuant.className, config: { name: actName, bits: acts.bits } }
        : {
            className: EmaActQuant.className,
            config: {
              name: actName,
              bits: acts.bits,
              momentum: acts.momentum ?? 0.9,
              freezeAfter: acts.freezeAfter ?? null,
            },
          };
    edits.set(layer.name, { replace: [act, qat] });
    prepared[layer.name] =
      `fake-quant int${config.bits} ${scheme} per-channel weights (STE); input fake-quant int${acts.bits} per tensor (${acts.range === 'lsq' ? 'LSQ step' : 'EMA range'}, ${actName})${bnNote}`;
  }
  let out: tf.LayersModel;
  try {
    out = rewriteModel(source, edits).model;
  } finally {
    for (const p of bnPairs.values()) tf.dispose(p.weights);
  }
  if (source !== model) source.dispose();
  return { model: out, prepared, unconverted, folded };
}
