import { singularValues } from '../linalg/svd.js';
import { unfold } from '../linalg/tensor.js';
import type { LayerDecomposition } from './config.js';
import { convCost, cpCost, denseCost, svdCost, ttmCost, tucker2Cost } from './cost.js';
import type { ConvInfo, DenseInfo } from './layer-info.js';

/** The parameter budget given by ratio or maxParams; throws when the settings give no size at all. */
function budgetOf(name: string, s: LayerDecomposition, paramsBefore: number): number {
  if (s.ratio !== undefined) return Math.floor(s.ratio * paramsBefore);
  if (s.maxParams !== undefined) return s.maxParams;
  throw new Error(`layer '${name}': give one of rank, energy, ratio, maxParams for ${s.method}`);
}

/**
 * The explicit rank of a method with one rank and no energy criterion (CP, TTM), or undefined
 * when the settings size it by budget.
 */
function singleRank(
  name: string,
  s: LayerDecomposition,
  label: string,
  method: string,
): number | undefined {
  if (s.rank !== undefined) {
    if (typeof s.rank !== 'number')
      throw new Error(
        `layer '${name}': ${label} takes a single rank, got ${JSON.stringify(s.rank)}`,
      );
    return s.rank;
  }
  if (s.energy !== undefined) {
    throw new Error(
      `layer '${name}': energy is not defined for ${method}; give rank, ratio or maxParams`,
    );
  }
  return undefined;
}

function tooSmall(name: string, method: string, budget: number, needed: number): never {
  throw new Error(
    `layer '${name}': a budget of ${budget} parameters is too small for ${method} (the smallest decomposition needs ${needed})`,
  );
}

/** Smallest r whose leading sigma^2 sum reaches `energy` of the total. */
export function rankForEnergy(sigmas: Float64Array, energy: number): number {
  const total = sigmas.reduce((a, x) => a + x * x, 0);
  if (total === 0) return 1;
  let acc = 0;
  for (let r = 0; r < sigmas.length; r++) {
    acc += sigmas[r] ** 2;
    if (acc >= energy * total * (1 - 1e-12)) return r + 1;
  }
  return sigmas.length;
}

export function resolveSvdRank(d: DenseInfo, s: LayerDecomposition): number {
  const max = Math.min(d.inDim, d.units);
  if (s.rank !== undefined) {
    if (typeof s.rank !== 'number' || s.rank > max) {
      throw new Error(
        `layer '${d.name}': rank ${JSON.stringify(s.rank)} is impossible for a ${d.inDim}x${d.units} Dense kernel (at most ${max})`,
      );
    }
    return s.rank;
  }
  if (s.energy !== undefined) return rankForEnergy(singularValues(d.kernel), s.energy);
  const budget = budgetOf(d.name, s, denseCost(d).params);
  const r = Math.min(max, Math.floor((budget - svdCost(d, 0).params) / (d.inDim + d.units)));
  if (r < 1) tooSmall(d.name, 'svd', budget, svdCost(d, 1).params);
  return r;
}

export function resolveTucker2Ranks(c: ConvInfo, s: LayerDecomposition): [number, number] {
  if (s.rank !== undefined) {
    const [r1, r2] = typeof s.rank === 'number' ? [s.rank, s.rank] : s.rank;
    if (r1 > c.cin || r2 > c.cout) {
      throw new Error(
        `layer '${c.name}': Tucker-2 ranks [${r1}, ${r2}] are impossible for ${c.cin} input and ${c.cout} output channels`,
      );
    }
    return [r1, r2];
  }
  if (s.energy !== undefined) {
    const e = s.energy;
    return [
      rankForEnergy(singularValues(unfold(c.kernel, 2)), e),
      rankForEnergy(singularValues(unfold(c.kernel, 3)), e),
    ];
  }
  const budget = budgetOf(c.name, s, convCost(c).params);
  for (let r1 = c.cin; r1 >= 1; r1--) {
    const r2 = Math.max(1, Math.min(c.cout, Math.round((r1 * c.cout) / c.cin)));
    if (tucker2Cost(c, r1, r2).params <= budget) return [r1, r2];
  }
  tooSmall(c.name, 'tucker2', budget, tucker2Cost(c, 1, 1).params);
}

export function resolveCpRank(c: ConvInfo, s: LayerDecomposition): number {
  const rank = singleRank(c.name, s, 'CP', `${s.method}`);
  if (rank !== undefined) return rank;
  const budget = budgetOf(c.name, s, convCost(c).params);
  const r = Math.floor((budget - cpCost(c, 0).params) / (c.cin + c.kh + c.kw + c.cout));
  if (r < 1) tooSmall(c.name, s.method ?? 'cp', budget, cpCost(c, 1).params);
  return r;
}

export function resolveTtmRank(
  d: DenseInfo,
  s: LayerDecomposition,
  inF: number[],
  outF: number[],
): number {
  const rank = singleRank(d.name, s, 'TTM', 'ttm');
  if (rank !== undefined) return rank;
  const budget = budgetOf(d.name, s, denseCost(d).params);
  if (ttmCost(d, inF, outF, 1).params > budget)
    tooSmall(d.name, 'ttm', budget, ttmCost(d, inF, outF, 1).params);
  let r = 1;
  while (r < 4096 && ttmCost(d, inF, outF, r + 1).params <= budget) r++;
  return r;
}
