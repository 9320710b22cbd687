import { isPlainObject, type RawOptions } from './options.js';
import { getMethod } from './registry.js';

export const COMPRESS_CONFIG_VERSION = 1;

/** The methods frugal registers itself; `registerMethod` can add more by name. */
export type BuiltinMethodName =
  | 'fold-bn'
  | 'quantize'
  | 'int8'
  | 'int4'
  | 'int2'
  | 'adaquant'
  | 'nm'
  | 'mixed'
  | 'embedding'
  | 'lowrank';

/** One step: a method, its options, and per-layer overrides ('skip' or options to merge). */
export interface CompressStep {
  /** A built-in method or one added with `registerMethod`. */
  method: BuiltinMethodName | (string & {});
  options?: RawOptions;
  layers?: Record<string, RawOptions | 'skip'>;
}

/** Versioned, plain-data compression config: steps run in order. */
export interface CompressConfig {
  version: typeof COMPRESS_CONFIG_VERSION;
  steps: CompressStep[];
}

const STEP_FIELDS = ['method', 'options', 'layers'];

/**
 * Checks a config (e.g. parsed JSON) and returns a clean copy. Every method's options and every
 * layer override are parsed by the method, so errors name the step, layer and field.
 */
export function validateCompressConfig(raw: unknown): CompressConfig {
  if (!isPlainObject(raw)) throw new Error('compress config: must be an object');
  for (const k of Object.keys(raw)) {
    if (k !== 'version' && k !== 'steps')
      throw new Error(`compress config: unknown field '${k}' (known: version, steps)`);
  }
  if (raw.version !== COMPRESS_CONFIG_VERSION) {
    throw new Error(
      `compress config: version must be ${COMPRESS_CONFIG_VERSION}, got ${JSON.stringify(raw.version)}`,
    );
  }
  if (!Array.isArray(raw.steps) || raw.steps.length === 0)
    throw new Error('compress config: steps must be a non-empty array');
  const steps = raw.steps.map((s: unknown, i: number): CompressStep => {
    const where = `compress config: steps[${i}]`;
    if (!isPlainObject(s)) throw new Error(`${where} must be an object`);
    for (const k of Object.keys(s)) {
      if (!STEP_FIELDS.includes(k))
        throw new Error(`${where}: unknown field '${k}' (known: ${STEP_FIELDS.join(', ')})`);
    }
    if (typeof s.method !== 'string') throw new Error(`${where}: method must be a string`);
    const method = getMethod(s.method);
    const options = s.options ?? {};
    if (!isPlainObject(options)) throw new Error(`${where}.options must be an object`);
    method.parseOptions(options, `${where} (${s.method}) options`);
    const layers = s.layers ?? {};
    if (!isPlainObject(layers)) throw new Error(`${where}.layers must be an object of layer names`);
    const cleanLayers: Record<string, RawOptions | 'skip'> = {};
    for (const [name, o] of Object.entries(layers)) {
      if (o === 'skip') cleanLayers[name] = 'skip';
      else if (isPlainObject(o)) {
        method.parseOptions({ ...options, ...o }, `${where}.layers.${name}`);
        cleanLayers[name] = { ...o };
      } else throw new Error(`${where}.layers.${name} must be 'skip' or an options object`);
    }
    return {
      method: s.method,
      options: { ...options },
      ...(Object.keys(cleanLayers).length > 0 ? { layers: cleanLayers } : {}),
    };
  });
  return { version: COMPRESS_CONFIG_VERSION, steps };
}

/** A one-step config for a method name (what `--method` on the CLI means). */
export function configForMethods(names: string[], options: RawOptions = {}): CompressConfig {
  return validateCompressConfig({
    version: COMPRESS_CONFIG_VERSION,
    steps: names.map((method) => ({ method, options })),
  });
}
