// Sequential freezing of decomposed layers (Hajimolahoseini et al., "Speeding up low rank
// decomposition-based training"): in each decomposed pair W ~ A B one factor trains while the
// other is frozen, and the roles swap on a schedule (the paper alternates per epoch; here every
// `period` steps). A frozen factor is left out of the variables the step differentiates, and
// tfjs's backward pass prunes every gradient that does not lead to a differentiated variable:
// the frozen factor's weight-gradient product (dW = x^T dy) is never computed, while the input
// gradient through it (dx = dy W^T) still is, since earlier layers need it.
import type * as tf from '@tensorflow/tfjs';
import type { DecomposeReport } from '../compress/decompose/decompose-model.js';
import { At, integer, object, oneOf, optional } from '../config/index.js';
import type { GradientContext } from '../train/gradients.js';

/** The factor layers of one decomposed layer: first (input side) and last (output side). */
export interface FactorPair {
  layer: string;
  first: string;
  last: string;
}

/** The factor pairs of a decomposition report (a 3-layer Tucker-2 / CP chain: its outer layers). */
export function factorPairs(report: DecomposeReport): FactorPair[] {
  return report.layers
    .filter((l) => l.replacedBy.length >= 2)
    .map((l) => ({
      layer: l.layer,
      first: l.replacedBy[0],
      last: l.replacedBy[l.replacedBy.length - 1],
    }));
}

export interface FreezingOptions {
  /** Steps per phase before the trained and frozen factors swap (default 1 epoch's worth: 50). */
  period?: number;
  /** Which factor trains first (default 'last': the output-side factors). */
  start?: 'first' | 'last';
}

const OPTIONS = object({
  period: optional(integer({ min: 1 })),
  start: optional(oneOf(['first', 'last'] as const)),
});

export interface FreezingSchedule {
  pairs: FactorPair[];
  /** 'first' or 'last': the factor of each pair that trains at `step`. */
  trainedAt(step: number): 'first' | 'last';
  /** Layer names frozen at `step`. */
  frozenAt(step: number): string[];
  /** The model's trainable variables less the frozen factors' weights at `step`. */
  variablesAt(step: number): tf.Variable[];
  /** A gradient context for `step` (the forward and loss passed through). */
  contextAt(step: number, base: Omit<GradientContext, 'variables'>): GradientContext;
}

/**
 * A sequential-freezing schedule over the factor pairs of `model` (the decomposed model; `pairs`
 * from factorPairs of its report). Every other layer trains at every step.
 */
export function sequentialFreezing(
  model: tf.LayersModel,
  pairs: FactorPair[],
  options: FreezingOptions = {},
): FreezingSchedule {
  const o = OPTIONS(options, new At('freezing options', '')) as FreezingOptions;
  if (pairs.length === 0)
    throw new Error('sequentialFreezing: no decomposed pairs (freezing would change nothing)');
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const owner = new Map<string, string>();
  for (const p of pairs) {
    if (p.first === p.last)
      throw new Error(
        `sequentialFreezing: the pair of ${p.layer} has one layer (${p.first}) as both factors`,
      );
    for (const n of [p.first, p.last]) {
      const layer = byName.get(n);
      if (!layer)
        throw new Error(
          `sequentialFreezing: layer ${n} (a factor of ${p.layer}) is not in the model`,
        );
      if (layer.trainableWeights.length === 0)
        throw new Error(
          `sequentialFreezing: layer ${n} (a factor of ${p.layer}) has no trainable weights, so freezing it would change nothing`,
        );
      const other = owner.get(n);
      if (other !== undefined)
        throw new Error(
          `sequentialFreezing: layer ${n} is a factor of both ${other} and ${p.layer}; each factor belongs to one pair`,
        );
      owner.set(n, p.layer);
    }
  }
  const period = o.period ?? 50;
  const start = o.start ?? 'last';
  const other = start === 'first' ? 'last' : 'first';
  const trainedAt = (step: number) => {
    if (!Number.isInteger(step) || step < 0)
      throw new Error(`sequentialFreezing: step must be a non-negative integer, got ${step}`);
    return Math.floor(step / period) % 2 === 0 ? start : other;
  };
  const frozenAt = (step: number) => {
    const t = trainedAt(step);
    return pairs.map((p) => (t === 'first' ? p.last : p.first));
  };
  const variablesAt = (step: number) => {
    const frozen = new Set(frozenAt(step));
    const vars: tf.Variable[] = [];
    for (const layer of model.layers) {
      if (frozen.has(layer.name)) continue;
      for (const w of layer.trainableWeights) vars.push(w.read() as tf.Variable);
    }
    return vars;
  };
  return {
    pairs,
    trainedAt,
    frozenAt,
    variablesAt,
    contextAt: (step, base) => ({ ...base, variables: variablesAt(step) }),
  };
}

/**
 * One optimizer per phase of a schedule. tfjs optimizers with slots (Adam, RMSProp, momentum)
 * key their slots by the position of each variable in the gradient list, so steps whose variable
 * sets differ must not share one optimizer: each phase gets its own, created by `make`.
 */
export function phaseOptimizers(
  schedule: FreezingSchedule,
  make: () => tf.Optimizer,
): { at(step: number): tf.Optimizer; dispose(): void } {
  const byPhase = new Map<'first' | 'last', tf.Optimizer>();
  return {
    at(step) {
      const phase = schedule.trainedAt(step);
      let o = byPhase.get(phase);
      if (!o) {
        o = make();
        for (const [p, prev] of byPhase)
          if (prev === o)
            throw new Error(
              `phaseOptimizers: make() returned the optimizer of phase '${p}' again for phase '${phase}'; each phase needs a new optimizer`,
            );
        byPhase.set(phase, o);
      }
      return o;
    },
    dispose() {
      for (const o of byPhase.values()) o.dispose();
      byPhase.clear();
    },
  };
}
