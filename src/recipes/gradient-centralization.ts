// Gradient centralisation (Yong et al. 2020), a HAET recipe part: each weight gradient of rank >= 2
// loses its mean over every axis but the last, i.e. per output filter / unit (a tfjs conv kernel
// is [kh, kw, in, out], a dense kernel [in, out]). Biases and other rank-1 weights are untouched.
import * as tf from '@tensorflow/tfjs';
import type { StepHooks } from '../train/gradients.js';

/** `g` minus its mean over all axes but the last (g itself, cloned, when rank < 2). */
export function centralize(g: tf.Tensor): tf.Tensor {
  if (g.rank < 2) return g.clone();
  return tf.tidy(() => {
    const axes = Array.from({ length: g.rank - 1 }, (_, i) => i);
    return tf.sub(g, tf.mean(g, axes, true));
  });
}

/** A gradients hook that centralises the gradients `pass` gives. */
export function gradientCentralization(): NonNullable<StepHooks['gradients']> {
  return (pass) => {
    const r = pass();
    const grads: tf.NamedTensorMap = {};
    for (const [name, g] of Object.entries(r.grads)) {
      grads[name] = centralize(g);
      g.dispose();
    }
    return { value: r.value, grads };
  };
}
