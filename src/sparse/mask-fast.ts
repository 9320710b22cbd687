/**
 * The `mvue` and `magnitude` N:M masks of a whole array (what `maskAlongAxis` runs for them),
 * without a function call, a fill or an allocation per group: the values, probabilities and kept
 * set of every group are those of `maskGroupFast` (mvue.ts), computed with the same floating-point
 * operations in the same order, so the output is bit-identical and `mvue` reads the same random
 * stream (one draw u per group, groups in `maskAlongAxis`'s order: outer index, then position
 * along the stride, then group along the axis). The draws are taken first, in that order; the
 * groups are then visited with the stride innermost (contiguous reads for axis 0). 1:2 has its
 * own branch (water-filling and systematic sampling reduce to a few comparisons); the tests
 * compare every N:M against the per-group reference.
 */
import type { Rng } from '../engine/random.js';
import type { GradSparsity } from './mvue.js';

/** Scratch of the general N:M path, reused across groups. */
interface Scratch {
  g: Float64Array;
  a: Float64Array;
  pi: Float64Array;
  capped: Uint8Array;
  kept: Uint8Array;
}

function scratch(m: number): Scratch {
  return {
    g: new Float64Array(m),
    a: new Float64Array(m),
    pi: new Float64Array(m),
    capped: new Uint8Array(m),
    kept: new Uint8Array(m),
  };
}

/**
 * `values` (row-major) masked N:M along an axis of length `len` with `outer` blocks before it and
 * `stride` values after it; `spec.kind` is 'mvue' or 'magnitude'. Writes into `out`.
 */
export function maskAxisFast(
  values: ArrayLike<number>,
  out: Float32Array,
  outer: number,
  len: number,
  stride: number,
  spec: GradSparsity,
  rng: Rng,
): void {
  const { n, m, kind } = spec;
  if (kind !== 'mvue' && kind !== 'magnitude')
    throw new Error(`maskAxisFast: kind '${kind}' has no fast path`);
  const groups = Math.ceil(len / m);
  const mvue = kind === 'mvue';
  // One u per group, in the reference order (o, s, group).
  let us: Float64Array | null = null;
  if (mvue) {
    us = new Float64Array(outer * stride * groups);
    for (let i = 0; i < us.length; i++) us[i] = rng();
  }
  const sc = scratch(m);
  for (let o = 0; o < outer; o++)
    for (let gi = 0; gi < groups; gi++) {
      const start = gi * m;
      const r = Math.min(m, len - start);
      const row0 = (o * len + start) * stride;
      const uBase = o * stride * groups + gi;
      if (mvue && n === 1 && m === 2) {
        const u = us as Float64Array;
        if (r === 2)
          for (let s = 0; s < stride; s++)
            mvue12(values, out, row0 + s, stride, u[uBase + s * groups]);
        else
          for (let s = 0; s < stride; s++)
            mvue12Single(values, out, row0 + s, u[uBase + s * groups]);
      } else if (mvue)
        for (let s = 0; s < stride; s++)
          mvueGroup(
            values,
            out,
            row0 + s,
            stride,
            r,
            n,
            m,
            (us as Float64Array)[uBase + s * groups],
            sc,
          );
      else
        for (let s = 0; s < stride; s++) magnitudeGroup(values, out, row0 + s, stride, r, n, m, sc);
    }
}

/**
 * 1:2 of (x0, x1) at `i` and `i + stride`: `waterFill` with one slot (pi = |x|/S, capped at 1
 * with the other at 0, or 1/2 each when S = 0) and systematic sampling (x0 kept when u < pi_0).
 */
