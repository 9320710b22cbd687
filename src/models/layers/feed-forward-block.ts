import * as tf from '@tensorflow/tfjs';
import type { SeededInit } from '../init.js';

/**
 * The second half of a pre-norm Transformer block `i`: the attention output `h` added to the
 * stream `x`, then x + ff2(gelu(ff1(layerNorm(x)))) with `hidden` units inside. Layer names
 * `b{i}_add1`, `b{i}_ln2`, `b{i}_ff1`, `b{i}_ff2`, `b{i}_add2`; the two kernels take the next two
 * seeds of `init`. Shared by the zoo Transformer and ViT.
 */
export function residualFeedForward(
  x: tf.SymbolicTensor,
  h: tf.SymbolicTensor,
  i: number,
  o: { units: number; hidden: number; init: SeededInit },
): tf.SymbolicTensor {
  const apply = (layer: tf.layers.Layer, t: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
    layer.apply(t) as tf.SymbolicTensor;
  const stream = apply(tf.layers.add({ name: `b${i}_add1` }), [x, h]);
  let f = apply(tf.layers.layerNormalization({ name: `b${i}_ln2` }), stream);
  f = apply(
    tf.layers.dense({
      units: o.hidden,
      activation: 'gelu',
      kernelInitializer: o.init.glorot(),
      name: `b${i}_ff1`,
    }),
    f,
  );
  f = apply(
    tf.layers.dense({ units: o.units, kernelInitializer: o.init.glorot(), name: `b${i}_ff2` }),
    f,
  );
  return apply(tf.layers.add({ name: `b${i}_add2` }), [stream, f]);
}
