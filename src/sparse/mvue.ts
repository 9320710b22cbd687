/**
 * Unbiased N:M masks for neural gradients (Chmiel et al., ICLR 2023) and the magnitude baseline.
 *
 * A group is M consecutive values x_1..x_M along the dimension that the weight-gradient product
 * contracts; N of them are kept, the rest become 0. Kinds:
 *
 * - `mvue`: the minimum-variance unbiased estimator. Any unbiased N:M mask keeps x_i with some
 *   probability pi_i (sum pi_i = N, 0 <= pi_i <= 1) and must then output x_i / pi_i on average;
 *   for a fixed pi the per-element variance is smallest when the kept value is the constant
 *   x_i / pi_i (Jensen), giving total variance V(pi) = sum_i x_i^2 (1/pi_i - 1). It depends on
 *   the marginals pi only, not on which pairs carry them. Minimising sum x_i^2 / pi_i subject to
 *   sum pi_i = N (Lagrange: x_i^2 / pi_i^2 = lambda) gives pi_i = N |x_i| / S, S = sum |x_j|,
 *   as long as that is <= 1. When it is not (for 2:4: one magnitude exceeds the sum of the other
 *   three, 2|x_1| > S), the bound pi_1 <= 1 is active: pi_1 = 1 and the rest share N - 1 in
 *   proportion to their magnitudes, pi_j = |x_j| / (S - |x_1|) (KKT; repeated while some
 *   pi exceeds 1, "water-filling"). The minimum is V* = sum_i x_i^2 (1/pi_i - 1).
 *   A distribution over the C(M, N) kept sets with exactly these marginals: systematic sampling
 *   (Madow). Lay the pi_i end to end on [0, N), draw u ~ U[0, 1) and keep the elements whose
 *   interval holds u, u + 1, ..., u + N - 1; since each pi_i <= 1 these are N distinct elements
 *   and element i is kept with probability exactly pi_i. For 2:4 the six pair probabilities are
 *   the lengths of the u-intervals between the fractional breakpoints of the cumulative sums
 *   (`groupOutcomes` lists them; the tests check E[out] = x and variance = V* by enumeration).
 *   For 1:2 this is: keep a with probability |a|/(|a|+|b|), output sign(a)(|a|+|b|).
 * - `approx`: N draws without replacement, each proportional to |x| among the values left, and
 *   Horvitz-Thompson scaling x_i / pi_i with pi_i the inclusion probability of that scheme
 *   (computed exactly by summing over the M!/(M-N)! ordered draws). Unbiased, variance above V*
 *   (equal for 1:2).
 * - `magnitude`: keep the N largest |x| unscaled (ties: lower index). Biased: the baseline that
 *   Chmiel et al. show fails for gradients.
 *
 * Zero magnitudes: a 0 is never kept while nonzero values can fill the N slots; when fewer than
 * N values are nonzero, the spare slots go uniformly to the zeros (output 0, so no effect).
 *
 * M not dividing the dimension: the last group is padded with zeros (never kept when avoidable,
 * so the estimator stays unbiased and all its values are kept when it holds N or fewer).
 */
import { At, ConfigError, check, integer, object, oneOf } from '../config/index.js';
import type { Rng } from '../engine/random.js';
import { maskPath } from '../engine/settings.js';
import { maskAxisFast } from './mask-fast.js';

export type GradMaskKind = 'mvue' | 'approx' | 'magnitude';
export const GRAD_MASK_KINDS: readonly GradMaskKind[] = ['mvue', 'approx', 'magnitude'];

/** N of every M values kept along the contracted dimension, by `kind`. */
export interface GradSparsity {
  n: number;
  m: number;
  kind: GradMaskKind;
}

/** `approx` sums over M!/(M-N)! ordered draws per group: M is capped to keep that small. */
export const APPROX_MAX_M = 8;

const fields = object({
  n: integer({ min: 1 }),
  m: integer({ min: 2 }),
  kind: oneOf(GRAD_MASK_KINDS),
});

/** Checks a `gradSparsity` config: N < M (N = M would change nothing), a known kind. */
export const gradSparsityCheck = check('{n, m, kind}', (v: unknown, at: At): GradSparsity => {
  const c = fields(v, at) as GradSparsity;
  if (c.n > c.m) throw at.field('n').error(`n (${c.n}) must not exceed m (${c.m})`);
  if (c.n === c.m)
    throw at.field('n').error(`n = m = ${c.m} keeps every value (would change nothing)`);
  if (c.kind === 'approx' && c.m > APPROX_MAX_M)
    throw at.field('m').error(`kind 'approx' supports m up to ${APPROX_MAX_M}, got ${c.m}`);
  return c;
});

