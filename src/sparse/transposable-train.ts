/**
 * N:M-sparse training with transposable masks (Hubara et al., NeurIPS 2021): every Dense/Conv2D
 * kernel [..., in, out] with in and out multiples of M is multiplied by a mask that keeps N of
 * every M weights along the input channels AND along the output channels (each M x M block has N
 * ones in every row and column; src/compress/sparsity/transposable.ts). The forward product x W
 * and the backward's input-gradient product dy W^T then both have an N:M operand.
 *
 * Through the step seam (StepHooks.afterUpdate), on the model's own variables:
 * - `straightThrough` (default): a dense copy W_d of each kernel is kept; the layer's kernel is
 *   W_d * M. The optimizer updates the kernel with the gradient at the masked weights (all
 *   entries, pruned ones included); that update is added to W_d and the kernel is set to
 *   W_d * M again (the straight-through estimator). Pruned weights keep learning and can come
 *   back when the masks are recomputed from W_d every `recomputeEvery` steps.
 * - `straightThrough: false`: the kernel itself is re-masked after every update (pruned weights
 *   stay 0); the masks are fixed (recomputing them would change nothing: it is refused).
 *
 * The same hooks train from scratch or fine-tune a trained model. After `finish()` the kernels
 * hold W_d * M (exactly 0 where pruned), so the model saves and loads as plain tfjs layers.
 *
 * Mask diversity (Hubara et al.): the number of masks a block of M x M weights may take under
 * the constraint, 90 for transposable 2:4 against C(4,2)^4 = 1296 for plain 2:4 (`maskDiversity`).
 */
import * as tf from '@tensorflow/tfjs';
import { type TransposableSolver, transposableNMMask } from '../compress/sparsity/transposable.js';
import { At, boolean, check, integer, number, object, oneOf, optional } from '../config/index.js';
import type { StepHooks } from '../train/gradients.js';

export interface TransposableTrainingOptions {
  /** Kept per group (default 2). */
  n?: number;
  /** Group size along both channel axes (default 4). */
  m?: number;
  /** Recompute the masks from the dense weights every this many steps; 0 keeps them fixed (default 0). */
  recomputeEvery?: number;
  /** Mask solver: 'greedy' (validated: repaired by the exact solver where it fails) or 'exact' (default 'greedy'). */
  solver?: TransposableSolver;
  /** Keep dense weights that get the updates of the pruned entries (default true). */
  straightThrough?: boolean;
  /**
   * SR-STE (Zhou et al., ICLR 2021): adds decay * (1 - M) * W_d to each kernel's gradient, so
   * pruned dense weights are pulled towards 0 and masks flip less (default 0: plain STE). Needs
   * straightThrough and recomputeEvery > 0 or rampSteps > 0 (otherwise pruned weights never
   * matter again).
   */
  decay?: number;
  /**
   * Gradual sparsity (pruned-weight decay, Kao et al. 2022): for the first `rampSteps` steps the
   * pruned weights enter the forward scaled by alpha = 1 - step / rampSteps instead of 0, so the
   * model goes from dense to N:M smoothly; from then on the mask is hard (default 0: hard from
   * the first step). Needs straightThrough.
   */
  rampSteps?: number;
}

type Resolved = Required<TransposableTrainingOptions>;

const fields = object({
  n: optional(integer({ min: 1 })),
  m: optional(integer({ min: 2, max: 16 })),
  recomputeEvery: optional(integer({ min: 0 })),
  solver: optional(oneOf(['greedy', 'exact'] as const)),
  straightThrough: optional(boolean()),
  decay: optional(number({ min: 0 })),
  rampSteps: optional(integer({ min: 0 })),
});

const optionsCheck = check(
  '{n, m, recomputeEvery, solver, straightThrough, decay, rampSteps}',
  (v, at: At) => {
    const c = fields(v ?? {}, at);
    const r: Resolved = {
      n: c.n ?? 2,
      m: c.m ?? 4,
      recomputeEvery: c.recomputeEvery ?? 0,
      solver: c.solver ?? 'greedy',
      straightThrough: c.straightThrough ?? true,
      decay: c.decay ?? 0,
      rampSteps: c.rampSteps ?? 0,
    };
    if (r.n >= r.m)
      throw at.field('n').error(`n (${r.n}) must be below m (${r.m}) (n = m keeps every weight)`);
    if (r.recomputeEvery > 0 && !r.straightThrough)
      throw at
        .field('recomputeEvery')
        .error(
          `recomputing the masks needs straightThrough: without it the pruned weights stay 0 and the masks could not change (set straightThrough: true or recomputeEvery: 0)`,
        );
    if (r.rampSteps > 0 && !r.straightThrough)
      throw at
        .field('rampSteps')
        .error(
          `a sparsity ramp needs straightThrough: without it the pruned weights are 0 after the first step and there is nothing to fade out`,
        );
    if (r.decay > 0 && r.recomputeEvery === 0 && r.rampSteps === 0)
      throw at
        .field('decay')
        .error(
          `decay (${r.decay}) acts on pruned dense weights, which only matter when the masks are recomputed or during a ramp (set recomputeEvery > 0, rampSteps > 0 or decay: 0)`,
        );
    return r;
  },
);

