import * as tf from '@tensorflow/tfjs';
import { seedActivationRng } from '../engine/settings.js';
import { type Loss, resolveLoss } from '../train/loss.js';
import type { TaskProgressCallback } from '../train/progress.js';
import { type ForwardFn, trainableVariables } from '../train/step.js';
import { taskReporter } from '../train/task-reporter.js';
import type { ActivationBits } from './codec/bits.js';
import type { FewbitBits } from './codec/fewbit-table.js';
import { CompressedDense } from './layers/compressed-dense.js';
import { CompressedLayer } from './layers/compressed-layer.js';

/** What one compressed layer keeps for backward and how far its weight gradient moves. */
export interface LayerActivationReport {
  name: string;
  className: string;
  actBits: ActivationBits;
  /** Bytes the layer saves for backward now, and with float32 saves. */
  savedBytes: number;
  exactBytes: number;
  /** Mean over seeds of ||g - g_exact|| / ||g_exact|| for this layer's weights (null: none). */
  gradRelError: number | null;
  /** Mean over seeds of ||g - mean(g)||^2 / ||g_exact||^2: the compression's gradient variance. */
  gradRelVariance: number | null;
}

interface Settings {
  actBits: ActivationBits;
  fewbit: 0 | FewbitBits;
  rmmRatio: number;
}

function settings(l: CompressedLayer): Settings {
  return {
    actBits: l.actBits,
    fewbit: l.fewbit,
    rmmRatio: l instanceof CompressedDense ? l.rmmRatio : 0,
  };
}

function apply(l: CompressedLayer, s: Settings): void {
  l.actBits = s.actBits;
  l.fewbit = s.fewbit;
  if (l instanceof CompressedDense) l.rmmRatio = s.rmmRatio;
}

/**
 * Diagnoses a compressed model on one batch: each compressed layer's saved bytes (now and with
 * float32 saves) and the error and variance of its weight gradient against the exact backward
 * (every layer switched to float32 saves), over `seeds` random roundings/projections. Explains an
 * accuracy gap layer by layer. Cost: (seeds + 2) forward+backward passes.
 */
export function activationReport(
  model: tf.LayersModel,
  forward: ForwardFn,
  batch: { xs: tf.Tensor; ys: tf.Tensor },
  options: { seeds?: number; loss?: Loss; onProgress?: TaskProgressCallback } = {},
): LayerActivationReport[] {
  const seeds = options.seeds ?? 4;
  if (!Number.isInteger(seeds) || seeds < 2)
    throw new Error(`activationReport: seeds must be an integer >= 2, got ${seeds}`);
  const tick = taskReporter(options.onProgress, `${seeds + 2} forward+backward passes`, seeds + 2);
  const layers = model.layers.filter((l): l is CompressedLayer => l instanceof CompressedLayer);
  const vars = trainableVariables(model);
  const loss = options.loss ?? resolveLoss(model);
  const grads = (): Map<string, Float32Array> => {
    const out = new Map<string, Float32Array>();
    tf.tidy(() => {
      const { grads: g } = tf.variableGrads(
        () => loss.mean(batch.ys, forward(batch.xs, true)),
        vars,
      );
      for (const v of vars) out.set(v.name, g[v.name].dataSync() as Float32Array);
    });
    return out;
  };
  const own = (l: CompressedLayer) => l.trainableWeights.map((w) => (w.read() as tf.Variable).name);
  const chosen = layers.map(settings);
  const saved = new Map<string, number>();
  grads();
  tick('as configured');
  for (const l of layers) saved.set(l.name, l.lastSavedBytes);
  for (const l of layers) apply(l, { actBits: 32, fewbit: 0, rmmRatio: 0 });
  let exact: Map<string, Float32Array>;
  try {
    exact = grads();
    tick('exact');
  } finally {
    layers.forEach((l, i) => {
      apply(l, chosen[i]);
    });
  }
  const runs: Map<string, Float32Array>[] = [];
  for (let s = 0; s < seeds; s++) {
    seedActivationRng(7919 * (s + 1));
    runs.push(grads());
    tick(`seed ${s + 1}`);
  }
  return layers.map((l) => {
    const names = own(l);
    let err: number | null = null;
    let variance: number | null = null;
    if (names.length > 0) {
      let norm = 0;
      for (const n of names) for (const v of exact.get(n)!) norm += v * v;
      norm = Math.max(norm, 1e-30);
      let e = 0;
      let varSum = 0;
      for (const n of names) {
        const ex = exact.get(n)!;
        for (let i = 0; i < ex.length; i++) {
          let mean = 0;
          for (const r of runs) mean += r.get(n)![i] / seeds;
          for (const r of runs) varSum += (r.get(n)![i] - mean) ** 2 / (seeds - 1);
        }
      }
      for (const r of runs) {
        let d = 0;
        for (const n of names) {
          const ex = exact.get(n)!;
          const g = r.get(n)!;
          for (let i = 0; i < ex.length; i++) d += (g[i] - ex[i]) ** 2;
        }
        e += Math.sqrt(d / norm) / seeds;
      }
      err = e;
      variance = varSum / norm;
    }
    return {
      name: l.name,
      className: l.getClassName(),
      actBits: l.actBits,
      savedBytes: saved.get(l.name) ?? 0,
      exactBytes: l.lastExactBytes,
      gradRelError: err,
      gradRelVariance: variance,
    };
  });
}