/** Validates `v` as a GradSparsity; errors are ConfigErrors naming `config` and the field. */
export function parseGradSparsity(v: unknown, config = 'gradSparsity'): GradSparsity {
  return gradSparsityCheck(v, new At(config));
}

export { ConfigError };

/**
 * Water-filling of `n` slots over the magnitudes `a` (length m) into `pi`: pi_i = slots a_i / rest,
 * capped at 1 with the rest re-shared. `pi` and `capped` (scratch) are cleared first.
 */
function waterFill(
  a: ArrayLike<number>,
  m: number,
  n: number,
  pi: number[] | Float64Array,
  capped: Uint8Array,
): void {
  pi.fill(0);
  capped.fill(0);
  let slots = n;
  for (;;) {
    let rest = 0;
    let free = 0;
    for (let i = 0; i < m; i++)
      if (!capped[i]) {
        rest += a[i];
        free++;
      }
    if (slots <= 0 || free === 0) break;
    if (rest === 0) {
      for (let i = 0; i < m; i++) if (!capped[i]) pi[i] = slots / free;
      break;
    }
    let again = false;
    for (let i = 0; i < m; i++)
      if (!capped[i] && (slots * a[i]) / rest >= 1) {
        capped[i] = 1;
        pi[i] = 1;
        slots--;
        again = true;
      }
    if (!again) {
      for (let i = 0; i < m; i++) if (!capped[i]) pi[i] = (slots * a[i]) / rest;
      break;
    }
  }
}

/** MVUE inclusion probabilities: pi_i = n|x_i|/S, capped at 1 with the rest re-shared. */
export function mvueInclusion(x: ArrayLike<number>, n: number): number[] {
  const m = x.length;
  const a = Array.from(x, (v) => Math.abs(v));
  const pi = new Array<number>(m);
  waterFill(a, m, n, pi, new Uint8Array(m));
  return pi;
}

/** Systematic sampling: the n elements whose interval on [0, n) holds u, u+1, ..., u+n-1. */
export function systematicSelect(pi: readonly number[], n: number, u: number): number[] {
  const keep: number[] = [];
  let cum = 0;
  let k = 0;
  for (let i = 0; i < pi.length && k < n; i++) {
    const next = cum + pi[i];
    while (k < n && u + k < next) {
      if (keep[keep.length - 1] !== i) keep.push(i);
      k++;
    }
    cum = next;
  }
  // Rounding can leave the last target just past the end: fill with the last unkept elements.
  for (let i = pi.length - 1; keep.length < n && i >= 0; i--) if (!keep.includes(i)) keep.push(i);
  return keep.sort((p, q) => p - q);
}

/** Inclusion probabilities of n proportional draws without replacement (exact, by enumeration). */
export function approxInclusion(x: ArrayLike<number>, n: number): number[] {
  const a = Array.from(x, (v) => Math.abs(v));
  const pi = new Array<number>(a.length).fill(0);
  for (const o of orderedDraws(a, n)) for (const i of o.keep) pi[i] += o.prob;
  return pi;
}

function drawWeights(a: readonly number[], taken: readonly boolean[]): number[] {
  let rest = 0;
  let free = 0;
  for (let i = 0; i < a.length; i++)
    if (!taken[i]) {
      rest += a[i];
      free++;
    }
  return a.map((v, i) => (taken[i] ? 0 : rest > 0 ? v / rest : 1 / free));
}

function orderedDraws(a: readonly number[], n: number): { keep: number[]; prob: number }[] {
  const out: { keep: number[]; prob: number }[] = [];
  const taken = new Array<boolean>(a.length).fill(false);
  const walk = (seq: number[], prob: number) => {
    if (seq.length === n) {
      out.push({ keep: [...seq], prob });
      return;
    }
    const w = drawWeights(a, taken);
    for (let i = 0; i < a.length; i++) {
      if (w[i] <= 0) continue;
      taken[i] = true;
      seq.push(i);
      walk(seq, prob * w[i]);
      seq.pop();
      taken[i] = false;
    }
  };
  walk([], 1);
  return out;
}

