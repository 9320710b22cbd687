import {
  boolean,
  either,
  integer,
  nullable,
  number,
  object,
  oneOf,
  optional,
  record,
  versionedConfig,
} from '../config/index.js';
import { RMM_KINDS, type RmmKind } from './backward/rmm.js';
import { ACTIVATION_BITS, type ActivationBits } from './codec/bits.js';
import { FEWBIT_BITS, type FewbitBits } from './codec/fewbit-table.js';

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

export const ACT_CONFIG_VERSION = 1;

/**
 * Plain-data configuration of `compressActivations`; `validateActConfig` fills defaults. Reports
 * carry it with its version (`actConfig.parse` reads it back).
 */
export interface ActConfig {
  version: typeof ACT_CONFIG_VERSION;
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
   * widest layer output takes at most 640 KiB when no layer mixes samples (batch norm), a positive
   * integer is the samples per chunk, 'off' runs the whole batch at once.
   */
  forwardChunk: 'auto' | 'off' | number;
}

export const DEFAULT_ACT_CONFIG: ActConfig = {
  version: ACT_CONFIG_VERSION,
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

const FEWBIT = oneOf([0, ...FEWBIT_BITS]);
const RATIO = number({ above: 0, max: 1 });

const FIELDS = object({
  level: oneOf(ACT_LEVELS),
  bits: nullable(oneOf(ACTIVATION_BITS)),
  fewbit: FEWBIT,
  rmm: nullable(object({ ratio: RATIO, kind: oneOf(RMM_KINDS) })),
  mixed: nullable(object({ avgBits: number({ min: 1, max: 8 }), everySteps: integer({ min: 1 }) })),
  perSample: boolean(),
  overrides: record(
    object({
      actBits: optional(oneOf(ACTIVATION_BITS)),
      fewbit: optional(FEWBIT),
      // 0 turns RMM off for the layer
      rmmRatio: optional(number({ min: 0, max: 1 })),
      skip: optional(boolean()),
    }),
    'layer name',
  ),
  seed: integer(),
  forwardChunk: either(
    [oneOf(['auto', 'off']), integer({ min: 1 })],
    "'auto', 'off' or a positive integer",
  ),
});

/** The versioned activation config: `validate`, and a JSON round trip (`toJSON` / `parse`). */
export const actConfig = versionedConfig<ActConfig>({
  name: 'activation config',
  version: ACT_CONFIG_VERSION,
  check: (raw, at) => {
    const { version: _v, ...defaults } = DEFAULT_ACT_CONFIG;
    const c = FIELDS({ ...defaults, ...raw }, at);
    if (c.mixed === null && c.level === 'L3.mixed') c.mixed = { avgBits: 2, everySteps: 100 };
    return c;
  },
});

/** Checks every field (errors name it) and fills defaults. Survives a JSON round trip. */
export function validateActConfig(input: Partial<ActConfig> = {}): ActConfig {
  return actConfig.validate(input);
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
