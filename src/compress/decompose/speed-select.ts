// Hardware-aware decomposition (seed 002: low-rank layers only pay off when the method knows the
// hardware): per layer, the original and the decomposed layer are timed on the active backend
// (forward for inference; forward + backward, input and weight gradients, for training), ranks
// are searched around the budget's estimate and rounded to multiples of 8, and a layer is
// decomposed only when its fastest candidate beats the original by the margin.
import * as tf from '@tensorflow/tfjs';
import type { LayerDecomposition } from './config.js';
import { decomposeLayer } from './decompose-layer.js';
import type { Replacement } from './replacement.js';

export type SpeedTarget = 'training' | 'inference';

export interface SpeedOptions {
  for: SpeedTarget;
  /** Batch of the timing input (default 32). */
  batch?: number;
  /** Timed runs per candidate, interleaved (default 7). */
  reps?: number;
  /** A candidate must be at least this fraction faster than the original (default 0.05). */
  margin?: number;
}

/** One layer's timings: the original and each rank tried (median ms of one call). */
export interface SpeedDecision {
  layer: string;
  originalMs: number;
  candidates: { rank: number | number[]; ms: number }[];
  /** The rank chosen, or null when no candidate was faster (the layer is kept). */
  chosen: number | number[] | null;
}

function roundings(rank: number | number[]): (number | number[])[] {
  const near = (r: number) => [
    ...new Set([r, Math.max(8, Math.floor(r / 8) * 8), Math.ceil(r / 8) * 8]),
  ];
  if (typeof rank === 'number') return near(rank);
  const [a, b] = rank.map(near);
  const out: number[][] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    out.push([a[Math.min(i, a.length - 1)], b[Math.min(i, b.length - 1)]]);
  return out;
}

/** Median ms of f over interleaved runs (each f returns a tensor, read back and disposed). */
function timeAll(fs: (() => tf.Tensor)[], reps: number): number[] {
  const times = fs.map(() => [] as number[]);
  for (let i = 0; i < reps + 2; i++)
    for (let k = 0; k < fs.length; k++) {
      const t0 = performance.now();
      const y = fs[k]();
      y.dataSync();
      y.dispose();
      if (i >= 2) times[k].push(performance.now() - t0);
    }
  return times.map((t) => t.sort((p, q) => p - q)[Math.floor(t.length / 2)]);
}

function runner(layers: tf.layers.Layer[], x: tf.Tensor, target: SpeedTarget): () => tf.Tensor {
  const fwd = (input: tf.Tensor) => layers.reduce((h, l) => l.apply(h) as tf.Tensor, input);
  if (target === 'inference') return () => tf.tidy(() => fwd(x));
  const vars = () => layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
  return () =>
    tf.tidy(() => {
      // weight gradients and the input gradient, as inside a network
      const xv = tf.variable(x, true);
      const { grads, value } = tf.variableGrads(
        () => tf.sum(fwd(xv)) as tf.Scalar,
        [...vars(), xv],
      );
      const all = tf.addN([value, ...Object.values(grads).map((g) => tf.sum(g))]);
      xv.dispose();
      return all;
    });
}

/**
 * Times `layer` against its decompositions by `settings` with ranks around the settings' estimate
 * and returns the decision and, when one is faster, its replacement (the caller owns it).
 */
export function selectBySpeed(
  layer: tf.layers.Layer,
  settings: LayerDecomposition,
  options: SpeedOptions,
): { decision: SpeedDecision; replacement: Replacement | null } {
  const batch = options.batch ?? 32;
  const reps = options.reps ?? 7;
  const margin = options.margin ?? 0.05;
  const inShape = (layer.input as tf.SymbolicTensor).shape;
  if (inShape.slice(1).some((d) => d == null))
    throw new Error(
      `layer '${layer.name}': select 'speed' needs a known input shape, got [${inShape}]`,
    );
  const estimate = decomposeLayer(layer, settings);
  const candidates: Replacement[] = [estimate];
  for (const r of roundings(estimate.report.rank)) {
    if (JSON.stringify(r) === JSON.stringify(estimate.report.rank)) continue;
    try {
      const s: LayerDecomposition = {
        method: settings.method,
        rank: r as number | [number, number],
      };
      if (settings.bits !== undefined) s.bits = settings.bits;
      candidates.push(decomposeLayer(layer, s));
    } catch {
      // a rounded rank above the matrix rank or the budget: not a candidate
    }
  }
  const x = tf.randomNormal([batch, ...(inShape.slice(1) as number[])]);
  let ms: number[];
  try {
    const fs = [
      runner([layer], x, options.for),
      ...candidates.map((c) => runner(c.layers, x, options.for)),
    ];
    ms = timeAll(fs, reps);
  } finally {
    x.dispose();
  }
  const [originalMs, ...candMs] = ms;
  let best = 0;
  candMs.forEach((t, i) => {
    if (t < candMs[best]) best = i;
  });
  const faster = candMs[best] < originalMs * (1 - margin);
  // the candidates' layers were built on the timing input: rebuild the winner fresh from its rank
  for (const c of candidates) tf.dispose(c.initialWeights);
  const chosen = faster ? candidates[best].report.rank : null;
  const replacement = faster
    ? decomposeLayer(layer, {
        method: settings.method,
        rank: chosen as number | [number, number],
        ...(settings.bits !== undefined ? { bits: settings.bits } : {}),
      })
    : null;
  for (const c of candidates) for (const l of c.layers) l.dispose();
  return {
    decision: {
      layer: layer.name,
      originalMs,
      candidates: candidates.map((c, i) => ({ rank: c.report.rank, ms: candMs[i] })),
      chosen,
    },
    replacement,
  };
}
