import type * as tf from '@tensorflow/tfjs';

/**
 * `fromConfig` for a layer whose config holds `seed: number | null` (null: unseeded, JSON has no
 * undefined): rebuilds it with the seed back as number or undefined. Use as
 * `static override fromConfig = fromSeededConfig;`.
 */
export function fromSeededConfig<T extends tf.serialization.Serializable>(
  cls: tf.serialization.SerializableConstructor<T>,
  config: tf.serialization.ConfigDict,
): T {
  return new cls({ ...config, seed: config.seed ?? undefined });
}
