/**
 * The `mvue` and `magnitude` N:M masks of a whole array (what `maskAlongAxis` runs for them),
 * without a function call, a fill or an allocation per group: the values, probabilities and kept
 * set of every group are those of `maskGroupFast` (mvue.ts), computed with the same floating-point
 * operations in the same order, so the output is bit-identical and `mvue` reads the same random
 * stream (one draw u per group, groups in `maskAlongAxis`'s order: outer index, then position
 * along the stride, then group along the axis), visited in that order; a `makeRng` generator's
 * draws are computed inline from its counter. 1:2 has its own branch (water-filling and
 * systematic sampling reduce to a few comparisons), and so do full 2:4 groups (`mvue24`,
 * `magnitude24`: the reference loops unrolled on scalars); other N:M and partial last groups take
 * the general per-group code. test/sparse/mask-fast.test.ts compares every N:M up to 8 against
 * the per-group reference, bit for bit.
 *
 * Measured (bench/sparse-grad-step.ts, the sparse benches' CNN on wasm): the mask was most of the
 * pruned step's extra time; with this path the mvue 1:2 step takes about half the reference
 * path's, 2:4 about 0.64 of it.
 */
import { MULBERRY_STEP, mulberryDraw, type Rng, rngCounter, takeDraws } from '../engine/random.js';
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
  if (len === 0 || outer * stride === 0) return;
  const groups = Math.ceil(len / m);
  const mvue = kind === 'mvue';
  const sc = scratch(m);
  const last = groups - 1;
  const rLast = len - last * m;
  // One u per mvue group, in the order the groups are visited: a makeRng generator's draws
  // inline from its counter (moved past them at the end), any other generator's taken first.
  const total = outer * stride * groups;
  const counter = mvue ? rngCounter(rng) : null;
  const us = mvue && counter === null ? takeDraws(rng, total) : null;
  let state = counter === null ? 0 : counter.state();
  let d = 0;
  const draw = (): number => {
    if (us !== null) return us[d++];
    state = (state + MULBERRY_STEP) >>> 0;
    return mulberryDraw(state);
  };
  // The reference order (o, s, group): for axis 0 a step in s moves one value along the rows
  // a group reads, so their cache lines stay in use.
  for (let o = 0; o < outer; o++)
    for (let s = 0; s < stride; s++) {
      const base = o * len * stride + s;
      if (!mvue)
        for (let gi = 0; gi < groups; gi++) {
          const r = gi === last ? rLast : m;
          const i0 = base + gi * m * stride;
          if (n === 2 && m === 4 && r === 4) magnitude24(values, out, i0, stride);
          else magnitudeGroup(values, out, i0, stride, r, n, m, sc);
        }
      else if (n === 1 && m === 2) {
        for (let gi = 0; gi < last; gi++)
          mvue12(values, out, base + gi * 2 * stride, stride, draw());
        const i = base + last * 2 * stride;
        if (rLast === 2) mvue12(values, out, i, stride, draw());
        else mvueGroup(values, out, i, stride, 1, 1, 2, draw(), sc);
      } else
        for (let gi = 0; gi < groups; gi++) {
          const r = gi === last ? rLast : m;
          const i0 = base + gi * m * stride;
          const u = draw();
          if (n === 2 && m === 4 && r === 4) mvue24(values, out, i0, stride, u);
          else mvueGroup(values, out, i0, stride, r, n, m, u, sc);
        }
    }
  counter?.skip(total);
}