function scaled(x: ArrayLike<number>, keep: readonly number[], pi: readonly number[]): number[] {
  const out = new Array<number>(x.length).fill(0);
  for (const i of keep) out[i] = pi[i] > 0 ? x[i] / pi[i] : 0;
  return out;
}

function magnitudeKeep(x: ArrayLike<number>, n: number): number[] {
  const idx = Array.from({ length: x.length }, (_, i) => i);
  idx.sort((p, q) => Math.abs(x[q]) - Math.abs(x[p]) || p - q);
  return idx.slice(0, n).sort((p, q) => p - q);
}

/** One possible result of masking a group, with its probability. */
export interface GroupOutcome {
  keep: number[];
  prob: number;
  out: number[];
}

/**
 * Every outcome of masking the group `x` (length M) with N kept, with its exact probability:
 * for `mvue` the u-intervals of systematic sampling, for `approx` the ordered draws merged by
 * kept set, for `magnitude` the one deterministic outcome.
 */
export function groupOutcomes(x: ArrayLike<number>, n: number, kind: GradMaskKind): GroupOutcome[] {
  if (kind === 'magnitude') {
    const keep = magnitudeKeep(x, n);
    const out = new Array<number>(x.length).fill(0);
    for (const i of keep) out[i] = x[i];
    return [{ keep, prob: 1, out }];
  }
  const merged = new Map<string, GroupOutcome>();
  const add = (keep: number[], prob: number, pi: readonly number[]) => {
    if (prob <= 0) return;
    const key = keep.join(',');
    const o = merged.get(key);
    if (o) o.prob += prob;
    else merged.set(key, { keep, prob, out: scaled(x, keep, pi) });
  };
  if (kind === 'mvue') {
    const pi = mvueInclusion(x, n);
    const breaks = [0, 1];
    let cum = 0;
    for (const p of pi) {
      cum += p;
      breaks.push(cum - Math.floor(cum));
    }
    breaks.sort((p, q) => p - q);
    for (let b = 0; b + 1 < breaks.length; b++) {
      const len = breaks[b + 1] - breaks[b];
      if (len <= 1e-15) continue;
      add(systematicSelect(pi, n, (breaks[b] + breaks[b + 1]) / 2), len, pi);
    }
  } else {
    const a = Array.from(x, (v) => Math.abs(v));
    const pi = approxInclusion(x, n);
    for (const o of orderedDraws(a, n))
      add(
        [...o.keep].sort((p, q) => p - q),
        o.prob,
        pi,
      );
  }
  return [...merged.values()];
}

/**
 * Masks one group in place (`g` holds M values, padded with zeros if need be). `mvue` and
 * `magnitude` run `maskGroupFast` (the same inclusion probabilities, one draw u per group, the
 * same kept sets as `groupOutcomes` enumerates); `approx` draws N times without replacement.
 */
export function maskGroup(g: Float64Array, n: number, kind: GradMaskKind, rng: Rng): void {
  if (kind !== 'approx') {
    maskGroupFast(g, n, kind, rng, new GroupScratch(g.length));
    return;
  }
  const a = Array.from(g, (v) => Math.abs(v));
  const taken = new Array<boolean>(a.length).fill(false);
  const keep: number[] = [];
  for (let d = 0; d < n; d++) {
    const w = drawWeights(a, taken);
    let u = rng();
    let pick = -1;
    for (let i = 0; i < a.length; i++) {
      if (w[i] <= 0) continue;
      pick = i;
      u -= w[i];
      if (u < 0) break;
    }
    taken[pick] = true;
    keep.push(pick);
  }
  const out = scaled(g, keep, approxInclusion(g, n));
  const kept = new Set(keep);
  for (let i = 0; i < g.length; i++) g[i] = kept.has(i) ? out[i] : 0;
}

/** The axis length, the values after it (stride) and the blocks before it (outer). */
function axisLayout(shape: readonly number[], axis: number, what: string) {
  if (axis < 0 || axis >= shape.length)
    throw new RangeError(`${what}: axis ${axis} out of range for shape [${shape}]`);
  const len = shape[axis];
  let stride = 1;
  for (let d = axis + 1; d < shape.length; d++) stride *= shape[d];
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  return { len, stride, outer };
}

