// The 4x4 float32 tile transpose that both modules' transposes share (act-codec.ts `actTranspose`
// in kernels.wasm, tfjs-heap.ts `transposeOuter` in the tfjs-heap module). Not re-exported: an
// inline helper, not a kernel.

/**
 * Rows `s`, `s + inRow`, `s + 2 inRow`, `s + 3 inRow` (four floats each) as columns of the four
 * rows at `d`, `d + outRow`, ... (byte offsets and strides).
 */
@inline
export function transpose4x4(s: usize, inRow: usize, d: usize, outRow: usize): void {
  const r0 = v128.load(s);
  const r1 = v128.load(s + inRow);
  const r2 = v128.load(s + 2 * inRow);
  const r3 = v128.load(s + 3 * inRow);
  // t0 = (r0[0], r1[0], r0[1], r1[1]), t1 the same of r2 and r3; t2, t3 their lanes 2 and 3.
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(d + outRow, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(d + 2 * outRow, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(d + 3 * outRow, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}