/** `magnitudeGroup` of a full 2:4 group on scalars: two passes of "first largest |x| left". */
function magnitude24(
  values: ArrayLike<number>,
  out: Float32Array,
  i: number,
  stride: number,
): void {
  const x0 = values[i];
  const x1 = values[i + stride];
  const x2 = values[i + 2 * stride];
  const x3 = values[i + 3 * stride];
  const a0 = Math.abs(x0);
  const a1 = Math.abs(x1);
  const a2 = Math.abs(x2);
  const a3 = Math.abs(x3);
  let b1 = 0;
  let best = a0;
  if (a1 > best) {
    b1 = 1;
    best = a1;
  }
  if (a2 > best) {
    b1 = 2;
    best = a2;
  }
  if (a3 > best) b1 = 3;
  let b2 = -1;
  best = 0;
  if (b1 !== 0) {
    b2 = 0;
    best = a0;
  }
  if (b1 !== 1 && (b2 < 0 || a1 > best)) {
    b2 = 1;
    best = a1;
  }
  if (b1 !== 2 && (b2 < 0 || a2 > best)) {
    b2 = 2;
    best = a2;
  }
  if (b1 !== 3 && (b2 < 0 || a3 > best)) b2 = 3;
  out[i] = b1 === 0 || b2 === 0 ? x0 : 0;
  out[i + stride] = b1 === 1 || b2 === 1 ? x1 : 0;
  out[i + 2 * stride] = b1 === 2 || b2 === 2 ? x2 : 0;
  out[i + 3 * stride] = b1 === 3 || b2 === 3 ? x3 : 0;
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

/**
 * 2:4 of a full group: `mvueGroup`'s operations on scalars (the loops over the four values
 * unrolled).
 */
function mvue24(
  values: ArrayLike<number>,
  out: Float32Array,
  i: number,
  stride: number,
  u: number,
): void {
  const x0 = values[i];
  const x1 = values[i + stride];
  const x2 = values[i + 2 * stride];
  const x3 = values[i + 3 * stride];
  const a0 = Math.abs(x0);
  const a1 = Math.abs(x1);
  const a2 = Math.abs(x2);
  const a3 = Math.abs(x3);
  // Water-filling, `waterFill`'s loop with the four values unrolled (capped: bits of `cap`).
  let p0 = 0;
  let p1 = 0;
  let p2 = 0;
  let p3 = 0;
  let cap = 0;
  let slots = 2;
  for (;;) {
    let rest = 0;
    let free = 0;
    if (!(cap & 1)) {
      rest += a0;
      free++;
    }
    if (!(cap & 2)) {
      rest += a1;
      free++;
    }
    if (!(cap & 4)) {
      rest += a2;
      free++;
    }
    if (!(cap & 8)) {
      rest += a3;
      free++;
    }
    if (slots <= 0 || free === 0) break;
    if (rest === 0) {
      const q = slots / free;
      if (!(cap & 1)) p0 = q;
      if (!(cap & 2)) p1 = q;
      if (!(cap & 4)) p2 = q;
      if (!(cap & 8)) p3 = q;
      break;
    }
    const cap0 = cap;
    if (!(cap & 1) && (slots * a0) / rest >= 1) {
      cap |= 1;
      p0 = 1;
      slots--;
    }
    if (!(cap & 2) && (slots * a1) / rest >= 1) {
      cap |= 2;
      p1 = 1;
      slots--;
    }
    if (!(cap & 4) && (slots * a2) / rest >= 1) {
      cap |= 4;
      p2 = 1;
      slots--;
    }
    if (!(cap & 8) && (slots * a3) / rest >= 1) {
      cap |= 8;
      p3 = 1;
      slots--;
    }
    if (cap === cap0) {
      if (!(cap & 1)) p0 = (slots * a0) / rest;
      if (!(cap & 2)) p1 = (slots * a1) / rest;
      if (!(cap & 4)) p2 = (slots * a2) / rest;
      if (!(cap & 8)) p3 = (slots * a3) / rest;
      break;
    }
  }
  // Systematic sampling, the reference loop unrolled: targets u + t, t = 0, 1.
  let t = 0;
  let bits = 0;
  let cum = 0;
  let next = cum + p0;
  while (t < 2 && u + t < next) {
    bits |= 1;
    t++;
  }
  cum = next;
  if (t < 2) {
    next = cum + p1;
    while (t < 2 && u + t < next) {
      bits |= 2;
      t++;
    }
    cum = next;
  }
  if (t < 2) {
    next = cum + p2;
    while (t < 2 && u + t < next) {
      bits |= 4;
      t++;
    }
    cum = next;
  }
  if (t < 2) {
    next = cum + p3;
    while (t < 2 && u + t < next) {
      bits |= 8;
      t++;
    }
  }
  // Rounding can leave a target past the end: the last unkept values fill the slots.
  let count = (bits & 1) + ((bits >> 1) & 1) + ((bits >> 2) & 1) + ((bits >> 3) & 1);
  for (let k = 3; count < 2 && k >= 0; k--)
    if (!(bits & (1 << k))) {
      bits |= 1 << k;
      count++;
    }
  out[i] = bits & 1 && p0 > 0 ? x0 / p0 : 0;
  out[i + stride] = bits & 2 && p1 > 0 ? x1 / p1 : 0;
  out[i + 2 * stride] = bits & 4 && p2 > 0 ? x2 / p2 : 0;
  out[i + 3 * stride] = bits & 8 && p3 > 0 ? x3 / p3 : 0;
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
  let rest0 = 0;
  for (let k = 0; k < m; k++) {
    const v = k < r ? values[i0 + k * stride] : 0;
    g[k] = v;
    const ak = Math.abs(v);
    a[k] = ak;
    rest0 += ak;
    kept[k] = 0;
  }
  // The usual case: no value capped in water-filling's first pass, pi = n|x|/S (the same
  // operations as its first pass; NaN, S = 0 or a cap take the full loop below).
  let uncapped = rest0 !== 0;
  for (let k = 0; k < m && uncapped; k++) {
    const q = (n * a[k]) / rest0;
    pi[k] = q;
    uncapped = q < 1;
  }
  if (!uncapped) waterFillInline(a, pi, capped, n, m);
  systematic(g, pi, kept, out, i0, stride, r, n, m, u);
}

/** `waterFill` of mvue.ts on the scratch arrays (pi and capped cleared first). */
function waterFillInline(
  a: Float64Array,
  pi: Float64Array,
  capped: Uint8Array,
  n: number,
  m: number,
): void {
  for (let k = 0; k < m; k++) {
    pi[k] = 0;
    capped[k] = 0;
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
}

/** Systematic sampling of `maskGroupFast` (u, u + 1, ...) and the scaled kept values into `out`. */
function systematic(
  g: Float64Array,
  pi: Float64Array,
  kept: Uint8Array,
  out: Float32Array,
  i0: number,
  stride: number,
  r: number,
  n: number,
  m: number,
  u: number,
): void {
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