function mvue12(
  values: ArrayLike<number>,
  out: Float32Array,
  i: number,
  stride: number,
  u: number,
): void {
  const x0 = values[i];
  const x1 = values[i + stride];
  const a0 = Math.abs(x0);
  const a1 = Math.abs(x1);
  const rest = a0 + a1;
  let p0: number;
  let p1: number;
  if (rest === 0) {
    p0 = 0.5;
    p1 = 0.5;
  } else if (a0 / rest >= 1) {
    p0 = 1;
    p1 = 0;
  } else if (a1 / rest >= 1) {
    p0 = 0;
    p1 = 1;
  } else {
    p0 = a0 / rest;
    p1 = a1 / rest;
  }
  if (u < p0) {
    out[i] = p0 > 0 ? x0 / p0 : 0;
    out[i + stride] = 0;
  } else {
    out[i] = 0;
    out[i + stride] = p1 > 0 ? x1 / p1 : 0;
  }
}

/** 1:2 of a last group holding one value (padded with a 0): x0 comes out as it is (or 0 when 0). */
function mvue12Single(values: ArrayLike<number>, out: Float32Array, i: number, u: number): void {
  const x0 = values[i];
  const a0 = Math.abs(x0);
  // As mvue12 with x1 = 0: rest = a0; pi_0 = 1 unless a0 = 0 (1/2 each) or NaN.
  const rest = a0 + 0;
  let p0: number;
  if (rest === 0) p0 = 0.5;
  else if (a0 / rest >= 1) p0 = 1;
  else p0 = a0 / rest;
  out[i] = u < p0 && p0 > 0 ? x0 / p0 : 0;
}

/** The general mvue group: `maskGroupFast`'s water-filling and systematic sampling, inline. */
function mvueGroup(
  values: ArrayLike<number>,
  out: Float32Array,
  i0: number,
  stride: number,
  r: number,
  n: number,
  m: number,
  u: number,
  sc: Scratch,
): void {
  const { g, a, pi, capped, kept } = sc;
  for (let k = 0; k < m; k++) {
    const v = k < r ? values[i0 + k * stride] : 0;
    g[k] = v;
    a[k] = Math.abs(v);
    pi[k] = 0;
    capped[k] = 0;
    kept[k] = 0;
  }
  let slots = n;
  for (;;) {
    let rest = 0;
    let free = 0;
    for (let k = 0; k < m; k++)
      if (!capped[k]) {
        rest += a[k];
        free++;
      }
    if (slots <= 0 || free === 0) break;
    if (rest === 0) {
      for (let k = 0; k < m; k++) if (!capped[k]) pi[k] = slots / free;
      break;
    }
    let again = false;
    for (let k = 0; k < m; k++)
      if (!capped[k] && (slots * a[k]) / rest >= 1) {
        capped[k] = 1;
        pi[k] = 1;
        slots--;
        again = true;
      }
    if (!again) {
      for (let k = 0; k < m; k++) if (!capped[k]) pi[k] = (slots * a[k]) / rest;
      break;
    }
  }
  let cum = 0;
  let t = 0;
  let count = 0;
  for (let k = 0; k < m && t < n; k++) {
    const next = cum + pi[k];
    while (t < n && u + t < next) {
      if (!kept[k]) {
        kept[k] = 1;
        count++;
      }
      t++;
    }
    cum = next;
  }
  for (let k = m - 1; count < n && k >= 0; k--)
    if (!kept[k]) {
      kept[k] = 1;
      count++;
    }
  for (let k = 0; k < r; k++) out[i0 + k * stride] = kept[k] && pi[k] > 0 ? g[k] / pi[k] : 0;
}

/** The magnitude group: the n largest |x| (ties: lower index) kept unscaled. */
function magnitudeGroup(
  values: ArrayLike<number>,
  out: Float32Array,
  i0: number,
  stride: number,
  r: number,
  n: number,
  m: number,
  sc: Scratch,
): void {
  const { g, a, kept } = sc;
  for (let k = 0; k < m; k++) {
    const v = k < r ? values[i0 + k * stride] : 0;
    g[k] = v;
    a[k] = Math.abs(v);
    kept[k] = 0;
  }
  for (let t = 0; t < n; t++) {
    let best = -1;
    for (let k = 0; k < m; k++) if (!kept[k] && (best < 0 || a[k] > a[best])) best = k;
    kept[best] = 1;
  }
  for (let k = 0; k < r; k++) out[i0 + k * stride] = kept[k] ? g[k] : 0;
}
