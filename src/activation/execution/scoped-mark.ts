import type * as tf from '@tensorflow/tfjs';

/**
 * A mark on tensors that holds while a function runs (kept in a WeakSet: a mark never keeps a
 * tensor alive). `during(inputs, f)` runs `f` with `inputs` marked; `has(t)` reads the mark.
 */
export function scopedMark(): {
  during<T>(inputs: tf.Tensor[], f: () => T): T;
  has(t: tf.Tensor): boolean;
} {
  const marked = new WeakSet<tf.Tensor>();
  return {
    during(inputs, f) {
      for (const t of inputs) marked.add(t);
      try {
        return f();
      } finally {
        for (const t of inputs) marked.delete(t);
      }
    },
    has: (t) => marked.has(t),
  };
}
