/**
 * Per-layer bit allocation as a multiple-choice knapsack: pick one choice (bit width) per layer
 * to minimise the summed loss increase subject to the summed size <= budget. Solved exactly by
 * dynamic programming over integer size units (sizes are rounded up to units, so the returned
 * allocation always respects the budget; with unit 1 and integer sizes it is optimal).
 */
export interface AllocationChoice {
  bits: number;
  /** Size in bytes (or any integer unit) when the layer uses this choice. */
  cost: number;
  /** Loss increase when only this layer uses this choice. */
  loss: number;
}

export interface AllocationItem {
  name: string;
  choices: AllocationChoice[];
}

export interface Allocation {
  /** Index of the chosen option for each item. */
  choice: number[];
  bits: Record<string, number>;
  cost: number;
  loss: number;
}

function summarize(items: AllocationItem[], choice: number[]): Allocation {
  let cost = 0;
  let loss = 0;
  const bits: Record<string, number> = {};
  items.forEach((it, i) => {
    const c = it.choices[choice[i]];
    cost += c.cost;
    loss += c.loss;
    bits[it.name] = c.bits;
  });
  return { choice, bits, cost, loss };
}

function checkItems(items: AllocationItem[], budget: number): void {
  if (!(budget >= 0) || !Number.isFinite(budget))
    throw new Error(`bit allocation: budget must be a non-negative number, got ${budget}`);
  for (const it of items) {
    if (it.choices.length === 0)
      throw new Error(`bit allocation: layer '${it.name}' has no choices`);
    for (const c of it.choices) {
      if (!(c.cost >= 0) || !Number.isFinite(c.loss))
        throw new Error(
          `bit allocation: layer '${it.name}' has an invalid choice ${JSON.stringify(c)}`,
        );
    }
  }
  const least = items.reduce((s, it) => s + Math.min(...it.choices.map((c) => c.cost)), 0);
  if (least > budget) {
    throw new Error(
      `bit allocation: budget ${budget} is too small, the smallest allocation needs ${least}`,
    );
  }
}

/** Exact DP; `maxUnits` bounds the table (the unit grows for large budgets). */
export function allocateBits(
  items: AllocationItem[],
  budget: number,
  maxUnits = 20000,
): Allocation {
  checkItems(items, budget);
  const unit = Math.max(1, budget / maxUnits);
  const cap = Math.floor(budget / unit + 1e-9);
  const units = (c: number) => Math.ceil(c / unit - 1e-9);
  let best = new Float64Array(cap + 1); // best[u] = least loss with size <= u units
  const pick: Int16Array[] = [];
  for (const it of items) {
    const next = new Float64Array(cap + 1).fill(Number.POSITIVE_INFINITY);
    const from = new Int16Array(cap + 1).fill(-1);
    it.choices.forEach((c, j) => {
      const w = units(c.cost);
      for (let u = w; u <= cap; u++) {
        const v = best[u - w] + c.loss;
        if (v < next[u]) {
          next[u] = v;
          from[u] = j;
        }
      }
    });
    best = next;
    pick.push(from);
  }
  if (!Number.isFinite(best[cap]))
    throw new Error(
      `bit allocation: no allocation fits ${budget} after rounding to units of ${unit}`,
    );
  const choice = new Array<number>(items.length);
  let u = cap;
  for (let i = items.length - 1; i >= 0; i--) {
    const j = pick[i][u];
    choice[i] = j;
    u -= units(items[i].choices[j].cost);
  }
  return summarize(items, choice);
}

/** Tries every combination (for tests on small cases). */
export function bruteForceAllocation(items: AllocationItem[], budget: number): Allocation {
  checkItems(items, budget);
  let best: Allocation | null = null;
  const choice = new Array<number>(items.length).fill(0);
  const walk = (i: number) => {
    if (i === items.length) {
      const a = summarize(items, [...choice]);
      if (a.cost <= budget && (!best || a.loss < best.loss)) best = a;
      return;
    }
    for (let j = 0; j < items[i].choices.length; j++) {
      choice[i] = j;
      walk(i + 1);
    }
  };
  walk(0);
  if (!best) throw new Error('bit allocation: nothing fits');
  return best;
}
