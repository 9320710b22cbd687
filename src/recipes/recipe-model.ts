// The recipe parts that change layers (CELU, OPT) make a new model through the rewrite engine;
// `recipeModel` applies them in one place so that the bench, the CLI and library users agree.
import type * as tf from '@tensorflow/tfjs';
import type { StepHooks } from '../train/gradients.js';
import { useCelu } from './celu.js';
import type { RecipeConfig } from './config.js';
import { optHooks, useOpt } from './use-opt.js';

export interface RecipeModel {
  /** The model to train: `model` itself when the recipe changes no layer, else a new one. */
  model: tf.LayersModel;
  /** True when `model` is a new model (the caller then owns and disposes both). */
  rebuilt: boolean;
  /** What changed, one line per part (for logs). */
  notes: string[];
  /** OPT's stochastic re-sampling hook (fold and redraw the block after the update), if any. */
  hooks?: StepHooks;
}

/**
 * Applies the layer-changing parts of `c` to `model`: CELU(alpha) for every ReLU, then OPT on the
 * Dense layers. Each part throws when it would change nothing (no ReLU, no Dense layer). The input
 * model is left untouched; intermediate copies are disposed.
 */
export function recipeModel(
  model: tf.LayersModel,
  c: RecipeConfig,
  o: { seed?: number; optResampleEvery?: number } = {},
): RecipeModel {
  let out = model;
  const notes: string[] = [];
  let hooks: StepHooks | undefined;
  try {
    if (c.celu !== null) {
      const r = useCelu(out, c.celu);
      out = r.model;
      notes.push(`CELU(${c.celu}) replaced ${r.replaced} ReLU`);
    }
    if (c.opt !== null) {
      const r = useOpt(out, { variant: c.opt, seed: o.seed });
      if (out !== model) out.dispose();
      out = r.model;
      notes.push(`OPT ${c.opt} on ${r.converted.join(', ')}`);
      const h = optHooks(out, o.optResampleEvery ?? 50);
      if (h.afterUpdate) hooks = h;
    }
  } catch (e) {
    if (out !== model) out.dispose();
    throw e;
  }
  return { model: out, rebuilt: out !== model, notes, hooks };
}
