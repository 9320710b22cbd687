import { checkNM } from './combinations.js';
import { checkGroups, groupIndex, kernelLayout } from './kernel-layout.js';

/**
 * Magnitude N:M mask: in every group of M consecutive input channels (per spatial position and
 * output channel) keep the N weights of largest |w| (ties: lower position). 1 = kept.
 */
export function magnitudeNMMask(
  kernel: ArrayLike<number>,
  shape: readonly number[],
  n: number,
  m: number,
  score: ArrayLike<number> = kernel,
): Uint8Array {
  checkNM(n, m);
  const l = kernelLayout(shape);
  checkGroups(l, m, 'N:M mask');
  if (kernel.length !== l.size)
    throw new Error(`kernel has ${kernel.length} values, shape [${shape}] needs ${l.size}`);
  const mask = new Uint8Array(l.size);
  const groups = l.size / m;
  const idx = new Array<number>(m);
  const order = Array.from({ length: m }, (_, j) => j);
  for (let gi = 0; gi < groups; gi++) {
    for (let j = 0; j < m; j++) idx[j] = groupIndex(l, m, gi, j);
    order.sort((a, b) => Math.abs(score[idx[b]]) - Math.abs(score[idx[a]]) || a - b);
    for (let k = 0; k < n; k++) mask[idx[order[k]]] = 1;
  }
  return mask;
}

/** Whether every group of M input channels has exactly N kept weights. */
export function isNMMask(mask: ArrayLike<number>, shape: readonly number[], n: number, m: number) {
  const l = kernelLayout(shape);
  if (mask.length !== l.size || l.inChannels % m !== 0) return false;
  const groups = l.size / m;
  for (let gi = 0; gi < groups; gi++) {
    let kept = 0;
    for (let j = 0; j < m; j++) kept += mask[groupIndex(l, m, gi, j)] ? 1 : 0;
    if (kept !== n) return false;
  }
  return true;
}

/**
 * Converts an unstructured mask (e.g. from global magnitude pruning) to N:M: in each group keep
 * the N positions that the unstructured mask keeps with the largest |w|, then fill up with the
 * largest of the rest so every group holds exactly N.
 */
export function unstructuredToNM(
  kernel: ArrayLike<number>,
  mask: ArrayLike<number>,
  shape: readonly number[],
  n: number,
  m: number,
): Uint8Array {
  if (mask.length !== kernel.length)
    throw new Error(`mask has ${mask.length} values, kernel ${kernel.length}`);
  let big = 0;
  for (let i = 0; i < kernel.length; i++) big = Math.max(big, Math.abs(kernel[i]));
  const score = new Float64Array(kernel.length);
  for (let i = 0; i < kernel.length; i++)
    score[i] = Math.abs(kernel[i]) + (mask[i] ? 2 * big + 1 : 0);
  return magnitudeNMMask(kernel, shape, n, m, score);
}

/** Fraction of |w| (L1) a mask keeps: how much of the weight a pruning preserves. */
export function keptMagnitude(kernel: ArrayLike<number>, mask: ArrayLike<number>): number {
  let kept = 0;
  let all = 0;
  for (let i = 0; i < kernel.length; i++) {
    all += Math.abs(kernel[i]);
    if (mask[i]) kept += Math.abs(kernel[i]);
  }
  return all === 0 ? 1 : kept / all;
}
