/**
 * An N:M-compressed matrix product in JavaScript: A [rows, k] with at most N nonzeros in every
 * group of M along k is stored as N values and N in-group indices per group ("values + indices",
 * the layout of 2:4 sparse tensor cores); `nmMatMul` multiplies it by a dense B [k, cols] reading
 * only the stored values, N/M of the dense multiply-adds. In the backward this is dW^T = dy^T x
 * with dy masked N:M along the batch (the rows of dy^T are grouped along the contracted batch).
 */

export interface NMCompressed {
  rows: number;
  k: number;
  n: number;
  m: number;
  /** [rows, (k / m) * n] kept values (0 where a group had fewer than n nonzeros). */
  values: Float32Array;
  /** [rows, (k / m) * n] position of each value inside its group, 0..m-1. */
  index: Uint8Array;
}

/** Compresses row-major `a` [rows, k]; throws if a group holds more than n nonzeros. */
export function compressNM(
  a: ArrayLike<number>,
  rows: number,
  k: number,
  n: number,
  m: number,
): NMCompressed {
  if (!(Number.isInteger(n) && Number.isInteger(m) && n >= 1 && n < m && m <= 256))
    throw new Error(`compressNM: need integers 1 <= n < m <= 256, got n=${n}, m=${m}`);
  if (k % m !== 0) throw new Error(`compressNM: k (${k}) must be a multiple of m (${m})`);
  if (a.length !== rows * k)
    throw new Error(`compressNM: ${a.length} values for a [${rows}, ${k}] matrix`);
  const per = (k / m) * n;
  const values = new Float32Array(rows * per);
  const index = new Uint8Array(rows * per);
  for (let r = 0; r < rows; r++)
    for (let g = 0; g < k / m; g++) {
      let slot = (r * k) / m + g;
      slot *= n;
      let used = 0;
      for (let j = 0; j < m; j++) {
        const v = a[r * k + g * m + j];
        if (v === 0) continue;
        if (used === n)
          throw new Error(
            `compressNM: row ${r}, group ${g} holds more than ${n} nonzeros of ${m} (not ${n}:${m} sparse)`,
          );
        values[slot + used] = v;
        index[slot + used] = j;
        used++;
      }
    }
  return { rows, k, n, m, values, index };
}

/** A [rows, k] (compressed) times dense b [k, cols]: out [rows, cols], row-major. */
export function nmMatMul(a: NMCompressed, b: Float32Array, cols: number): Float32Array {
  const { rows, k, n, m, values, index } = a;
  if (b.length !== k * cols)
    throw new Error(`nmMatMul: b holds ${b.length} values, expected [${k}, ${cols}]`);
  const out = new Float32Array(rows * cols);
  const per = (k / m) * n;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let s = 0; s < per; s++) {
      const v = values[r * per + s];
      if (v === 0) continue;
      const kk = ((s / n) | 0) * m + index[r * per + s];
      const bo = kk * cols;
      for (let c = 0; c < cols; c++) out[o + c] += v * b[bo + c];
    }
  }
  return out;
}

/** The dense product with the same loop order (the like-for-like JavaScript baseline). */
export function denseMatMulJs(
  a: Float32Array,
  rows: number,
  k: number,
  b: Float32Array,
  cols: number,
): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let kk = 0; kk < k; kk++) {
      const v = a[r * k + kk];
      const bo = kk * cols;
      for (let c = 0; c < cols; c++) out[o + c] += v * b[bo + c];
    }
  }
  return out;
}