/** Validates transposable-training options (ConfigErrors name the field). */
export function parseTransposableOptions(v: unknown, config = 'transposableTraining'): Resolved {
  return optionsCheck(v, new At(config));
}

interface MaskedKernel {
  layer: string;
  shape: number[];
  kernel: tf.Variable;
  /** Dense weights (straight-through only). */
  dense?: tf.Variable;
  mask: tf.Tensor;
  maskValues: Uint8Array;
}

export interface TransposableTrainingStats {
  steps: number;
  recomputes: number;
  /** Per recompute: the fraction of mask entries that changed, over all masked kernels. */
  maskChangeFraction: number[];
  /** Blocks where the greedy solver's mask was invalid and the exact one was used. */
  greedyRepairs: number;
}

export interface TransposableTraining {
  /** Pass to the training loop (`train(..., {hooks})`, `finetune`, `applyStep`). */
  hooks: StepHooks;
  /** Kernels under a mask: layer name and kernel shape. */
  layers: { name: string; shape: number[] }[];
  /** Dense/Conv2D layers left dense, with the reason. */
  skipped: { name: string; reason: string }[];
  /** The current masks by layer name (1 kept, 0 pruned), kernel layout. */
  masks(): Map<string, Uint8Array>;
  stats(): TransposableTrainingStats;
  /** Sets the kernels to W_d * M for good and frees the dense copies and masks. */
  finish(): void;
}

const KERNEL_LAYERS = /^(Dense|Conv2D|FrugalSparseGradDense|FrugalSparseGradConv2D)$/;

/**
 * Puts every eligible kernel of `model` under a transposable N:M mask (computed now from its
 * weights) and returns the step hooks that keep it so. Throws when no kernel is eligible.
 */
