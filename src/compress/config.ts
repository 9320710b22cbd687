import {
  type At,
  isPlainObject,
  rejectUnknownFields,
  string,
  versionedConfig,
} from '../config/index.js';
import type { RawOptions } from './options.js';
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

function checkStep(s: unknown, at: At): CompressStep {
  const where = `compress config: ${at.path}`;
  if (!isPlainObject(s)) throw at.expected('an object', s);
  rejectUnknownFields(s, STEP_FIELDS, at);
  const name = string()(s.method, at.field('method'));
  const method = getMethod(name);
  const options = s.options ?? {};
  if (!isPlainObject(options)) throw at.field('options').expected('an object', options);
  method.parseOptions(options, `${where} (${name}) options`);
  const layers = s.layers ?? {};
  if (!isPlainObject(layers))
    throw at.field('layers').expected('an object keyed by layer name', layers);
  const cleanLayers: Record<string, RawOptions | 'skip'> = {};
  for (const [layer, o] of Object.entries(layers)) {
    if (o === 'skip') cleanLayers[layer] = 'skip';
    else if (isPlainObject(o)) {
      method.parseOptions({ ...options, ...o }, `${where}.layers.${layer}`);
      cleanLayers[layer] = { ...o };
    } else throw at.field('layers').field(layer).expected("'skip' or an options object", o);
  }
  return {
    method: name,
    options: { ...options },
    ...(Object.keys(cleanLayers).length > 0 ? { layers: cleanLayers } : {}),
  };
}

/**
 * The versioned compress config (`version` required): `validate`, and a JSON round trip
 * (`toJSON` / `parse`).
 */
export const compressConfig = versionedConfig<CompressConfig>({
  name: 'compress config',
  version: COMPRESS_CONFIG_VERSION,
  versionRequired: true,
  check: (raw, at) => {
    rejectUnknownFields(raw, ['steps'], at);
    const steps = raw.steps;
    if (!Array.isArray(steps) || steps.length === 0)
      throw at.field('steps').expected('a non-empty array', steps);
    return {
      steps: steps.map((s: unknown, i: number) => checkStep(s, at.field('steps').index(i))),
    };
  },
});

/**
 * Checks a config (e.g. parsed JSON) and returns a clean copy. Every method's options and every
 * layer override are parsed by the method, so errors name the step, layer and field.
 */
export function validateCompressConfig(raw: unknown): CompressConfig {
  return compressConfig.validate(raw);
}

/** A one-step config for a method name (what `--method` on the CLI means). */
export function configForMethods(names: string[], options: RawOptions = {}): CompressConfig {
  return validateCompressConfig({
    version: COMPRESS_CONFIG_VERSION,
    steps: names.map((method) => ({ method, options })),
  });
}