/**
 * Masks `values` (row-major, `shape`) N:M in groups of M consecutive entries along `axis`; a
 * trailing partial group is padded with zeros. Returns a new array. `mvue` and `magnitude` run
 * `maskAxisFast` (mask-fast.ts: the same output and random stream as
 * `maskAlongAxisReference`, without per-group calls); `approx` runs the reference, and so does
 * every kind under `setMaskPath('reference')`.
 */
export function maskAlongAxis(
  values: ArrayLike<number>,
  shape: readonly number[],
  axis: number,
  spec: GradSparsity,
  rng: Rng,
): Float32Array {
  if (spec.kind === 'approx' || maskPath() === 'reference')
    return maskAlongAxisReference(values, shape, axis, spec, rng);
  const { len, stride, outer } = axisLayout(shape, axis, 'maskAlongAxis');
  const out = new Float32Array(values.length);
  maskAxisFast(values, out, outer, len, stride, spec, rng);
  return out;
}

/**
 * `maskAlongAxis` group by group through `maskGroupFast` / `maskGroup` (the reference the fast
 * path is tested against; `approx` always runs it).
 */
export function maskAlongAxisReference(
  values: ArrayLike<number>,
  shape: readonly number[],
  axis: number,
  spec: GradSparsity,
  rng: Rng,
): Float32Array {
  const { len, stride, outer } = axisLayout(shape, axis, 'maskAlongAxis');
  const out = new Float32Array(values.length);
  const g = new Float64Array(spec.m);
  const scratch = spec.kind === 'approx' ? null : new GroupScratch(spec.m);
  for (let o = 0; o < outer; o++)
    for (let s = 0; s < stride; s++) {
      const base = o * len * stride + s;
      for (let start = 0; start < len; start += spec.m) {
        const r = Math.min(spec.m, len - start);
        g.fill(0);
        for (let k = 0; k < r; k++) g[k] = values[base + (start + k) * stride];
        if (scratch) maskGroupFast(g, spec.n, spec.kind, rng, scratch);
        else maskGroup(g, spec.n, spec.kind, rng);
        for (let k = 0; k < r; k++) out[base + (start + k) * stride] = g[k];
      }
    }
  return out;
}

/** Buffers reused across groups by `maskGroupFast`. */
export class GroupScratch {
  readonly a: Float64Array;
  readonly pi: Float64Array;
  readonly capped: Uint8Array;
  readonly kept: Uint8Array;
  constructor(m: number) {
    this.a = new Float64Array(m);
    this.pi = new Float64Array(m);
    this.capped = new Uint8Array(m);
    this.kept = new Uint8Array(m);
  }
}

/**
 * The `mvue` and `magnitude` masks of one group without allocations: the inclusion
 * probabilities of `mvueInclusion`, one draw u per group and the kept set of
 * `systematicSelect(pi, n, u)` (or `magnitudeKeep`); the tests check it against those.
 */
export function maskGroupFast(
  g: Float64Array,
  n: number,
  kind: GradMaskKind,
  rng: Rng,
  s: GroupScratch,
): void {
  const m = g.length;
  const { a, pi, capped, kept } = s;
  kept.fill(0);
  for (let i = 0; i < m; i++) a[i] = Math.abs(g[i]);
  if (kind === 'magnitude') {
    for (let k = 0; k < n; k++) {
      let best = -1;
      for (let i = 0; i < m; i++) if (!kept[i] && (best < 0 || a[i] > a[best])) best = i;
      kept[best] = 1;
    }
    for (let i = 0; i < m; i++) if (!kept[i]) g[i] = 0;
    return;
  }
  if (kind !== 'mvue') throw new Error(`maskGroupFast: kind '${kind}' has no fast path`);
  // Water-filling, as mvueInclusion.
  waterFill(a, m, n, pi, capped);
  // Systematic sampling, as systematicSelect.
  const u = rng();
  let cum = 0;
  let k = 0;
  let count = 0;
  for (let i = 0; i < m && k < n; i++) {
    const next = cum + pi[i];
    while (k < n && u + k < next) {
      if (!kept[i]) {
        kept[i] = 1;
        count++;
      }
      k++;
    }
    cum = next;
  }
  for (let i = m - 1; count < n && i >= 0; i--)
    if (!kept[i]) {
      kept[i] = 1;
      count++;
    }
  for (let i = 0; i < m; i++) g[i] = kept[i] && pi[i] > 0 ? g[i] / pi[i] : 0;
}
