/**
 * Register-blocked float32 GEMM in plain JS (4 rows x 4 columns of accumulators in locals):
 * several times faster in V8 than tfjs-backend-cpu's convolution loops.
 */

/** B [K, N] (row stride `ldb`) packed as [ceil(N/4)][K][4], zero-padded: the inner loop reads it in order. */
export function packColumns(b: Float32Array, k: number, n: number): Float32Array {
  const blocks = Math.ceil(n / 4);
  const packed = new Float32Array(blocks * k * 4);
  let o = 0;
  for (let j0 = 0; j0 < n; j0 += 4) {
    const w = Math.min(4, n - j0);
    for (let p = 0; p < k; p++, o += 4) {
      const row = p * n + j0;
      for (let j = 0; j < w; j++) packed[o + j] = b[row + j];
    }
  }
  return packed;
}

/**
 * out[rows[r] output row][j] = sum_{t < taps, c < depth} a[rows[r] + offsets[t] + c] * B[t*depth + c][j]
 *
 * The left operand is gathered on the fly: each output row r starts at `rowStarts[r]` in `a` and
 * reads `depth` contiguous values at each of the `offsets` (a convolution's taps). With one tap
 * at offset 0 this is a plain GEMM of rows of `a`.
 */
export function gatherGemm(
  a: Float32Array,
  rowStarts: Int32Array,
  offsets: Int32Array,
  depth: number,
  packed: Float32Array,
  n: number,
  out: Float32Array,
): void {
  const m = rowStarts.length;
  const k = offsets.length * depth;
  const taps = offsets.length;
  for (let i0 = 0; i0 < m; i0 += 4) {
    const last = m - 1;
    const r0 = rowStarts[i0];
    const r1 = rowStarts[Math.min(i0 + 1, last)];
    const r2 = rowStarts[Math.min(i0 + 2, last)];
    const r3 = rowStarts[Math.min(i0 + 3, last)];
    for (let j0 = 0; j0 < n; j0 += 4) {
      let c00 = 0;
      let c01 = 0;
      let c02 = 0;
      let c03 = 0;
      let c10 = 0;
      let c11 = 0;
      let c12 = 0;
      let c13 = 0;
      let c20 = 0;
      let c21 = 0;
      let c22 = 0;
      let c23 = 0;
      let c30 = 0;
      let c31 = 0;
      let c32 = 0;
      let c33 = 0;
      let bo = (j0 >> 2) * k * 4;
      for (let t = 0; t < taps; t++) {
        const off = offsets[t];
        const a0 = r0 + off;
        const a1 = r1 + off;
        const a2 = r2 + off;
        const a3 = r3 + off;
        for (let c = 0; c < depth; c++, bo += 4) {
          const b0 = packed[bo];
          const b1 = packed[bo + 1];
          const b2 = packed[bo + 2];
          const b3 = packed[bo + 3];
          const x0 = a[a0 + c];
          const x1 = a[a1 + c];
          const x2 = a[a2 + c];
          const x3 = a[a3 + c];
          c00 += x0 * b0;
          c01 += x0 * b1;
          c02 += x0 * b2;
          c03 += x0 * b3;
          c10 += x1 * b0;
          c11 += x1 * b1;
          c12 += x1 * b2;
          c13 += x1 * b3;
          c20 += x2 * b0;
          c21 += x2 * b1;
          c22 += x2 * b2;
          c23 += x2 * b3;
          c30 += x3 * b0;
          c31 += x3 * b1;
          c32 += x3 * b2;
          c33 += x3 * b3;
        }
      }
      if (i0 + 4 <= m && j0 + 4 <= n) {
        let o = i0 * n + j0;
        out[o] = c00;
        out[o + 1] = c01;
        out[o + 2] = c02;
        out[o + 3] = c03;
        o += n;
        out[o] = c10;
        out[o + 1] = c11;
        out[o + 2] = c12;
        out[o + 3] = c13;
        o += n;
        out[o] = c20;
        out[o + 1] = c21;
        out[o + 2] = c22;
        out[o + 3] = c23;
        o += n;
        out[o] = c30;
        out[o + 1] = c31;
        out[o + 2] = c32;
        out[o + 3] = c33;
        continue;
      }
      const rowsLeft = Math.min(4, m - i0);
      const cols = Math.min(4, n - j0);
      const block = [
        c00,
        c01,
        c02,
        c03,
        c10,
        c11,
        c12,
        c13,
        c20,
        c21,
        c22,
        c23,
        c30,
        c31,
        c32,
        c33,
      ];
      for (let r = 0; r < rowsLeft; r++) {
        const o = (i0 + r) * n + j0;
        for (let j = 0; j < cols; j++) out[o + j] = block[r * 4 + j];
      }
    }
  }
}
