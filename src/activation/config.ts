import { type ActivationBits, isActivationBits } from './bits.js';
import { FEWBIT_BITS, type FewbitBits } from './fewbit-table.js';
import { RMM_KINDS, type RmmKind } from './rmm.js';

/**
 * Optimisation levels, after ActNN: L0 exact float32 saves (same memory layout, for comparison),
 * L1 4-bit conv/dense inputs (everything else exact), L2 4-bit everywhere, L3 2-bit everywhere,
 * L3.mixed 2 bits on average with per-layer bits re-allocated from measured sensitivity.
 */
export const ACT_LEVELS = ['L0', 'L1', 'L2', 'L3', 'L3.mixed'] as const;
export type ActLevel = (typeof ACT_LEVELS)[number];

export interface LayerOverride {
  actBits?: ActivationBits;
  fewbit?: 0 | FewbitBits;
  rmmRatio?: number;
  /** Leave this layer as it is (it is reported as skipped). */
  skip?: boolean;
}

export interface MixedPrecisionConfig {
  /** Average bits per saved value the allocation must meet. */
  avgBits: number;
  /** Re-measure sensitivities and re-allocate every this many steps. */
  everySteps: number;
}

/** Plain-data configuration of `compressActivations`; `validateActConfig` fills defaults. */
export interface ActConfig {
  level: ActLevel;
  /** Bits for every compressed layer, overriding the level's (optional). */
  bits: ActivationBits | null;
  /** Few-bit codes for GELU/SiLU/tanh/sigmoid/ELU/softplus backward (0: off). */
  fewbit: 0 | FewbitBits;
  /** Randomized-matmul backward for Dense layers (null: off). */
  rmm: { ratio: number; kind: RmmKind } | null;
  /** Mixed precision (set by level L3.mixed unless given). */
  mixed: MixedPrecisionConfig | null;
  /**
   * Per-sample bits inside each quantized save (ActNN): a layer's bits become the average over
   * the batch, wider for samples with large group ranges. Combines with any level and `mixed`.
   */
  perSample: boolean;
  /** Per-layer settings by layer name. */
  overrides: Record<string, LayerOverride>;
  /** Seed of stochastic rounding and random projections. */
  seed: number;
  /**
   * Chunked execution of the training forward (`chunkedForward`): 'auto' runs it in chunks whose
   * widest layer output takes at most 2 MiB when no layer mixes samples (batch norm), a positive
   * integer is the samples per chunk, 'off' runs the whole batch at once.
   */
  forwardChunk: 'auto' | 'off' | number;
}

export const DEFAULT_ACT_CONFIG: ActConfig = {
  level: 'L3',
  bits: null,
  fewbit: 0,
  rmm: null,
  mixed: null,
  perSample: false,
  overrides: {},
  seed: 0,
  forwardChunk: 'auto',
};

function fail(field: string, msg: string, v: unknown): never {
  throw new Error(`activation config: ${field} ${msg}, got ${JSON.stringify(v)}`);
}

function checkFewbit(field: string, v: unknown): 0 | FewbitBits {
  if (v !== 0 && !(FEWBIT_BITS as readonly unknown[]).includes(v)) fail(field, 'must be 0..4', v);
  return v as 0 | FewbitBits;
}

function checkRatio(field: string, v: unknown): number {
  if (typeof v !== 'number' || !(v > 0 && v <= 1)) fail(field, 'must be in (0, 1]', v);
  return v;
}

/** Checks every field (errors name it) and fills defaults. Survives a JSON round trip. */
export function validateActConfig(input: Partial<ActConfig> = {}): ActConfig {
  if (typeof input !== 'object' || input === null) fail('', 'must be an object', input);
  const known = new Set(Object.keys(DEFAULT_ACT_CONFIG));
  for (const k of Object.keys(input)) if (!known.has(k)) fail(k, 'is not a known field', k);
  const c: ActConfig = { ...DEFAULT_ACT_CONFIG, ...input };
  if (!(ACT_LEVELS as readonly unknown[]).includes(c.level))
    fail('level', `must be one of ${ACT_LEVELS.join(', ')}`, c.level);
  if (c.bits !== null && !isActivationBits(c.bits))
    fail('bits', 'must be 1, 2, 4, 8 or 32', c.bits);
  checkFewbit('fewbit', c.fewbit);
  if (c.rmm !== null) {
    if (typeof c.rmm !== 'object') fail('rmm', 'must be an object or null', c.rmm);
    checkRatio('rmm.ratio', c.rmm.ratio);
    if (!RMM_KINDS.includes(c.rmm.kind))
      fail('rmm.kind', `must be one of ${RMM_KINDS}`, c.rmm.kind);
  }
  if (c.mixed === null && c.level === 'L3.mixed') c.mixed = { avgBits: 2, everySteps: 100 };
  if (c.mixed !== null) {
    if (typeof c.mixed !== 'object') fail('mixed', 'must be an object or null', c.mixed);
    for (const k of Object.keys(c.mixed))
      if (!['avgBits', 'everySteps'].includes(k)) fail(`mixed.${k}`, 'is not known', k);
    if (typeof c.mixed.avgBits !== 'number' || !(c.mixed.avgBits >= 1 && c.mixed.avgBits <= 8))
      fail('mixed.avgBits', 'must be a number in [1, 8]', c.mixed.avgBits);
    if (!Number.isInteger(c.mixed.everySteps) || c.mixed.everySteps < 1)
      fail('mixed.everySteps', 'must be a positive integer', c.mixed.everySteps);
  }
  if (typeof c.perSample !== 'boolean') fail('perSample', 'must be a boolean', c.perSample);
  if (typeof c.overrides !== 'object' || c.overrides === null || Array.isArray(c.overrides))
    fail('overrides', 'must be an object keyed by layer name', c.overrides);
  for (const [name, o] of Object.entries(c.overrides)) {
    const f = `overrides.${name}`;
    if (typeof o !== 'object' || o === null) fail(f, 'must be an object', o);
    for (const k of Object.keys(o))
      if (!['actBits', 'fewbit', 'rmmRatio', 'skip'].includes(k))
        fail(`${f}.${k}`, 'is not known', k);
    if (o.actBits !== undefined && !isActivationBits(o.actBits))
      fail(`${f}.actBits`, 'must be 1, 2, 4, 8 or 32', o.actBits);
    if (o.fewbit !== undefined) checkFewbit(`${f}.fewbit`, o.fewbit);
    if (o.rmmRatio !== undefined && o.rmmRatio !== 0) checkRatio(`${f}.rmmRatio`, o.rmmRatio);
    if (o.skip !== undefined && typeof o.skip !== 'boolean')
      fail(`${f}.skip`, 'must be a boolean', o.skip);
  }
  if (!Number.isInteger(c.seed)) fail('seed', 'must be an integer', c.seed);
  const fc = c.forwardChunk;
  if (fc !== 'auto' && fc !== 'off' && !(Number.isInteger(fc) && (fc as number) >= 1))
    fail('forwardChunk', "must be 'auto', 'off' or a positive integer", fc);
  return c;
}

/** Bits the level gives a layer: `weighted` layers are Dense/Conv (matmul-like). */
export function levelBits(c: ActConfig, weighted: boolean): ActivationBits {
  if (c.bits !== null) return c.bits;
  switch (c.level) {
    case 'L0':
      return 32;
    case 'L1':
      return weighted ? 4 : 32;
    case 'L2':
      return 4;
    case 'L3':
    case 'L3.mixed':
      return 2;
  }
}
