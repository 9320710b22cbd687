// Sharpness-aware minimisation (Foret et al. 2021), one of the HAET recipe's parts: the step's
// gradient is taken at the worst nearby weights w + e, e = rho * g / ||g|| (g the plain gradient
// at w, ||.|| the global L2 norm over every trained variable), then applied at w.
import * as tf from '@tensorflow/tfjs';
import type { StepHooks } from '../train/gradients.js';

type GradientsHook = NonNullable<StepHooks['gradients']>;

/** SAM's two passes as a gradients hook (composable: `pass` may itself be another hook's). */
export function samGradients(rho: number): GradientsHook {
  if (!(rho > 0)) throw new Error(`sam: rho must be above 0, got ${rho}`);
  return (pass, ctx) => {
    const first = pass();
    const grads = ctx.variables.map((v) => {
      const g = first.grads[v.name];
      if (!g) throw new Error(`sam: the pass gave no gradient for variable '${v.name}'`);
      return g;
    });
    const eps = tf.tidy(() => {
      const sq = grads.map((g) => tf.sum(tf.square(g)));
      const norm = tf.sqrt(tf.addN(sq));
      const scale = tf.div(rho, tf.add(norm, 1e-12));
      return grads.map((g) => tf.mul(g, scale));
    });
    // clone() shares the data; assign() gives the variable new data, so `saved` keeps w exactly.
    const saved = ctx.variables.map((v) => v.clone());
    ctx.variables.forEach((v, i) => {
      v.assign(tf.add(v, eps[i]));
    });
    let second: ReturnType<GradientsHook>;
    try {
      second = pass();
    } finally {
      ctx.variables.forEach((v, i) => {
        v.assign(saved[i]);
      });
      tf.dispose([...eps, ...saved]);
    }
    tf.dispose(Object.values(first.grads));
    return { value: first.value, grads: second.grads };
  };
}
