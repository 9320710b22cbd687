import { PACKED_BITS, type PackedBits } from '../codec/bits.js';

export interface AllocationItem {
  /** Sensitivity C_i: gradient variance at b bits is about C_i / (2^b - 1)^2. */
  sensitivity: number;
  /** Values this item saves (its weight in the bit budget). */
  size: number;
}

function levels(b: number): number {
  return (2 ** b - 1) ** 2;
}

/**
 * ActNN's greedy bit allocation: minimise sum_i C_i / (2^b_i - 1)^2 subject to
 * sum_i b_i w_i <= avgBits * sum_i w_i. Starts every item at the widest choice and repeatedly
 * narrows the item whose objective grows least per bit saved, until the budget holds. Cost:
 * O(steps x items), steps <= items x choices.
 */
export function allocateBits(
  items: AllocationItem[],
  avgBits: number,
  choices: readonly PackedBits[] = PACKED_BITS,
): PackedBits[] {
  const sorted = [...choices].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error('allocateBits: no bit choices');
  if (!(avgBits >= sorted[0]))
    throw new Error(`allocateBits: average ${avgBits} is below the narrowest choice ${sorted[0]}`);
  for (const [i, it] of items.entries())
    if (!(it.sensitivity >= 0) || !(it.size > 0))
      throw new Error(`allocateBits: item ${i} needs sensitivity >= 0 and size > 0`);
  const total = items.reduce((s, it) => s + it.size, 0);
  const budget = avgBits * total;
  const idx = items.map(() => sorted.length - 1);
  let used = items.reduce((s, it) => s + it.size * sorted[sorted.length - 1], 0);
  while (used > budget + 1e-9) {
    let best = -1;
    let bestCost = Number.POSITIVE_INFINITY;
    for (let i = 0; i < items.length; i++) {
      if (idx[i] === 0) continue;
      const b = sorted[idx[i]];
      const nb = sorted[idx[i] - 1];
      const grow = items[i].sensitivity * (1 / levels(nb) - 1 / levels(b));
      const perBit = grow / ((b - nb) * items[i].size);
      if (perBit < bestCost) {
        bestCost = perBit;
        best = i;
      }
    }
    if (best < 0) break;
    used -= items[best].size * (sorted[idx[best]] - sorted[idx[best] - 1]);
    idx[best]--;
  }
  return idx.map((i) => sorted[i]);
}

/** The objective sum_i C_i / (2^b_i - 1)^2 of an allocation. */
export function allocationCost(items: AllocationItem[], bits: readonly number[]): number {
  return items.reduce((s, it, i) => s + it.sensitivity / levels(bits[i]), 0);
}
