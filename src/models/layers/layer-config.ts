import type * as tf from '@tensorflow/tfjs';

/**
 * A layer's `getConfig`: the base class's config, then the named public fields of `layer` (JSON
 * values) in the order given, then `more` (fields under another name or in another form). Use as
 * `return configWith(super.getConfig(), this, ['units', 'bits'], { activation: this.name });`.
 */
export function configWith<K extends string>(
  base: tf.serialization.ConfigDict,
  layer: { readonly [P in K]: tf.serialization.ConfigDictValue },
  keys: readonly K[],
  more: tf.serialization.ConfigDict = {},
): tf.serialization.ConfigDict {
  const config = { ...base };
  for (const k of keys) config[k] = layer[k];
  return Object.assign(config, more);
}
