import {
  boolean,
  type Check,
  check,
  either,
  integer,
  list,
  number,
  object,
  oneOf,
  optional,
  record,
  type Shape,
  type ShapeValue,
  versionedConfig,
} from '../../config/index.js';

export const DENSE_METHODS = ['svd', 'ttm'] as const;
export const CONV_METHODS = ['tucker2', 'cp', 'cp-admm'] as const;
export const DECOMPOSITION_METHODS = [...DENSE_METHODS, ...CONV_METHODS] as const;
export type DecompositionMethod = (typeof DECOMPOSITION_METHODS)[number];

/** How to decompose one layer. Exactly one of rank / energy / ratio / maxParams sets the size. */
export interface LayerDecomposition {
  method?: DecompositionMethod;
  /** svd, cp, cp-admm, ttm: one rank; tucker2: r for both channel modes, or [r_in, r_out]. */
  rank?: number | [number, number];
  /** Fraction of sigma^2 energy to keep (svd; tucker2 per channel mode). In (0, 1]. */
  energy?: number;
  /** Target parameters after / before, in (0, 1). */
  ratio?: number;
  /** Parameter budget for this layer. */
  maxParams?: number;
  /** cp-admm: bits of the factor grid, 2..8. */
  bits?: number;
  /** ttm: number of cores (default 3) when the factors are not given. */
  ttmCores?: number;
  /** ttm: factors of the input and output widths. */
  inFactors?: number[];
  outFactors?: number[];
  /** Leave this layer as it is. */
  skip?: boolean;
}

export interface DecomposeConfig extends LayerDecomposition {
  /** DECOMPOSE_CONFIG_VERSION; a config without it is taken as this version. */
  version?: typeof DECOMPOSE_CONFIG_VERSION;
  /**
   * 'speed': time each layer against its decompositions on the active backend (ranks around the
   * size setting's estimate, rounded to multiples of 8) and decompose only those that get faster.
   */
  select?: 'speed';
  /** With select 'speed': what to time, the forward ('inference') or forward + backward ('training'). */
  for?: 'training' | 'inference';
  /** With select 'speed': batch of the timing input (default 32). */
  speedBatch?: number;
  /** Per-layer overrides by layer name; a layer listed here is decomposed even if `method` does not apply to its type. */
  layers?: Record<string, LayerDecomposition>;
}

export const DECOMPOSE_CONFIG_VERSION = 1;

const SIZE_KEYS = ['rank', 'energy', 'ratio', 'maxParams'] as const;
const POSITIVE = integer({ min: 1 });
const FACTORS = optional(list(POSITIVE, { minLength: 2 }));
const LAYER_FIELDS = {
  method: optional(oneOf(DECOMPOSITION_METHODS)),
  rank: optional(
    either([POSITIVE, list(POSITIVE, { length: 2 })], 'a positive integer or [r_in, r_out]'),
  ),
  energy: optional(number({ above: 0, max: 1 })),
  ratio: optional(number({ above: 0, below: 1 })),
  maxParams: optional(POSITIVE),
  bits: optional(integer({ min: 2, max: 8 })),
  ttmCores: optional(integer({ min: 2, max: 6 })),
  inFactors: FACTORS,
  outFactors: FACTORS,
  skip: optional(boolean()),
};

/** One layer's settings: the fields, then the rules that join them. */
function layerSettings<S extends Shape>(shape: S): Check<ShapeValue<S>> {
  const fields = object(shape);
  return check('an object', (v, at) => {
    const s = fields(v, at) as Record<string, unknown>;
    if ((s.inFactors === undefined) !== (s.outFactors === undefined))
      throw at.error('give both inFactors and outFactors, or neither');
    const sizes = SIZE_KEYS.filter((k) => s[k] !== undefined);
    if (sizes.length > 1)
      throw at.error(`give only one of rank, energy, ratio, maxParams (got ${sizes.join(', ')})`);
    return s as ShapeValue<S>;
  });
}

const TOP_SETTINGS = layerSettings({
  ...LAYER_FIELDS,
  select: optional(oneOf(['speed'] as const)),
  for: optional(oneOf(['training', 'inference'] as const)),
  speedBatch: optional(POSITIVE),
  layers: optional(record(layerSettings(LAYER_FIELDS), 'layer name')),
});
const TOP = check('an object', (v, at) => {
  const s = TOP_SETTINGS(v, at);
  if (s.select === 'speed' && s.for === undefined)
    throw at.error("select 'speed' needs for: 'training' or 'inference' (what to time)");
  if (s.select === undefined && (s.for !== undefined || s.speedBatch !== undefined))
    throw at.error(
      `${s.for !== undefined ? 'for' : 'speedBatch'} applies only with select: 'speed'`,
    );
  return s;
});

/**
 * The versioned decompose config: `validate` (a config without `version` is this version), and a
 * JSON round trip (`toJSON` / `parse`).
 */
export const decomposeConfig = versionedConfig<DecomposeConfig>({
  name: 'decompose config',
  version: DECOMPOSE_CONFIG_VERSION,
  check: (raw, at) => TOP(raw, at) as Omit<DecomposeConfig, 'version'>,
});

/** Validates a config (plain JSON data) and returns a clean copy, typed; errors name the field. */
export function validateDecomposeConfig(config: unknown): DecomposeConfig {
  return decomposeConfig.validate(config);
}

/** Settings for one layer: the override's size field (if any) replaces the top-level one. */
export function settingsFor(config: DecomposeConfig, name: string): LayerDecomposition {
  const { layers, version: _v, select: _s, for: _f, speedBatch: _b, ...top } = config;
  const own = layers?.[name];
  if (!own) return top;
  const merged: LayerDecomposition = { ...top, ...own };
  if (SIZE_KEYS.some((k) => own[k] !== undefined)) {
    for (const k of SIZE_KEYS) if (own[k] === undefined) delete merged[k];
  }
  return merged;
}
