import type * as tf from '@tensorflow/tfjs';
import { singularValues } from '../linalg/svd.js';
import { unfold } from '../linalg/tensor.js';
import type { DecomposeConfig, LayerDecomposition } from './config.js';
import { convCost, denseCost, type LayerCost, svdCost, tucker2Cost } from './cost.js';
import { isConv2d, isDense, readConv, readDense } from './layer-info.js';

/** One candidate size of one layer: its cost and its relative squared kernel error. */
export interface RankOption {
  /** null: keep the original layer. */
  rank: number | [number, number] | null;
  cost: number;
  error: number;
}

export interface RankCurve {
  layer: string;
  /** Candidates, cheapest first; the last one is 'keep the layer' (error 0). */
  options: RankOption[];
}

/**
 * Greedy allocation under a total cost: every layer starts at its cheapest option; then the
 * move (one layer to any costlier option) with the largest error decrease per unit of extra
 * cost that still fits is taken, until none fits. For curves with diminishing returns and
 * equal step costs this is optimal; otherwise it is the usual greedy knapsack heuristic.
 */
export function allocateRanks(curves: RankCurve[], budget: number): Map<string, RankOption> {
  const idx = curves.map(() => 0);
  let total = curves.reduce((s, c) => s + c.options[0].cost, 0);
  if (total > budget) {
    throw new Error(
      `rank budget ${budget} is too small: the smallest decompositions already cost ${total}`,
    );
  }
  for (;;) {
    let best: { layer: number; to: number; score: number } | null = null;
    curves.forEach((c, l) => {
      const cur = c.options[idx[l]];
      for (let j = idx[l] + 1; j < c.options.length; j++) {
        const o = c.options[j];
        const extra = o.cost - cur.cost;
        if (total + extra > budget) continue;
        const gain = cur.error - o.error;
        const score = extra <= 0 ? Number.POSITIVE_INFINITY : gain / extra;
        if (gain > 0 && (!best || score > best.score)) best = { layer: l, to: j, score };
      }
    });
    if (!best) break;
    const { layer, to } = best as { layer: number; to: number };
    total += curves[layer].options[to].cost - curves[layer].options[idx[layer]].cost;
    idx[layer] = to;
  }
  return new Map(curves.map((c, l) => [c.layer, c.options[idx[l]]]));
}

function tailFractions(sigmas: Float64Array): Float64Array {
  const total = sigmas.reduce((a, x) => a + x * x, 0);
  const tail = new Float64Array(sigmas.length + 1);
  for (let r = sigmas.length - 1; r >= 0; r--) tail[r] = tail[r + 1] + sigmas[r] ** 2;
  return tail.map((t) => (total > 0 ? t / total : 0));
}

function pick(c: LayerCost, by: 'params' | 'flops', layer: string): number {
  if (by === 'params') return c.params;
  if (c.flops === null) throw new Error(`layer '${layer}': FLOPs unknown (input shape not fixed)`);
  return c.flops;
}

/**
 * Error-versus-cost curves: Dense by truncated SVD (error = discarded sigma^2 fraction,
 * exact); Conv2D by Tucker-2 along r_out / r_in = cout / cin (error = the HOSVD bound, the
 * sum of the discarded sigma^2 fractions of the two channel unfoldings).
 */
export function rankCurves(layers: tf.layers.Layer[], by: 'params' | 'flops'): RankCurve[] {
  return layers.map((layer) => {
    const options: RankOption[] = [];
    if (isDense(layer)) {
      const d = readDense(layer);
      const tail = tailFractions(singularValues(d.kernel));
      const keep = pick(denseCost(d), by, d.name);
      for (let r = 1; r <= Math.min(d.inDim, d.units); r++) {
        const cost = pick(svdCost(d, r), by, d.name);
        if (cost >= keep) break;
        options.push({ rank: r, cost, error: tail[r] });
      }
      options.push({ rank: null, cost: keep, error: 0 });
    } else if (isConv2d(layer)) {
      const c = readConv(layer);
      const tIn = tailFractions(singularValues(unfold(c.kernel, 2)));
      const tOut = tailFractions(singularValues(unfold(c.kernel, 3)));
      const keep = pick(convCost(c), by, c.name);
      for (let r1 = 1; r1 <= c.cin; r1++) {
        const r2 = Math.max(1, Math.min(c.cout, Math.round((r1 * c.cout) / c.cin)));
        const cost = pick(tucker2Cost(c, r1, r2), by, c.name);
        if (cost >= keep) break;
        options.push({ rank: [r1, r2], cost, error: tIn[r1] + tOut[r2] });
      }
      options.push({ rank: null, cost: keep, error: 0 });
    } else {
      throw new Error(
        `layer '${layer.name}' is a ${layer.getClassName()}; rank selection handles Dense and Conv2D`,
      );
    }
    return { layer: layer.name, options };
  });
}

export interface SelectRanksOptions {
  /** Cost to budget: parameters or multiply-adds per sample (default 'params'). */
  cost?: 'params' | 'flops';
  /** Budget as a fraction of the selected layers' current cost... */
  ratio?: number;
  /** ...or as an absolute cost of the selected layers. */
  budget?: number;
  /** Layers to consider (default: every Dense and Conv2D layer). */
  layers?: string[];
}

export interface RankSelection {
  /** Per-layer settings to pass as `layers` of decomposeModel (svd / tucker2 ranks, or skip). */
  config: DecomposeConfig;
  costBefore: number;
  costAfter: number;
  /** Sum over layers of the relative squared kernel error estimates. */
  totalError: number;
}

/** Per-layer ranks under a global parameter or FLOP budget (greedy on error per unit cost). */
export function selectRanks(model: tf.LayersModel, options: SelectRanksOptions): RankSelection {
  if ((options.ratio === undefined) === (options.budget === undefined)) {
    throw new Error('selectRanks: give exactly one of ratio or budget');
  }
  if (options.ratio !== undefined && !(options.ratio > 0 && options.ratio <= 1)) {
    throw new Error(`selectRanks: ratio must be in (0, 1], got ${options.ratio}`);
  }
  const by = options.cost ?? 'params';
  const all = model.layers.filter((l) => isDense(l) || isConv2d(l));
  const names = new Set(model.layers.map((l) => l.name));
  const missing = (options.layers ?? []).filter((n) => !names.has(n));
  if (missing.length > 0) throw new Error(`selectRanks: unknown layer names ${missing.join(', ')}`);
  const chosen = options.layers
    ? model.layers.filter((l) => options.layers!.includes(l.name))
    : all;
  const curves = rankCurves(chosen, by);
  const costBefore = curves.reduce((s, c) => s + c.options[c.options.length - 1].cost, 0);
  const budget = options.budget ?? Math.floor(options.ratio! * costBefore);
  const picks = allocateRanks(curves, budget);
  const layers: Record<string, LayerDecomposition> = {};
  let costAfter = 0;
  let totalError = 0;
  for (const layer of chosen) {
    const o = picks.get(layer.name)!;
    costAfter += o.cost;
    totalError += o.error;
    layers[layer.name] =
      o.rank === null
        ? { skip: true }
        : { method: isDense(layer) ? 'svd' : 'tucker2', rank: o.rank };
  }
  return { config: { layers }, costBefore, costAfter, totalError };
}
