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
  version?: 1;
  /** Per-layer overrides by layer name; a layer listed here is decomposed even if `method` does not apply to its type. */
  layers?: Record<string, LayerDecomposition>;
}

const SIZE_KEYS = ['rank', 'energy', 'ratio', 'maxParams'] as const;
const LAYER_KEYS = new Set<string>([
  'method',
  ...SIZE_KEYS,
  'bits',
  'ttmCores',
  'inFactors',
  'outFactors',
  'skip',
]);
const TOP_KEYS = new Set<string>([...LAYER_KEYS, 'version', 'layers']);

function fail(where: string, msg: string): never {
  throw new Error(`decompose config: ${where}${msg}`);
}

function checkLayerSettings(s: Record<string, unknown>, where: string, allowed: Set<string>): void {
  for (const key of Object.keys(s)) {
    if (!allowed.has(key)) fail(where, `unknown field '${key}'`);
  }
  if (
    s.method !== undefined &&
    !(DECOMPOSITION_METHODS as readonly string[]).includes(s.method as string)
  ) {
    fail(
      where,
      `method must be one of ${DECOMPOSITION_METHODS.join(', ')}, got ${JSON.stringify(s.method)}`,
    );
  }
  const r = s.rank;
  if (r !== undefined) {
    const ok =
      (typeof r === 'number' && Number.isInteger(r) && r >= 1) ||
      (Array.isArray(r) && r.length === 2 && r.every((x) => Number.isInteger(x) && x >= 1));
    if (!ok)
      fail(where, `rank must be a positive integer or [r_in, r_out], got ${JSON.stringify(r)}`);
  }
  const e = s.energy;
  if (e !== undefined && !(typeof e === 'number' && e > 0 && e <= 1)) {
    fail(where, `energy must be in (0, 1], got ${JSON.stringify(e)}`);
  }
  const q = s.ratio;
  if (q !== undefined && !(typeof q === 'number' && q > 0 && q < 1)) {
    fail(where, `ratio must be in (0, 1), got ${JSON.stringify(q)}`);
  }
  const p = s.maxParams;
  if (p !== undefined && !(typeof p === 'number' && Number.isInteger(p) && p >= 1)) {
    fail(where, `maxParams must be a positive integer, got ${JSON.stringify(p)}`);
  }
  const b = s.bits;
  if (b !== undefined && !(typeof b === 'number' && Number.isInteger(b) && b >= 2 && b <= 8)) {
    fail(where, `bits must be an integer from 2 to 8, got ${JSON.stringify(b)}`);
  }
  const c = s.ttmCores;
  if (c !== undefined && !(typeof c === 'number' && Number.isInteger(c) && c >= 2 && c <= 6)) {
    fail(where, `ttmCores must be an integer from 2 to 6, got ${JSON.stringify(c)}`);
  }
  for (const k of ['inFactors', 'outFactors'] as const) {
    const f = s[k];
    if (
      f !== undefined &&
      !(Array.isArray(f) && f.length >= 2 && f.every((x) => Number.isInteger(x) && x >= 1))
    ) {
      fail(where, `${k} must be a list of at least 2 positive integers, got ${JSON.stringify(f)}`);
    }
  }
  if ((s.inFactors === undefined) !== (s.outFactors === undefined)) {
    fail(where, 'give both inFactors and outFactors, or neither');
  }
  if (s.skip !== undefined && typeof s.skip !== 'boolean')
    fail(where, `skip must be true or false`);
  const sizes = SIZE_KEYS.filter((k) => s[k] !== undefined);
  if (sizes.length > 1)
    fail(where, `give only one of rank, energy, ratio, maxParams (got ${sizes.join(', ')})`);
}

/** Validates a config (plain JSON data) and returns it typed; errors name the field. */
export function validateDecomposeConfig(config: unknown): DecomposeConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    fail('', 'must be an object');
  }
  const c = config as Record<string, unknown>;
  if (c.version !== undefined && c.version !== 1)
    fail('', `unsupported version ${JSON.stringify(c.version)} (expected 1)`);
  checkLayerSettings(c, '', TOP_KEYS);
  if (c.layers !== undefined) {
    if (typeof c.layers !== 'object' || c.layers === null || Array.isArray(c.layers)) {
      fail('', 'layers must be an object keyed by layer name');
    }
    for (const [name, s] of Object.entries(c.layers as Record<string, unknown>)) {
      if (typeof s !== 'object' || s === null || Array.isArray(s))
        fail(`layers.${name}: `, 'must be an object');
      checkLayerSettings(s as Record<string, unknown>, `layers.${name}: `, LAYER_KEYS);
    }
  }
  return c as DecomposeConfig;
}

/** Settings for one layer: the override's size field (if any) replaces the top-level one. */
export function settingsFor(config: DecomposeConfig, name: string): LayerDecomposition {
  const { layers, version: _v, ...top } = config;
  const own = layers?.[name];
  if (!own) return top;
  const merged: LayerDecomposition = { ...top, ...own };
  if (SIZE_KEYS.some((k) => own[k] !== undefined)) {
    for (const k of SIZE_KEYS) if (own[k] === undefined) delete merged[k];
  }
  return merged;
}