export function transposableTraining(
  model: tf.LayersModel,
  options: TransposableTrainingOptions = {},
): TransposableTraining {
  const o = parseTransposableOptions(options);
  const kernels: MaskedKernel[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const layer of model.layers) {
    if (!KERNEL_LAYERS.test(layer.getClassName())) continue;
    const w = layer.trainableWeights.find((v) => v.shape.length >= 2);
    if (!w) {
      skipped.push({ name: layer.name, reason: 'no trainable kernel' });
      continue;
    }
    const shape = w.shape as number[];
    const [inC, outC] = shape.slice(-2);
    if (inC % o.m !== 0 || outC % o.m !== 0) {
      skipped.push({
        name: layer.name,
        reason: `kernel [${shape}]: input (${inC}) and output (${outC}) channels must be multiples of ${o.m}`,
      });
      continue;
    }
    const kernel = w.read() as tf.Variable;
    kernels.push({
      layer: layer.name,
      shape,
      kernel,
      dense: o.straightThrough ? tf.tidy(() => tf.variable(tf.clone(kernel), false)) : undefined,
      mask: tf.zeros(shape),
      maskValues: new Uint8Array(0),
    });
  }
  if (kernels.length === 0)
    throw new Error(
      `transposable ${o.n}:${o.m} training: no kernel of ${model.name} can take the mask${skipped.length ? ` (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : ''}`,
    );
  const stats: TransposableTrainingStats = {
    steps: 0,
    recomputes: 0,
    maskChangeFraction: [],
    greedyRepairs: 0,
  };
  let finished = false;

  /** New masks from the dense weights; returns the number of entries that changed. */
  const computeMasks = (): number => {
    let changed = 0;
    for (const k of kernels) {
      const r = transposableNMMask((k.dense ?? k.kernel).dataSync(), k.shape, o.n, o.m, o.solver);
      stats.greedyRepairs += r.greedyRepairs;
      if (k.maskValues.length === r.mask.length)
        for (let i = 0; i < r.mask.length; i++) if (r.mask[i] !== k.maskValues[i]) changed++;
      k.maskValues = r.mask;
      k.mask.dispose();
      k.mask = tf.tensor(r.mask, k.shape, 'float32');
    }
    return changed;
  };
  // The weight pruned entries get in the forward: alpha (1 at the start of a ramp, 0 after it).
  const rampAlpha = (step: number) => (o.rampSteps > 0 ? Math.max(0, 1 - step / o.rampSteps) : 0);
  let alpha = rampAlpha(0);
  /** The factor the kernel holds times W_d: M, or M + alpha (1 - M) during a ramp. */
  const scaleOf = (k: MaskedKernel, a: number) =>
    a > 0 ? tf.add(tf.mul(k.mask, 1 - a), a) : k.mask;
  const applyMasks = () => {
    for (const k of kernels)
      tf.tidy(() => k.kernel.assign(tf.mul(k.dense ?? k.kernel, scaleOf(k, alpha))));
  };
  computeMasks();
  applyMasks();
  const total = kernels.reduce((s, k) => s + k.maskValues.length, 0);

  const afterUpdate = () => {
    if (finished) throw new Error('transposable training: finish() was called; the hooks are off');
    for (const k of kernels)
      if (k.dense) {
        const dense = k.dense;
        // The kernel held dense * scale before the update: add the update to the dense weights.
        tf.tidy(() =>
          dense.assign(tf.add(dense, tf.sub(k.kernel, tf.mul(dense, scaleOf(k, alpha))))),
        );
      }
    stats.steps++;
    alpha = rampAlpha(stats.steps);
    if (o.recomputeEvery > 0 && stats.steps % o.recomputeEvery === 0) {
      stats.maskChangeFraction.push(computeMasks() / total);
      stats.recomputes++;
    }
    applyMasks();
  };

  // SR-STE: the gradient of every masked kernel gets decay * (1 - M) * W_d.
  const gradients: StepHooks['gradients'] = (pass) => {
    const g = pass();
    for (const k of kernels) {
      const name = k.kernel.name;
      const dense = k.dense as tf.Variable;
      const grad = g.grads[name];
      if (!grad) continue;
      g.grads[name] = tf.add(grad, tf.mul(tf.mul(dense, tf.sub(1, k.mask)), o.decay));
    }
    return g;
  };

  return {
    hooks: o.decay > 0 ? { afterUpdate, gradients } : { afterUpdate },
    layers: kernels.map((k) => ({ name: k.layer, shape: k.shape })),
    skipped,
    masks: () => new Map(kernels.map((k) => [k.layer, k.maskValues])),
    stats: () => ({ ...stats, maskChangeFraction: [...stats.maskChangeFraction] }),
    finish: () => {
      if (finished) return;
      alpha = 0;
      applyMasks();
      for (const k of kernels) {
        k.dense?.dispose();
        k.mask.dispose();
      }
      finished = true;
    },
  };
}

/**
 * Mask diversity of an M x M block: the number of 0/1 matrices with N ones in every column
 * group (`nm`: C(M, N)^M) or in every row and every column (`transposable`, counted by dynamic
 * programming over the rows with the column counts as state).
 */
export function maskDiversity(n: number, m: number, kind: 'nm' | 'transposable'): number {
  if (!(Number.isInteger(n) && Number.isInteger(m) && n >= 1 && n < m && m <= 8))
    throw new Error(`maskDiversity: need integers 1 <= n < m <= 8, got n=${n}, m=${m}`);
  const rows: number[][] = [];
  for (let bits = 0; bits < 1 << m; bits++) {
    const r = Array.from({ length: m }, (_, j) => (bits >> j) & 1);
    if (r.reduce((a, b) => a + b, 0) === n) rows.push(r);
  }
  if (kind === 'nm') return rows.length ** m;
  let states = new Map<string, number>([[Array(m).fill(0).join(','), 1]]);
  for (let row = 0; row < m; row++) {
    const next = new Map<string, number>();
    for (const [key, count] of states) {
      const cols = key.split(',').map(Number);
      for (const r of rows) {
        const c = cols.map((v, j) => v + r[j]);
        if (c.some((v) => v > n)) continue;
        const k = c.join(',');
        next.set(k, (next.get(k) ?? 0) + count);
      }
    }
    states = next;
  }
  return states.get(Array(m).fill(n).join(',')) ?? 0;
}
