// Sharpness-aware minimisation (Foret et al. 2021), one of the HAET recipe's parts: the step's
// gradient is taken at the worst nearby weights w + e, e = rho * g / ||g|| (g the plain gradient
// at w, ||.|| the global L2 norm over every trained variable), then applied at w.
import * as tf from '@tensorflow/tfjs';
import type { StepHooks } from '../train/gradients.js';

type GradientsHook = NonNullable<StepHooks['gradients']>;

/**
 * SAM's two passes as a gradients hook (composable: `pass` may itself be another hook's). With
 * `every` k > 1 only the 1st, (k+1)-th, ... step of the hook takes the perturbed second pass; the
 * others return the plain pass (a cheaper SAM for short wall budgets, as in LookSAM / RST).
 */
export function samGradients(rho: number, every = 1): GradientsHook {
  if (!(rho > 0)) throw new Error(`sam: rho must be above 0, got ${rho}`);
  if (!(Number.isInteger(every) && every >= 1))
    throw new Error(`sam: every must be an integer >= 1, got ${every}`);
  let calls = 0;
  return (pass, ctx) => {
    const perturb = calls % every === 0;
    calls++;
    const first = pass();
    if (!perturb) return first;
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
