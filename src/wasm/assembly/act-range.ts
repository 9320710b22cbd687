// The group range of the activation quantizers (act-groups.ts). Not re-exported by kernels.ts:
// inline helpers, not kernels.

/**
 * Min and max of the `n` float32 values at `p` as the JS quantizer picks them (`v < lo`, `v > hi`
 * in order from +-Infinity: the first of equal values wins, which only shows for +0 and -0), into
 * the globals below; returns false when a value is NaN or infinite.
 */
let rangeLo: f32 = 0;
let rangeHi: f32 = 0;

/** The min `groupRange` found last. */
@inline
export function rangeMin(): f32 {
  return rangeLo;
}

/** The max `groupRange` found last. */
@inline
export function rangeMax(): f32 {
  return rangeHi;
}

@inline
export function groupRange(p: i32, n: i32): bool {
  const n4 = n & ~3;
  const n8 = n & ~7;
  // Two accumulators of each kind (vectors i and i + 4): min and max take 4 cycles on x86, so
  // one chain of them would bound the loop. NaN and infinities reach the float32 sums (pmin and
  // pmax skip NaN); a sum that is not finite sends the group to an exact check, value by value
  // (finite values can overflow a float32 sum).
  let vlo = f32x4.splat(Infinity);
  let vhi = f32x4.splat(-Infinity);
  let vlo1 = vlo;
  let vhi1 = vhi;
  let vsum = f32x4.splat(0);
  let vsum1 = vsum;
  let i = 0;
  for (; i < n8; i += 8) {
    const v = v128.load(p + (i << 2));
    const w = v128.load(p + (i << 2) + 16);
    vlo = f32x4.pmin(vlo, v);
    vhi = f32x4.pmax(vhi, v);
    vlo1 = f32x4.pmin(vlo1, w);
    vhi1 = f32x4.pmax(vhi1, w);
    vsum = f32x4.add(vsum, v);
    vsum1 = f32x4.add(vsum1, w);
  }
  if (i < n4) {
    const v = v128.load(p + (i << 2));
    vlo = f32x4.pmin(vlo, v);
    vhi = f32x4.pmax(vhi, v);
    vsum = f32x4.add(vsum, v);
    i += 4;
  }
  // Across the lanes with pmin / pmax too (no NaN reaches them; which zero wins is settled
  // below): no branches, where scalar min / max branch on NaN and on each comparison.
  vlo = f32x4.pmin(vlo, vlo1);
  vhi = f32x4.pmax(vhi, vhi1);
  vlo = f32x4.pmin(vlo, v128.shuffle<f32>(vlo, vlo, 2, 3, 0, 1));
  vhi = f32x4.pmax(vhi, v128.shuffle<f32>(vhi, vhi, 2, 3, 0, 1));
  vlo = f32x4.pmin(vlo, v128.shuffle<f32>(vlo, vlo, 1, 0, 3, 2));
  vhi = f32x4.pmax(vhi, v128.shuffle<f32>(vhi, vhi, 1, 0, 3, 2));
  vsum = f32x4.add(vsum, vsum1);
  let lo = f32x4.extract_lane(vlo, 0);
  let hi = f32x4.extract_lane(vhi, 0);
  let b: f32 = 0;
  for (; i < n; i++) {
    const v = load<f32>(p + (i << 2));
    b += v - v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (b != 0 || v128.any_true(f32x4.sub(vsum, vsum))) {
    for (let j = 0; j < n; j++) {
      const v = load<f32>(p + (j << 2));
      if (v - v != 0) return false;
    }
  }
  // A zero extreme: the JS order keeps the first zero of the group, whatever its sign.
  if (lo == 0 || hi == 0) {
    let j = 0;
    while (load<f32>(p + (j << 2)) != 0) j++;
    const z = load<f32>(p + (j << 2));
    if (lo == 0) lo = z;
    if (hi == 0) hi = z;
  }
  rangeLo = lo;
  rangeHi = hi;
  return true;
}

/**
 * `groupRange` value by value in float64, the JS quantizer's loop as written (the 'scalar'
 * kernels' range: the tests' reference for the SIMD one).
 */
@inline
export function scalarRange(p: i32, n: i32): bool {
  let lo: f64 = Infinity;
  let hi: f64 = -Infinity;
  let sum: f64 = 0;
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(p + (i << 2));
    sum += v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (sum - sum != 0) return false;
  rangeLo = <f32>lo;
  rangeHi = <f32>hi;
  return true;
}
