// One pass of Adam in WebAssembly SIMD, on buffers inside tfjs-backend-wasm's own memory: this
// module imports that memory (built twice, for the threaded build's shared memory and for the
// plain one) and allocates nothing, so it has no data segments; every pointer is a byte offset
// into tfjs's heap. float32 +, *, / and sqrt are correctly rounded, so with the operations in
// FrugalAdam's order (src/train/adam-kernel.ts) the results equal its elementwise kernels' bit
// for bit.

/**
 * m' = m b1 + g k1;  v' = v b2 + g^2 k2;  w' = (m' / c1) / (sqrt(v' / c2) + eps) * negLr + w
 * over n floats (n % 4 == 0 is not required; the tail runs scalar).
 */
export function adamUpdate(
  w: usize,
  m: usize,
  v: usize,
  g: usize,
  outW: usize,
  outM: usize,
  outV: usize,
  n: i32,
  b1: f32,
  b2: f32,
  k1: f32,
  k2: f32,
  c1: f32,
  c2: f32,
  eps: f32,
  negLr: f32,
): void {
  const vb1 = f32x4.splat(b1);
  const vb2 = f32x4.splat(b2);
  const vk1 = f32x4.splat(k1);
  const vk2 = f32x4.splat(k2);
  const vc1 = f32x4.splat(c1);
  const vc2 = f32x4.splat(c2);
  const veps = f32x4.splat(eps);
  const vlr = f32x4.splat(negLr);
  const full = n & ~3;
  for (let i = 0; i < full; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), vb1), f32x4.mul(gi, vk1));
    const vi = f32x4.add(f32x4.mul(v128.load(v + o), vb2), f32x4.mul(f32x4.mul(gi, gi), vk2));
    v128.store(outM + o, mi);
    v128.store(outV + o, vi);
    const d = f32x4.add(f32x4.sqrt(f32x4.div(vi, vc2)), veps);
    const u = f32x4.mul(f32x4.div(f32x4.div(mi, vc1), d), vlr);
    v128.store(outW + o, f32x4.add(u, v128.load(w + o)));
  }
  for (let i = full; i < n; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const mi = load<f32>(m + o) * b1 + gi * k1;
    const vi = load<f32>(v + o) * b2 + gi * gi * k2;
    store<f32>(outM + o, mi);
    store<f32>(outV + o, vi);
    const d = Mathf.sqrt(vi / c2) + eps;
    store<f32>(outW + o, (mi / c1 / d) * negLr + load<f32>(w + o));
  }
}
